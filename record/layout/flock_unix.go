//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package layout

import (
	"errors"
	"os"
	"syscall"
)

// flock applies flock(2) to f. With nonblock, a conflicting lock yields
// errWouldBlock.
func flock(f *os.File, exclusive, nonblock bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if nonblock {
		how |= syscall.LOCK_NB
	}
	return flockHow(f, how)
}

func funlock(f *os.File) error { return flockHow(f, syscall.LOCK_UN) }

func flockHow(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	cerr := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	if errors.Is(ferr, syscall.EWOULDBLOCK) || errors.Is(ferr, syscall.EAGAIN) {
		return errWouldBlock
	}
	if ferr != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return nil
}
