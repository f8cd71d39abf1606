package main

import (
	"errors"
	"fmt"
	"os"
)

// rootsOrDefault returns args, or the default recordings folder
// (defaultRecordingsDir) when args is empty: the PATH... of verify and ls.
// Every root must exist: a missing one is an error, the default one with a
// hint.
func rootsOrDefault(args []string) ([]string, error) {
	roots := args
	if len(roots) == 0 {
		d, err := defaultRecordingsDir()
		if err != nil {
			return nil, err
		}
		roots = []string{d}
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			return nil, withHint(fmt.Errorf("recordings folder %s does not exist", d),
				"pass a PATH, or set RECKIT_DIR to the folder holding the recordings")
		}
	}
	for _, r := range roots {
		if _, err := os.Stat(r); err != nil {
			return nil, err
		}
	}
	return roots, nil
}
