//go:build unix

package main

import "syscall"

// freeBytes returns the bytes available to an unprivileged user on the
// filesystem holding path, or -1 when it cannot be told.
func freeBytes(path string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return -1
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize))
}
