//go:build libvpx

package main

import (
	"github.com/reckit/reckit/record/libvpx"
	"github.com/reckit/reckit/record/vp8bench"
)

func init() {
	reference = func(w, h, q int) (vp8bench.Encoder, error) {
		return libvpx.Open(w, h, libvpx.Options{Quantizer: q, Reconstruct: true})
	}
	referenceVersion = libvpx.Version()
}
