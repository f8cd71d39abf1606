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
