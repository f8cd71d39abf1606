//go:build libvpx

package main

import "github.com/reckit/reckit/record/libvpx"

// Builds with -tags libvpx offer libvpx's VP8 encoder as --encoder libvpx,
// for comparison with the pure-Go default.
func init() {
	encoders["libvpx"] = libvpx.New
}
