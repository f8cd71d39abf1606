package record_test

import (
	"context"
	"errors"
	"image"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/layout"
)

// fixedSource yields n frames at 15 fps; sizes[i] picks the frame size.
type fixedSource struct {
	n, i int
	size func(i int) (int, int)
}

func (s *fixedSource) Info() record.SourceInfo {
	w, h := s.size(s.i)
	return record.SourceInfo{Width: w, Height: h, FPS: 15, FPSNum: 15, FPSDen: 1, Name: "fixed"}
}
func (s *fixedSource) Next(ctx context.Context) (record.Frame, error) {
	if s.i >= s.n {
		return record.Frame{}, io.EOF
	}
	w, h := s.size(s.i)
	f := record.Frame{Img: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		PTS: time.Duration(s.i) * time.Second / 15}
	s.i++
	return f, nil
}
func (s *fixedSource) Close() error { return nil }

// fakeEnc returns VP8-tagged frames of chosen sizes.
type fakeEnc struct {
	w, h   int
	n      int
	keySz  func(n int) int
	interS int
}

func (e *fakeEnc) Encode(img *image.YCbCr, hints []image.Rectangle, force bool) ([]byte, bool, error) {
	e.n++
	if force || e.n == 1 {
		b := make([]byte, e.keySz(e.n))
		copy(b, []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, byte(e.w), byte(e.w >> 8), byte(e.h), byte(e.h >> 8)})
		return b, true, nil
	}
	b := make([]byte, e.interS)
	copy(b, []byte{0x11, 0x02, 0x00})
	return b, false, nil
}

// A periodic key frame much larger than the frames before it (a blank
// desktop, then a full-screen photo appears exactly at a key frame) opens
// the next part instead of pushing this one over MaxPartSize.
func TestSessionPeriodicKeyFrameFits(t *testing.T) {
	root := t.TempDir()
	opts := record.SessionOptions{Root: root, Device: "ws-1", User: "alice", SessionID: "s-1", Source: "fixed",
		Start: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), FreeSpace: func(string) (int64, error) { return 1 << 40, nil },
		KeyframeInterval: time.Second, MaxPartSize: 1 << 20}
	opts.Encoder = func(w, h, q int) (record.Encoder, error) {
		return &fakeEnc{w: w, h: h, interS: 3000, keySz: func(n int) int {
			if n == 286 { // the periodic key frame at t = 19 s
				return 200 << 10
			}
			return 5000
		}}, nil
	}
	src := &fixedSource{n: 600, size: func(int) (int, int) { return 320, 240 }}
	res, err := record.RecordSession(context.Background(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := layout.Read(res.Dir)
	for i, p := range m.Parts {
		st, _ := os.Stat(filepath.Join(res.Dir, p.Name))
		t.Logf("part %d: %d bytes, %d frames, reason %s", i+1, st.Size(), p.Frames, p.SplitReason)
		if st.Size() > opts.MaxPartSize {
			t.Errorf("part %d is %d bytes, over the %d-byte MaxPartSize", i+1, st.Size(), opts.MaxPartSize)
		}
	}
}

// Key frames that take a third of MaxPartSize (a 720p desktop in 256 KiB
// parts) must not count in the room kept for the next frame: every part
// starts with one, and counting it ended each part after a frame or two.
func TestSessionLargeKeyFramesFillParts(t *testing.T) {
	root := t.TempDir()
	opts := record.SessionOptions{Root: root, Device: "ws-1", User: "alice", SessionID: "s-1", Source: "fixed",
		Start: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), FreeSpace: func(string) (int64, error) { return 1 << 40, nil },
		KeyframeInterval: 10 * time.Second, MaxPartSize: 256 << 10}
	opts.Encoder = func(w, h, q int) (record.Encoder, error) {
		return &fakeEnc{w: w, h: h, interS: 2000, keySz: func(int) int { return 90 << 10 }}, nil
	}
	src := &fixedSource{n: 600, size: func(int) (int, int) { return 320, 240 }}
	res, err := record.RecordSession(context.Background(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := layout.Read(res.Dir)
	// 600 frames of 2000 bytes after a 90 KiB key frame: (256-90-margin)
	// KiB hold about 60 inter frames, so a handful of parts.
	if len(m.Parts) < 2 || len(m.Parts) > 15 {
		t.Errorf("RecordSession made %d parts of 600 frames, want 2 to 15", len(m.Parts))
	}
	for i, p := range m.Parts {
		st, _ := os.Stat(filepath.Join(res.Dir, p.Name))
		if st.Size() > opts.MaxPartSize {
			t.Errorf("part %d is %d bytes, over the %d-byte MaxPartSize", i+1, st.Size(), opts.MaxPartSize)
		}
		if i < len(m.Parts)-1 && p.Frames < 20 {
			t.Errorf("part %d holds %d frames (%d bytes), want at least 20 before the limit", i+1, p.Frames, st.Size())
		}
	}
}

// Record always finalizes the output: an encoder that cannot be made for a
// new size stops the recording with every frame before it kept.
func TestRecordFinalizesOnEncoderError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.webm")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	src := &fixedSource{n: 100, size: func(i int) (int, int) {
		if i >= 60 {
			return 20000, 240 // a resize the encoder refuses
		}
		return 320, 240
	}}
	st, err := record.Record(context.Background(), src, out, record.RecordOptions{
		Encoder: func(w, h, q int) (record.Encoder, error) {
			if w > 16383 {
				return nil, errors.New("fake: unsupported size")
			}
			return &fakeEnc{w: w, h: h, interS: 300, keySz: func(int) int { return 1000 }}, nil
		}})
	out.Close()
	if err == nil || st.Frames != 60 {
		t.Errorf("Record = %+v, %v: want an error after 60 frames", st, err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	fi, _ := f.Stat()
	rep, _ := inspect.Scan(context.Background(), path, f, fi.Size(), inspect.ScanOptions{})
	t.Logf("output: %d bytes, verdict %s, frames %d: %s", fi.Size(), rep.Verdict, rep.Frames, rep.Reason)
	if rep.Verdict != inspect.OK || rep.Frames != 60 {
		t.Errorf("after an encoder error the output is %s with %d of 60 frames (Record promises a finalized file)", rep.Verdict, rep.Frames)
	}
}
