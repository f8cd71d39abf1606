//go:build !unix

package vp8bench

import "time"

func cpuTime() (time.Duration, error) { return 0, ErrNoCPUTime }
