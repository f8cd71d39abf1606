package main

import "errors"

// refuseTerminalWebM returns a usage error when a command would write WebM
// bytes to a terminal: output is the -o value, "" meaning the default
// (stdout). "-" (explicit stdout) and file paths are always allowed.
func refuseTerminalWebM(g *globals, output string) error {
	if output != "" || !g.io.IsTerminalOut() {
		return nil
	}
	return withHint(&usageError{err: errors.New("refusing to write WebM to a terminal")},
		"redirect stdout to a file or a pipe, use -o FILE, or -o - to force it")
}
