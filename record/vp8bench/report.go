package vp8bench

import (
	"fmt"
	"io"
	"strings"
)

// Target bounds the encoder under test relative to the reference for one
// class of frames: at most MaxCPU times the reference's CPU time per frame
// and MaxBytes times its bytes per frame (0: no bound).
type Target struct {
	MaxCPU, MaxBytes float64
}

// TargetFor returns the targets reckit's encoder is held to against libvpx
// (with an active map, at matched PSNR): key frames at most 3x the CPU time
// and 1.6x the bytes; inter frames of the low-motion clips "typing" and
// "pointer" no slower and at most 1.5x the bytes; inter frames of every
// other clip (high motion) at most 5x the CPU time.
func TargetFor(clip string, key bool) Target {
	switch {
	case key:
		return Target{MaxCPU: 3, MaxBytes: 1.6}
	case clip == "typing" || clip == "pointer":
		return Target{MaxCPU: 1, MaxBytes: 1.5}
	default:
		return Target{MaxCPU: 5}
	}
}

func (t Target) String() string {
	var parts []string
	if t.MaxCPU > 0 {
		parts = append(parts, fmt.Sprintf("CPU ≤ %gx", t.MaxCPU))
	}
	if t.MaxBytes > 0 {
		parts = append(parts, fmt.Sprintf("bytes ≤ %gx", t.MaxBytes))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Met reports whether test is within the target of ref.
func (t Target) Met(test, ref Stats) bool {
	if t.MaxCPU > 0 && ratio(test.CPUPerFrame(), ref.CPUPerFrame()) > t.MaxCPU {
		return false
	}
	if t.MaxBytes > 0 && ratio(test.BytesPerFrame(), ref.BytesPerFrame()) > t.MaxBytes {
		return false
	}
	return true
}

func ratio(a, b float64) float64 {
	if b == 0 {
		if a == 0 {
			return 1
		}
		return a * 1e9 // anything against nothing: far over any bound
	}
	return a / b
}

// Comparison is one clip encoded by the encoder under test and by the
// reference, the reference at the level whose PSNR matched.
type Comparison struct {
	Clip      string
	Test, Ref Result
	// Matched: the PSNRs over all frames are within the tolerance.
	Matched bool
}

// Rows of a comparison, one per class with frames in both results.
type Row struct {
	Clip      string
	Class     string // "key" or "inter"
	Test, Ref Stats
	Target    Target
	Met       bool
}

// Rows returns the key and inter rows of c.
func (c Comparison) Rows() []Row {
	var rows []Row
	for _, k := range []struct {
		class     string
		test, ref Stats
		key       bool
	}{{"key", c.Test.Key, c.Ref.Key, true}, {"inter", c.Test.Inter, c.Ref.Inter, false}} {
		if k.test.Frames == 0 && k.ref.Frames == 0 {
			continue
		}
		t := TargetFor(c.Clip, k.key)
		rows = append(rows, Row{Clip: c.Clip, Class: k.class, Test: k.test, Ref: k.ref, Target: t, Met: t.Met(k.test, k.ref)})
	}
	return rows
}

// WriteMarkdown writes the comparisons as one Markdown table; test and ref
// name the two encoders and their level settings (e.g. "reckit" with
// "quality", "libvpx" with "q").
func WriteMarkdown(w io.Writer, test, testLevel, ref, refLevel string, cs []Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| clip | frames | n | %[1]s CPU ms | %[2]s CPU ms | CPU × | %[1]s wall ms | %[2]s wall ms | %[1]s bytes | %[2]s bytes | bytes × | %[1]s PSNR | %[2]s PSNR | all-frames PSNR Δ | target | met |\n", test, ref)
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, c := range cs {
		delta := c.Test.All().PSNR() - c.Ref.All().PSNR()
		match := fmt.Sprintf("%+.2f", delta)
		if !c.Matched {
			match += " (not matched)"
		}
		for _, r := range c.Rows() {
			verdict := "yes"
			if !r.Met {
				verdict = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f | %.2f (%s %d) | %.2f (%s %d) | %s | %s | %s |\n",
				r.Clip, r.Class, r.Test.Frames,
				r.Test.CPUPerFrame(), r.Ref.CPUPerFrame(), ratio(r.Test.CPUPerFrame(), r.Ref.CPUPerFrame()),
				r.Test.WallPerFrame(), r.Ref.WallPerFrame(),
				r.Test.BytesPerFrame(), r.Ref.BytesPerFrame(), ratio(r.Test.BytesPerFrame(), r.Ref.BytesPerFrame()),
				r.Test.PSNR(), testLevel, c.Test.Level, r.Ref.PSNR(), refLevel, c.Ref.Level,
				match, r.Target, verdict)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
