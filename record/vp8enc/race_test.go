//go:build race

package vp8enc

// raceEnabled is true under the race detector, which makes the largest
// test cases too slow; they are trimmed, not skipped.
const raceEnabled = true
