package inspect_test

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

// t0 is the fixed clock of the fixtures.
var t0 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

// webmSpec describes a generated file: frames at fps, a key frame every
// keyint frames, 160x120.
type webmSpec struct {
	frames, fps, keyint int
	seed                int64
	live                bool // live layout: no Cues, Duration or Segment size
	date                time.Time
	tags                []mux.SimpleTag
}

// genWebM writes a file made by reckit's own mux writer and returns it.
func genWebM(t testing.TB, path string, s webmSpec) []byte {
	t.Helper()
	if s.fps == 0 {
		s.fps = 10
	}
	if s.keyint == 0 {
		s.keyint = 10
	}
	if s.date.IsZero() {
		s.date = t0
	}
	var buf testmedia.SeekBuffer
	var out io.Writer = &buf
	if s.live {
		out = struct{ io.Writer }{&buf}
	}
	mw, err := mux.NewWriter(out, mux.WriterOptions{Width: 160, Height: 120, FrameDuration: time.Second / time.Duration(s.fps),
		Title: "fixture", DateUTC: s.date, SegmentUID: bytes.Repeat([]byte{0x5a}, 16), Tags: s.tags})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(s.seed + 1))
	for i := 0; i < s.frames; i++ {
		key := i%s.keyint == 0
		if err := mw.WriteFrame(time.Duration(i)*time.Second/time.Duration(s.fps), key, testmedia.SynthVP8(rng, key, 160, 120, 200+rng.Intn(300))); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if path != "" {
		if err := os.WriteFile(path, buf.Bytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes
}

// recSpec describes a generated recording directory.
type recSpec struct {
	device, user, session string
	start                 time.Time
	parts                 int
	frames                int // per part
	state                 string
}

// genRecording makes a recording directory under root with the layout
// package, as the recorder does, and returns its path.
func genRecording(t testing.TB, root string, s recSpec) string {
	t.Helper()
	if s.parts == 0 {
		s.parts = 2
	}
	if s.frames == 0 {
		s.frames = 20
	}
	if s.start.IsZero() {
		s.start = t0
	}
	if s.state == "" {
		s.state = layout.StateComplete
	}
	dir := filepath.Join(root, layout.NewRecordingName(s.start, s.device, s.session).String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := layout.NewManifest(s.device, s.user, s.session, "demo", s.start)
	at := s.start
	for i := 1; i <= s.parts; i++ {
		name := layout.PartName{Start: at, Monitor: "m0", Number: i}.String()
		path := filepath.Join(dir, name)
		genWebM(t, path, webmSpec{frames: s.frames, seed: int64(i), date: at})
		sum, size, err := layout.HashFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dur := time.Duration(s.frames) * 100 * time.Millisecond
		reason := layout.SplitSize
		if i == 1 {
			reason = layout.SplitStart
		}
		if err := m.AppendPart(layout.Part{Name: name, SizeBytes: size, SHA256: sum, Start: at, End: at.Add(dur),
			DurationMS: dur.Milliseconds(), Width: 160, Height: 120, Monitor: "m0", FPS: 10, SplitReason: reason, Frames: int64(s.frames)}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(dur)
	}
	if s.state != layout.StateRecording {
		if err := m.SetState(s.state); err != nil {
			t.Fatal(err)
		}
		m.End = at
		m.StopReason = layout.StopSignal
	}
	if err := layout.Create(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir
}

// frameOffset returns the payload offset and size of frame n of a file.
func frameOffset(t testing.TB, path string, n int) (int64, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := mux.NewReader(f, mux.ReaderOptions{})
	if _, err := rd.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		b, err := rd.Next()
		if err != nil {
			t.Fatalf("frame %d of %s: %v", n, path, err)
		}
		if i == n {
			return b.DataOffset, b.DataSize
		}
	}
}

// patch overwrites bytes of a file at off.
func patch(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
