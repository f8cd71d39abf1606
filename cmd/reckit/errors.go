package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// usageError is a mistake in the command line: an unknown command or flag,
// a bad flag value, the wrong number of arguments or a forbidden flag
// combination. It exits 2 and is the only error that prints a usage line.
type usageError struct {
	err error
	cmd *cobra.Command // whose usage line to print; nil means the command that ran
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError for cmd (which may be nil) with a
// formatted message. Use it from PreRunE for cross-flag checks.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), cmd: cmd}
}

// partialError reports that some items failed while the rest succeeded
// (exit 3). err, if not nil, is the first failure and is shown after the
// counts.
type partialError struct {
	failed int
	total  int
	noun   string // plural noun for the items, e.g. "files"; "items" if empty
	err    error
	msg    string // when set, the whole message (e.g. split of a cut input)
}

func (e *partialError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	noun := e.noun
	if noun == "" {
		noun = "items"
	}
	msg := fmt.Sprintf("%d of %d %s failed", e.failed, e.total, noun)
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *partialError) Unwrap() error { return e.err }

// invalidMediaError reports that a check found invalid media (exit 4): the
// check itself worked, its verdict is negative.
type invalidMediaError struct {
	invalid int
	total   int
	noun    string // plural noun, "files" if empty
}

func (e *invalidMediaError) Error() string {
	noun := e.noun
	if noun == "" {
		noun = "files"
	}
	return fmt.Sprintf("%d of %d %s invalid", e.invalid, e.total, noun)
}

// hintError attaches a hint, printed as "reckit: hint: ..." after the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// withHint attaches hint to err. It returns nil if err is nil, so it can
// wrap a call's result directly.
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// hintOf returns the outermost hint attached to err, or "".
func hintOf(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// errorRecord is the JSON object written to stderr as the last line when a
// command fails under --json. See docs/json.md.
type errorRecord struct {
	Type    string `json:"type"` // always "error"
	Code    int    `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// reportError writes err to stderr: either the plain
//
//	reckit: error: MESSAGE
//	reckit: hint: HINT
//	Usage: LINE                                 (usage errors only)
//	Run 'reckit CMD --help' for usage.          (usage errors only)
//
// or, under --json, one errorRecord line and nothing else.
func reportError(g *globals, ran *cobra.Command, err error, code int) {
	msg := err.Error()
	if code == exitInterrupted && errors.Is(err, context.Canceled) && msg == context.Canceled.Error() {
		msg = "interrupted"
	}
	hint := hintOf(err)
	w := g.io.Err
	if g.json {
		line, jerr := json.Marshal(errorRecord{Type: "error", Code: code, Message: msg, Hint: hint})
		if jerr == nil {
			fmt.Fprintf(w, "%s\n", line)
			return
		}
	}
	fmt.Fprintf(w, "reckit: error: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(w, "reckit: hint: %s\n", hint)
	}
	var usage *usageError
	if errors.As(err, &usage) {
		cmd := usage.cmd
		if cmd == nil {
			cmd = ran
		}
		if cmd != nil {
			fmt.Fprintf(w, "Usage: %s\n", cmd.UseLine())
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
}

// exitStatusMeaning is the one-line meaning of each exit status, as shown in
// every command's help. docs/exit-codes.md has the long form.
var exitStatusMeaning = map[int]string{
	exitOK:          "success, including when nothing matched",
	exitFailure:     "failure",
	exitUsage:       "usage error: bad command, flag, value or argument count",
	exitPartial:     "partial: some items failed, the rest succeeded",
	exitInvalid:     "invalid media found",
	exitInterrupted: "interrupted by SIGINT or SIGTERM",
}

// longHelp returns text followed by the EXIT STATUS section every command's
// Long ends with. Statuses 0, 1, 2 and 130 are always listed; pass the
// command's additional ones (exitPartial, exitInvalid) in extra.
//
// The section is an indented block so that it stays a table in the
// generated man pages (cobra renders Long as Markdown).
func longHelp(text string, extra ...int) string {
	codes := []int{exitOK, exitFailure, exitUsage, exitInterrupted}
	for _, c := range extra {
		if _, ok := exitStatusMeaning[c]; !ok {
			panic(fmt.Sprintf("longHelp: undocumented exit status %d", c))
		}
		if !containsInt(codes, c) {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	var b strings.Builder
	b.WriteString(strings.TrimSpace(text))
	b.WriteString("\n\n" + exitStatusHeading + "\n\n")
	for _, c := range codes {
		fmt.Fprintf(&b, "    %-4d %s\n", c, exitStatusMeaning[c])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

const exitStatusHeading = "EXIT STATUS"

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
