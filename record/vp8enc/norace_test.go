//go:build !race

package vp8enc

// raceEnabled is true under the race detector.
const raceEnabled = false
