package main

import "golang.org/x/sys/unix"

// startWriteback asks the kernel to start writing [off, off+n) of f to
// disk now, without waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so
// that the fsync before the rename finds little left to do and the disk
// works while reckit does. It is a hint: errors are left to that fsync.
func startWriteback(fd uintptr, off, n int64) {
	unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
