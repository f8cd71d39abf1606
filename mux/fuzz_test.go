package mux_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

// synthFile muxes frames of synthetic VP8 into memory.
func synthFile(t testing.TB, seed int64, frames int, seekable bool) []byte {
	rng := rand.New(rand.NewSource(seed))
	var sb testmedia.SeekBuffer
	var bb bytes.Buffer
	var w io.Writer = &bb
	if seekable {
		w = &sb
	}
	mw, err := mux.NewWriter(w, mux.WriterOptions{Width: 64, Height: 48, FrameDuration: 100 * time.Millisecond,
		DateUTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), SegmentUID: bytes.Repeat([]byte{7}, 16),
		Tags: []mux.SimpleTag{{Name: mux.TagDevice, Value: "d"}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < frames; i++ {
		key := i%5 == 0
		if err := mw.WriteFrame(time.Duration(i)*100*time.Millisecond, key, testmedia.SynthVP8(rng, key, 64, 48, 20+rng.Intn(60))); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if seekable {
		return sb.Bytes
	}
	return bb.Bytes()
}

// walkAll demuxes data and returns the frames, or the error that stopped
// the walk.
func walkAll(data []byte) ([]frame, *mux.Header, error) {
	r := mux.NewReader(bytes.NewReader(data), mux.ReaderOptions{})
	var out []frame
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r.Header(), nil
		}
		if err != nil {
			return out, r.Header(), err
		}
		p, err := r.Payload(nil)
		if err != nil {
			return out, r.Header(), err
		}
		out = append(out, frame{time.Duration(b.Timecode) * time.Millisecond, b.Keyframe, p})
	}
}

// FuzzReader: the demuxer never panics on any input, and whatever it reads
// completely survives a round trip through the Writer.
func FuzzReader(f *testing.F) {
	f.Add(synthFile(f, 1, 12, true))
	f.Add(synthFile(f, 2, 12, false))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic("walk did not finish in 5 s: a loop that makes no progress")
			}
		}()
		frames, hdr, err := walkAll(data)
		if err != nil {
			var fe *mux.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("walk error %v is not a *FormatError", err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(data)) {
				t.Fatalf("error offset %d outside the %d-byte input", fe.Offset, len(data))
			}
			return
		}
		vt, ok := hdr.VideoTrack()
		if !ok || len(frames) == 0 || vt.Width <= 0 || vt.Height <= 0 || vt.Width > 16383 || vt.Height > 16383 {
			return
		}
		// Round trip: only well-ordered streams that start with a key frame.
		for i, fr := range frames {
			if (i == 0 && !fr.key) || (i > 0 && fr.ts < frames[i-1].ts) || fr.ts < 0 {
				return
			}
		}
		var sb testmedia.SeekBuffer
		mw, err := mux.NewWriter(&sb, mux.WriterOptions{Width: vt.Width, Height: vt.Height})
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range frames {
			if err := mw.WriteFrame(fr.ts, fr.key, fr.data); err != nil {
				return // e.g. a timestamp beyond what ms ticks hold
			}
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		again, _, err := walkAll(sb.Bytes)
		if err != nil {
			t.Fatalf("re-reading our own output: %v", err)
		}
		if len(again) != len(frames) {
			t.Fatalf("round trip: %d frames, want %d", len(again), len(frames))
		}
		for i := range again {
			if !bytes.Equal(again[i].data, frames[i].data) {
				t.Fatalf("round trip: frame %d payload differs", i)
			}
		}
	})
}

func FuzzVP8Header(f *testing.F) {
	rng := rand.New(rand.NewSource(3))
	f.Add(testmedia.SynthVP8(rng, true, 320, 240, 40), int64(40))
	f.Add(testmedia.SynthVP8(rng, false, 0, 0, 40), int64(40))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		h, err := mux.ParseVP8Header(b, size)
		if err != nil {
			return
		}
		if h.Key && (h.Width == 0 || h.Height == 0 || h.Width > 16383 || h.Height > 16383) {
			t.Fatalf("ParseVP8Header accepted key frame %dx%d", h.Width, h.Height)
		}
		if size >= 0 && int64(h.FirstPartSize) > size {
			t.Fatalf("first partition %d > frame %d accepted", h.FirstPartSize, size)
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpus from files made
// by ffmpeg when RECKIT_WRITE_SEEDS is set (go test -run TestWriteFuzzSeeds).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("RECKIT_WRITE_SEEDS") == "" {
		t.Log("set RECKIT_WRITE_SEEDS=1 to regenerate testdata/fuzz/FuzzReader")
		return
	}
	testmedia.Require(t, "ffmpeg")
	dir := t.TempDir()
	out := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range []testmedia.Spec{
		{Width: 32, Height: 24, FPS: 5, Seconds: 1, Bitrate: "10k"},
		{Width: 32, Height: 24, FPS: 5, Seconds: 1, Bitrate: "10k", Pipe: true, Live: true},
		{Width: 32, Height: 24, FPS: 5, Seconds: 1, Bitrate: "10k", Opus: true},
	} {
		data, err := os.ReadFile(testmedia.FFmpegWebM(t, dir, s))
		if err != nil {
			t.Fatal(err)
		}
		seed := "go test fuzz v1\n[]byte(" + quoteBytes(data) + ")\n"
		if err := os.WriteFile(filepath.Join(out, "ffmpeg-"+string(rune('a'+i))), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func quoteBytes(b []byte) string {
	var s bytes.Buffer
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			s.WriteString("\\x")
			s.WriteByte("0123456789abcdef"[c>>4])
			s.WriteByte("0123456789abcdef"[c&15])
		}
	}
	s.WriteByte('"')
	return s.String()
}
