package record_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/layout"
)

var t0 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

func demoSource(t *testing.T, w, h, frames int) record.Source {
	t.Helper()
	src, err := record.OpenSource("demo", record.SourceOptions{Width: w, Height: h, FPS: 15, Frames: frames})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func sessionOpts(root string) record.SessionOptions {
	return record.SessionOptions{Root: root, Device: "ws-1", User: "alice", SessionID: "s-1", Source: "demo",
		Start: t0, FreeSpace: func(string) (int64, error) { return 1 << 40, nil }, KeyframeInterval: time.Second}
}

// TestSessionParts records with a small part size: several parts, each
// within the limit, a complete manifest whose chain verifies, parts linked
// by their tags, and joined losslessly.
func TestSessionParts(t *testing.T) {
	testmedia.Require(t, "ffmpeg", "ffprobe")
	root := t.TempDir()
	var events []string
	opts := sessionOpts(root)
	opts.MaxPartSize = 48 << 10
	opts.Events = func(e record.Event) { events = append(events, e.Kind+":"+e.Reason) }
	res, err := record.RecordSession(context.Background(), demoSource(t, 320, 240, 150), opts)
	if err != nil {
		t.Fatalf("RecordSession = %v", err)
	}
	m, err := layout.Read(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != layout.StateComplete || m.StopReason != layout.StopEndOfInput {
		t.Errorf("state %s, stop %s: want complete, end-of-input", m.State, m.StopReason)
	}
	if len(m.Parts) < 3 {
		t.Fatalf("%d parts, want several at a 48 KiB limit", len(m.Parts))
	}
	if err := m.VerifyChain(); err != nil {
		t.Errorf("VerifyChain = %v", err)
	}
	var total int64
	var paths []string
	for i, p := range m.Parts {
		path := filepath.Join(res.Dir, p.Name)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > opts.MaxPartSize {
			t.Errorf("part %d is %d bytes, over the %d-byte limit", i+1, st.Size(), opts.MaxPartSize)
		}
		if st.Size() != p.SizeBytes {
			t.Errorf("part %d: manifest says %d bytes, file has %d", i+1, p.SizeBytes, st.Size())
		}
		if want := map[bool]string{true: layout.SplitStart, false: layout.SplitSize}[i == 0]; p.SplitReason != want {
			t.Errorf("part %d split reason %q, want %q", i+1, p.SplitReason, want)
		}
		if pr := testmedia.FFprobe(t, path); int64(pr.Frames) != p.Frames {
			t.Errorf("part %d: ffprobe %d frames, manifest %d", i+1, pr.Frames, p.Frames)
		}
		total += p.Frames
		paths = append(paths, path)
	}
	if total != 150 || res.Frames != 150 {
		t.Errorf("frames: parts sum %d, result %d, want 150", total, res.Frames)
	}
	if got := strings.Join(events, " "); !strings.HasPrefix(got, "start:start split:") || !strings.HasSuffix(got, "stop:end-of-input") {
		t.Errorf("events = %s", got)
	}
	// Lossless join, with the order checked by the parts' own links.
	var out bytes.Buffer
	open := func(i int) (io.Reader, io.Closer, string, error) {
		f, err := os.Open(paths[i])
		return f, f, paths[i], err
	}
	if _, err := mux.Join(context.Background(), len(paths), open, &out, mux.JoinOptions{}); err != nil {
		t.Fatalf("Join = %v", err)
	}
	joined := filepath.Join(t.TempDir(), "joined.webm")
	if err := os.WriteFile(joined, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range paths {
		want = append(want, testmedia.PacketHashes(t, p)...)
	}
	got := testmedia.PacketHashes(t, joined)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("joined packets differ from the parts' (%d vs %d)", len(got), len(want))
	}
}

// TestSessionResolutionAndRate: a y4m input whose size and then rate change
// gives a new part each time, at the new size.
func TestSessionResolutionAndRate(t *testing.T) {
	testmedia.Require(t, "ffmpeg")
	var y4m []byte
	for _, a := range [][]string{{"320x240", "15"}, {"240x320", "15"}, {"240x320", "10"}} {
		b, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s="+a[0]+":r="+a[1],
			"-frames:v", "10", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		y4m = append(y4m, b...)
	}
	src, err := record.OpenSource("y4m:-", record.SourceOptions{Stdin: bytes.NewReader(y4m)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := record.RecordSession(context.Background(), src, sessionOpts(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if len(m.Parts) != 3 {
		t.Fatalf("%d parts, want 3", len(m.Parts))
	}
	for i, want := range []struct {
		w, h   int
		reason string
	}{{320, 240, "start"}, {240, 320, "resolution"}, {240, 320, "fps"}} {
		p := m.Parts[i]
		if p.Width != want.w || p.Height != want.h || p.SplitReason != want.reason || p.Frames != 10 {
			t.Errorf("part %d = %dx%d %s %d frames, want %dx%d %s 10", i+1, p.Width, p.Height, p.SplitReason, p.Frames, want.w, want.h, want.reason)
		}
	}
}

// TestSessionFreeSpace: below --min-free it refuses to start (nothing
// created); when space runs out while recording, it stops cleanly with
// every part readable and the manifest saying why.
func TestSessionFreeSpace(t *testing.T) {
	root := t.TempDir()
	opts := sessionOpts(root)
	opts.MinFree = 100 << 20
	opts.FreeSpace = func(string) (int64, error) { return 50 << 20, nil }
	if _, err := record.RecordSession(context.Background(), demoSource(t, 160, 120, 10), opts); !errors.Is(err, record.ErrLowSpace) {
		t.Fatalf("RecordSession = %v, want ErrLowSpace", err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("%d entries created under the root, want none", len(ents))
	}

	var free atomic.Int64
	free.Store(1 << 30)
	clock := t0
	opts.FreeSpace = func(string) (int64, error) { return free.Load(), nil }
	opts.Now = func() time.Time { clock = clock.Add(200 * time.Millisecond); return clock }
	opts.Progress = func(p record.SessionProgress) {
		if p.Frames == 40 {
			free.Store(10 << 20) // the disk fills up
		}
	}
	res, err := record.RecordSession(context.Background(), demoSource(t, 160, 120, 100), opts)
	if !errors.Is(err, record.ErrLowSpace) {
		t.Fatalf("RecordSession = %v, want ErrLowSpace", err)
	}
	m, rerr := layout.Read(res.Dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if m.State != layout.StateComplete || m.StopReason != layout.StopMinFree || m.StopError == "" {
		t.Errorf("manifest state %s stop %s (%q), want complete, min-free, an error", m.State, m.StopReason, m.StopError)
	}
	if res.Frames < 40 || res.Frames > 50 {
		t.Errorf("recorded %d frames, want the ~40 before the disk filled", res.Frames)
	}
	if len(m.Parts) != 1 || m.Parts[0].Frames != res.Frames {
		t.Fatalf("parts %+v, want one with every frame", m.Parts)
	}
}

// TestSessionCancel: cancellation finalizes like the end of input.
func TestSessionCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	opts := sessionOpts(t.TempDir())
	opts.Progress = func(p record.SessionProgress) {
		if p.Frames == 20 {
			cancel()
		}
	}
	res, err := record.RecordSession(ctx, demoSource(t, 160, 120, 0), opts)
	if err != nil {
		t.Fatalf("RecordSession = %v", err)
	}
	if m := res.Manifest; m.StopReason != layout.StopSignal || m.State != layout.StateComplete || len(m.Parts) != 1 || m.Parts[0].Frames != 20 {
		t.Fatalf("manifest %+v, want complete, signal, one part of 20 frames", m)
	}
	if held, _ := layout.RecordingInProgress(res.Dir); held {
		t.Errorf("recording lock still held after the end")
	}
}

// TestSessionMaxDuration: the warning comes WarnBefore the end, then a
// clean stop.
func TestSessionMaxDuration(t *testing.T) {
	opts := sessionOpts(t.TempDir())
	opts.MaxDuration = 4 * time.Second
	opts.WarnBefore = time.Second
	var warnAt time.Duration = -1
	var last time.Duration
	opts.Events = func(e record.Event) {
		if e.Kind == "warn" {
			warnAt = e.Duration
		}
	}
	opts.Progress = func(p record.SessionProgress) { last = p.Elapsed }
	res, err := record.RecordSession(context.Background(), demoSource(t, 160, 120, 0), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.StopReason != layout.StopMaxDuration || res.Frames != 60 {
		t.Errorf("stop %s after %d frames, want max-duration after 60", res.Manifest.StopReason, res.Frames)
	}
	if warnAt < 2900*time.Millisecond || warnAt > 3100*time.Millisecond {
		t.Errorf("warned at %v, want ~3s (1s before the 4s limit); last %v", warnAt, last)
	}
}
