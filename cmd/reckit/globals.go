package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// IO holds the streams a command may use. Tests replace every field,
// including the terminal checks, to fake a TTY.
type IO struct {
	In  io.Reader
	Out io.Writer // the product only: tables, JSON Lines, WebM bytes
	Err io.Writer // progress, notes, warnings, errors

	IsTerminalOut func() bool // whether Out is a terminal
	IsTerminalErr func() bool // whether Err is a terminal
}

// systemIO returns the process's standard streams.
func systemIO() IO {
	return IO{
		In:            os.Stdin,
		Out:           os.Stdout,
		Err:           os.Stderr,
		IsTerminalOut: func() bool { return term.IsTerminal(int(os.Stdout.Fd())) },
		IsTerminalErr: func() bool { return term.IsTerminal(int(os.Stderr.Fd())) },
	}
}

// globals is what every command gets: the streams, the persistent flags and
// the clock. It is built once in Main (or a test) and passed to every
// new<Name>Command.
type globals struct {
	io    IO
	json  bool             // --json: JSON Lines on stdout, errors as JSON on stderr
	quiet bool             // -q: no progress, notes or warnings
	now   func() time.Time // the clock; tests pin it
}

// notef writes an informational note such as "wrote x.webm" to stderr.
// Notes are dropped under --quiet and --json (the JSON output says it all).
func (g *globals) notef(format string, args ...any) {
	if g.quiet || g.json {
		return
	}
	fmt.Fprintf(g.io.Err, "reckit: "+format+"\n", args...)
}

// warningRecord is a warning on stderr under --json. See docs/json.md.
type warningRecord struct {
	Type    string `json:"type"` // always "warning"
	Message string `json:"message"`
}

// warnf writes "reckit: warning: ..." to stderr, or a warning JSON line
// under --json. Warnings are dropped under --quiet.
func (g *globals) warnf(format string, args ...any) {
	if g.quiet {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if g.json {
		if line, err := json.Marshal(warningRecord{Type: "warning", Message: msg}); err == nil {
			fmt.Fprintf(g.io.Err, "%s\n", line)
			return
		}
	}
	fmt.Fprintf(g.io.Err, "reckit: warning: %s\n", msg)
}
