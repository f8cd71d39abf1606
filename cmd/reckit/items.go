package main

import (
	"encoding/json"
	"fmt"
)

// itemErrorRecord is a per-item failure on stderr under --json, for commands
// that go on with the other items. The final error record still ends the
// output when the command fails as a whole.
type itemErrorRecord struct {
	Type    string `json:"type"` // always "item_error"
	Path    string `json:"path"`
	Message string `json:"message"`
}

// itemErrorf reports one failed item and lets the command go on: a
// "reckit: error: ..." line, or an item_error JSON line under --json.
// Unlike notes and warnings it is never silenced by --quiet.
func (g *globals) itemErrorf(path string, err error) {
	if g.json {
		if line, jerr := json.Marshal(itemErrorRecord{Type: "item_error", Path: path, Message: err.Error()}); jerr == nil {
			fmt.Fprintf(g.io.Err, "%s\n", line)
			return
		}
	}
	fmt.Fprintf(g.io.Err, "reckit: error: %v\n", err)
}

// itemFailures counts the items of a multi-item command (info, repair)
// that failed, reporting each as it happens.
type itemFailures struct {
	total  int
	failed int
	first  error
}

// add reports one failed item (an item_error line when there are several
// items) and counts it.
func (f *itemFailures) add(g *globals, path string, err error) {
	f.failed++
	if f.first == nil {
		f.first = err
	}
	if f.total > 1 {
		g.itemErrorf(path, err)
	}
}

// err is the command's error: nil when nothing failed; the error itself
// when the only item failed; "none of the N files could be VERB" when all
// did; a partialError (exit 3) when some did.
func (f *itemFailures) err(verb string) error {
	switch {
	case f.failed == 0:
		return nil
	case f.failed == f.total && f.failed == 1:
		return f.first
	case f.failed == f.total:
		return fmt.Errorf("none of the %d files could be %s: %w", f.failed, verb, f.first)
	}
	return &partialError{failed: f.failed, total: f.total, noun: "files", err: f.first}
}
