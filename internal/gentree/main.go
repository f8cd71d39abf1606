// Command gentree writes a tree of synthetic recordings for benchmarks:
//
//	go run ./internal/gentree DIR N
//
// makes N recording directories (docs/layout.md) under DIR, in device
// subfolders ws-000..ws-099 (recording i goes to ws-(i mod 100)). Each
// recording has two parts of 20 synthetic VP8 frames (160x120, 10 fps, 2 s)
// written by reckit's own muxer, and a manifest in state complete with the
// parts' sizes, SHA-256 and hash chain. The frames are structurally VP8 (frame
// tag, key-frame start code and size) but not decodable pictures: the tree
// exercises listing and verification, not decoding.
//
// The output is deterministic: a fixed clock (recording i starts at
// 2026-01-01T00:00:00Z plus i hours) and a fixed seed per recording, so two
// runs give byte-identical trees. gentree refuses to overwrite an existing
// recording (layout.Create fails on an existing manifest).
//
// It is a benchmark helper, not part of reckit; scripts/bench-catalog.sh uses it.
package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

const (
	width, height = 160, 120
	fps           = 10
	framesPerPart = 20
	partsPerRec   = 2
	frameBytes    = 300
	devices       = 100
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// synthVP8 returns an n-byte VP8 frame with a valid frame tag (RFC 6386
// section 9.1: show_frame set, first partition half the frame) and, for key
// frames, the start code and the w x h size, followed by bytes from rng. It
// is a copy of internal/testmedia.SynthVP8, which only tests may import.
func synthVP8(rng *rand.Rand, key bool, w, h, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	tag := uint32(n/2)<<5 | 1<<4
	if !key {
		tag |= 1
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		b[6], b[7], b[8], b[9] = byte(w), byte(w>>8), byte(h), byte(h>>8)
	}
	return b
}

// writePart muxes one part to path and returns its frame count.
func writePart(path string, rng *rand.Rand, start time.Time) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	uid := make([]byte, 16)
	rng.Read(uid)
	frameDur := time.Second / fps
	mw, err := mux.NewWriter(f, mux.WriterOptions{
		Width: width, Height: height, FrameDuration: frameDur,
		DateUTC: start, SegmentUID: uid,
	})
	if err != nil {
		return 0, err
	}
	for i := 0; i < framesPerPart; i++ {
		key := i%10 == 0
		if err := mw.WriteFrame(time.Duration(i)*frameDur, key, synthVP8(rng, key, width, height, frameBytes)); err != nil {
			return 0, err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, err
	}
	return mw.Frames(), f.Close()
}

func writeRecording(root string, i int) error {
	at := epoch.Add(time.Duration(i) * time.Hour)
	dev := fmt.Sprintf("ws-%03d", i%devices)
	sess := fmt.Sprintf("sess-%06d", i)
	dir := filepath.Join(root, dev, layout.NewRecordingName(at, dev, sess).String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(int64(i) + 1))
	m := layout.NewManifest(dev, "bench", sess, "gentree", at)
	m.Title = "synthetic recording " + strconv.Itoa(i)
	partDur := time.Duration(framesPerPart) * time.Second / fps
	t := at
	for p := 1; p <= partsPerRec; p++ {
		name := layout.PartName{Start: t, Monitor: layout.MonitorToken(0), Number: p}.String()
		path := filepath.Join(dir, name)
		frames, err := writePart(path, rng, t)
		if err != nil {
			return err
		}
		sum, size, err := layout.HashFile(path)
		if err != nil {
			return err
		}
		reason := layout.SplitSize
		if p == 1 {
			reason = layout.SplitStart
		}
		if err := m.AppendPart(layout.Part{
			Name: name, SizeBytes: size, SHA256: sum,
			Start: t, End: t.Add(partDur), DurationMS: partDur.Milliseconds(),
			Width: width, Height: height, Monitor: layout.MonitorToken(0), FPS: fps,
			SplitReason: reason, Frames: frames,
		}); err != nil {
			return err
		}
		t = t.Add(partDur)
	}
	if err := layout.Create(dir, m); err != nil {
		return err
	}
	// Finish as the recorder does: through Update, under the manifest lock.
	end := t
	return layout.Update(dir, func(m *layout.Manifest) error {
		m.End = end
		m.StopReason = layout.StopDuration
		return m.SetState(layout.StateComplete)
	})
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/gentree DIR N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "gentree: N must be a non-negative integer, not %q\n", os.Args[2])
		os.Exit(2)
	}
	for i := 0; i < n; i++ {
		if err := writeRecording(os.Args[1], i); err != nil {
			fmt.Fprintln(os.Stderr, "gentree:", err)
			os.Exit(1)
		}
	}
}
