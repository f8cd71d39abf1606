// Package libvpx is a cgo binding to libvpx's VP8 encoder, the reference
// reckit's own pure-Go encoder (record/vp8enc) is measured against.
//
// Everything but this comment is behind the build tag libvpx: build with
// `-tags libvpx` on a machine with libvpx's headers and pkg-config
// (Debian: apt-get install libvpx-dev pkg-config). The default build of
// reckit stays pure Go and static and does not contain this encoder.
//
// The encoder runs libvpx in the configuration the benchmarks compare
// against: one thread, the realtime deadline at cpu-used -8, a fixed
// quantizer, key frames only when asked for (and on the first frame), no
// error resilience, no lag, and an active map built from the change hints
// so that unchanged macroblocks are skipped as reckit's encoder skips them.
package libvpx
