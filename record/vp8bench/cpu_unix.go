//go:build unix

package vp8bench

import (
	"fmt"
	"syscall"
	"time"
)

// cpuTime returns the user plus system CPU time of the whole process.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("vp8bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
