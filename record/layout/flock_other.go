//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package layout

import (
	"errors"
	"fmt"
	"os"
)

func flock(f *os.File, exclusive, nonblock bool) error {
	return fmt.Errorf("layout: flock %s: %w", f.Name(), errors.ErrUnsupported)
}

func funlock(f *os.File) error {
	return fmt.Errorf("layout: flock %s: %w", f.Name(), errors.ErrUnsupported)
}
