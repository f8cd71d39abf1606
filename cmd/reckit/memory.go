package main

import (
	"os"
	"runtime/debug"
)

// streamingMemoryLimit is the soft memory limit of the streaming container
// commands (info, split, join, repair). Their live heap is a few MiB of
// buffers whatever the input size; without a limit Go's GC lets the heap
// grow to twice the live size before collecting, which would show as RSS
// growth that is only garbage.
const streamingMemoryLimit = 24 << 20

// limitStreamingMemory sets that soft limit, unless the user set GOMEMLIMIT.
func limitStreamingMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(streamingMemoryLimit)
	}
}
