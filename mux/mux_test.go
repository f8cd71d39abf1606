package mux_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

type frame struct {
	ts   time.Duration
	key  bool
	data []byte
}

// readFrames demuxes every video frame of path.
func readFrames(t testing.TB, path string) (mux.Track, []frame) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := mux.NewReader(f, mux.ReaderOptions{})
	h, err := r.ReadHeader()
	if err != nil {
		t.Fatalf("ReadHeader(%s) = %v", path, err)
	}
	vt, ok := h.VideoTrack()
	if !ok {
		t.Fatalf("%s: no video track", path)
	}
	var out []frame
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next(%s) = %v", path, err)
		}
		if b.Track != vt.Number {
			continue
		}
		p, err := r.Payload(nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frame{time.Duration(b.Timecode) * time.Millisecond, b.Keyframe, p})
	}
	return vt, out
}

// writeFrames muxes frames with the Writer into w.
func writeFrames(t testing.TB, w io.Writer, vt mux.Track, frames []frame, opts mux.WriterOptions) *mux.Writer {
	t.Helper()
	opts.Width, opts.Height = vt.Width, vt.Height
	opts.FrameDuration = time.Duration(vt.DefaultDuration)
	mw, err := mux.NewWriter(w, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := mw.WriteFrame(f.ts, f.key, f.data); err != nil {
			t.Fatal(err)
		}
	}
	return mw
}

func TestWriterAcceptedByPeers(t *testing.T) {
	testmedia.Require(t, "ffmpeg", "ffprobe", "mkvmerge")
	dir := t.TempDir()
	src := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Width: 320, Height: 240, FPS: 15, Seconds: 4, KeyInt: 20})
	vt, frames := readFrames(t, src)
	want := testmedia.PacketHashes(t, src)

	for _, tc := range []struct {
		name string
		live bool
	}{{"seekable", false}, {"live", true}} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".webm")
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			var w io.Writer = f
			if tc.live {
				w = struct{ io.Writer }{f} // hide Seek: a pipe
			}
			mw := writeFrames(t, w, vt, frames, mux.WriterOptions{
				Title: "t", DateUTC: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC),
				Tags: []mux.SimpleTag{{Name: mux.TagDevice, Value: "host-1"}},
			})
			mw.SetTag(mux.TagNextUID, "00112233445566778899aabbccddeeff")
			if err := mw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := mw.Close(); err != nil {
				t.Fatalf("second Close() = %v, want nil", err)
			}
			f.Close()
			wantDur := mw.Duration().Milliseconds()
			if got := mw.Frames(); got != int64(len(frames)) {
				t.Fatalf("Frames() = %d, want %d", got, len(frames))
			}
			p := testmedia.FFprobe(t, out)
			if p.Frames != len(frames) {
				t.Errorf("ffprobe frames = %d, want %d", p.Frames, len(frames))
			}
			m := testmedia.MkvmergeJ(t, out)
			if !m.Recognized || !m.Supported || len(m.Errors) > 0 || len(m.Warnings) > 0 {
				t.Errorf("mkvmerge -J = %+v, want recognized, supported, no errors or warnings", m)
			}
			if !tc.live {
				if p.DurationMS != wantDur {
					t.Errorf("ffprobe duration = %d ms, want %d", p.DurationMS, wantDur)
				}
				if m.DurationNS/1e6 != wantDur {
					t.Errorf("mkvmerge duration = %d ns, want %d ms", m.DurationNS, wantDur)
				}
			}
			if msg := testmedia.FFmpegDecodeErrors(t, out); msg != "" {
				t.Errorf("ffmpeg decode of %s printed %q, want nothing", out, msg)
			}
			got := testmedia.PacketHashes(t, out)
			if len(got) != len(want) {
				t.Fatalf("packet hashes: %d, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("packet %d hash = %s, want %s", i, got[i], want[i])
				}
			}
			// Our own reader sees the same tags and frames.
			rf, _ := os.Open(out)
			defer rf.Close()
			r := mux.NewReader(rf, mux.ReaderOptions{})
			for {
				if _, err := r.Next(); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("Next() = %v", err)
					}
					break
				}
			}
			h := r.Header()
			if v, _ := h.FindTag(mux.TagNextUID); v != "00112233445566778899aabbccddeeff" {
				t.Errorf("tag %s = %q, want the value set before Close", mux.TagNextUID, v)
			}
			if v, _ := h.FindTag(mux.TagDevice); v != "host-1" {
				t.Errorf("tag %s = %q, want host-1", mux.TagDevice, v)
			}
			if !h.HasCues {
				t.Errorf("HasCues = false, want Cues after the last Cluster")
			}
			if tc.live != (h.SegmentSize == mux.UnknownSize) {
				t.Errorf("SegmentSize = %d, live %v", h.SegmentSize, tc.live)
			}
		})
	}
}

// syncRecorder captures the output's bytes at every Sync (each Cluster end).
type syncRecorder struct {
	bytes.Buffer
	snaps [][]byte
}

func (s *syncRecorder) Sync() error {
	s.snaps = append(s.snaps, append([]byte(nil), s.Bytes()...))
	return nil
}

// TestWriterCrashConsistency checks that the bytes on "disk" at every
// Cluster boundary, before Close, are a readable recording holding every
// frame written so far.
func TestWriterCrashConsistency(t *testing.T) {
	testmedia.Require(t, "ffmpeg")
	dir := t.TempDir()
	src := testmedia.FFmpegWebM(t, dir, testmedia.Spec{FPS: 10, Seconds: 6, KeyInt: 10})
	vt, frames := readFrames(t, src)
	var rec syncRecorder
	mw := writeFrames(t, &rec, vt, frames, mux.WriterOptions{Sync: true})
	if len(rec.snaps) < 3 {
		t.Fatalf("%d syncs before Close, want one per Cluster (>= 3)", len(rec.snaps))
	}
	for i, snap := range rec.snaps[1:] { // snapshot 0 is the header alone
		r := mux.NewReader(bytes.NewReader(snap), mux.ReaderOptions{})
		n := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("snapshot %d (%d bytes): Next() = %v", i+1, len(snap), err)
			}
			n++
		}
		if n != (i+1)*10 {
			t.Errorf("snapshot %d: %d frames readable, want %d", i+1, n, (i+1)*10)
		}
	}
	_ = mw.Close()
}

func TestScannerBadSizes(t *testing.T) {
	testmedia.Require(t, "ffmpeg")
	dir := t.TempDir()
	src := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 3, KeyInt: 10})
	vt, frames := readFrames(t, src)
	var buf testmedia.SeekBuffer
	mw := writeFrames(t, &buf, vt, frames, mux.WriterOptions{})
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes
	// Locate the last SimpleBlock of the first Cluster with the reader
	// itself: growing its size by one overruns the Cluster.
	r := mux.NewReader(bytes.NewReader(good), mux.ReaderOptions{})
	var blk, prev mux.Block
	for {
		b, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if prev.Offset != 0 && b.Cluster != prev.Cluster {
			blk = prev
			break
		}
		prev = *b
	}
	sizeAt := blk.Offset + 1 // the SimpleBlock ID is one byte
	walk := func(data []byte) error {
		r := mux.NewReader(bytes.NewReader(data), mux.ReaderOptions{})
		for {
			if _, err := r.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	tests := []struct {
		name    string
		mutate  func([]byte)
		kind    error
		wantOff int64
	}{
		{"block overruns cluster", func(b []byte) { incVint(b[sizeAt:]) }, mux.ErrCorrupt, blk.Offset},
		{"zeroed range at a block", func(b []byte) {
			for i := blk.Offset; i < blk.Offset+40; i++ {
				b[i] = 0
			}
		}, mux.ErrCorrupt, blk.Offset},
		{"destroyed EBML header", func(b []byte) { copy(b, "RIFF") }, mux.ErrNotWebM, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := append([]byte(nil), good...)
			tc.mutate(data)
			err := walk(data)
			var fe *mux.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, tc.kind) {
				t.Fatalf("walk = %v, want a %v FormatError", err, tc.kind)
			}
			if fe.Offset != tc.wantOff {
				t.Errorf("offset = %d, want %d (%v)", fe.Offset, tc.wantOff, err)
			}
		})
	}
}

// incVint adds one to the vint size field at the start of b.
func incVint(b []byte) {
	n := 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return
		}
	}
}
