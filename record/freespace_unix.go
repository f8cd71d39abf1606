//go:build unix

package record

import (
	"fmt"
	"syscall"
)

// FreeSpace returns the bytes available to unprivileged users on the
// filesystem holding dir.
func FreeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("record: free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
