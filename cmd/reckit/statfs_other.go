//go:build !unix

package main

// freeBytes cannot tell the free space on this system: -1.
func freeBytes(string) int64 { return -1 }
