//go:build linux || darwin

package main

import (
	"fmt"
	"os"
	"syscall"
)

// fileSystemID identifies the file system holding path (its device
// number), without following a final symbolic link.
func fileSystemID(path string) (string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("%s: no device number", path)
	}
	return fmt.Sprint(sys.Dev), nil
}

// diskSpace returns the bytes available to unprivileged users (as df's
// "Avail") and the size of the file system holding path.
func diskSpace(path string) (free, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}
