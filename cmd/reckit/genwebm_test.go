package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdGenwebm implements "genwebm FILE [flags]": a fixture made by reckit's
// own mux writer with synthetic VP8 frames (valid frame tags and key-frame
// headers, seeded random payload), a fixed clock and SegmentUID. The
// container is real; the pictures are not decodable.
//
//	-frames N     frames (default 30)
//	-fps N        frame rate (default 10)
//	-size WxH     coded size (default 320x240)
//	-keyint N     a key frame every N frames (default 10)
//	-resize N     from frame N on, key frames at double the size
//	-live         the live layout: unknown sizes, no SeekHead or Duration
//	-cut N        keep only the first N bytes (a file cut short)
//	-seed N       payload seed (default 1)
//	-tag K=V      a global tag (repeatable)
func cmdGenwebm(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! genwebm")
	}
	fs := flag.NewFlagSet("genwebm", flag.ContinueOnError)
	frames := fs.Int("frames", 30, "")
	fps := fs.Int("fps", 10, "")
	size := fs.String("size", "320x240", "")
	keyint := fs.Int("keyint", 10, "")
	resize := fs.Int("resize", -1, "")
	live := fs.Bool("live", false, "")
	cut := fs.Int64("cut", -1, "")
	seed := fs.Int64("seed", 1, "")
	var tags []mux.SimpleTag
	fs.Func("tag", "", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want K=V")
		}
		tags = append(tags, mux.SimpleTag{Name: k, Value: v})
		return nil
	})
	if len(args) < 1 {
		ts.Fatalf("usage: genwebm FILE [flags]")
	}
	if err := fs.Parse(args[1:]); err != nil {
		ts.Fatalf("genwebm: %v", err)
	}
	w, h, err := parseWxH(*size)
	if err != nil {
		ts.Fatalf("genwebm: -size: %v", err)
	}
	var buf seekBuffer
	var out io.Writer = &buf
	if *live {
		out = struct{ io.Writer }{&buf}
	}
	mw, err := mux.NewWriter(out, mux.WriterOptions{Width: w, Height: h,
		FrameDuration: time.Second / time.Duration(*fps), Title: "genwebm",
		DateUTC: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), SegmentUID: bytes.Repeat([]byte{0x5a}, 16), Tags: tags})
	if err != nil {
		ts.Fatalf("genwebm: %v", err)
	}
	rng := rand.New(rand.NewSource(*seed))
	for i := 0; i < *frames; i++ {
		key := i%*keyint == 0
		fw, fh := w, h
		if *resize >= 0 && i >= *resize {
			fw, fh = 2*w, 2*h
			key = key || i == *resize
		}
		f := synthVP8(rng, key, fw, fh, 200+rng.Intn(800))
		if err := mw.WriteFrame(time.Duration(i)*time.Second/time.Duration(*fps), key, f); err != nil {
			ts.Fatalf("genwebm: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		ts.Fatalf("genwebm: %v", err)
	}
	data := buf.b
	if *cut >= 0 && *cut < int64(len(data)) {
		data = data[:*cut]
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), data, 0o644); err != nil {
		ts.Fatalf("genwebm: %v", err)
	}
}

// synthVP8 returns a frame with a valid VP8 frame tag (RFC 6386 9.1) and,
// for key frames, the start code and size, followed by random bytes.
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

// seekBuffer is an in-memory io.WriteSeeker.
type seekBuffer struct {
	b   []byte
	pos int64
}

func (s *seekBuffer) Write(p []byte) (int, error) {
	if end := s.pos + int64(len(p)); end > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, end-int64(len(s.b)))...)
	}
	copy(s.b[s.pos:], p)
	s.pos += int64(len(p))
	return len(p), nil
}

func (s *seekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		s.pos = off
	case io.SeekCurrent:
		s.pos += off
	case io.SeekEnd:
		s.pos = int64(len(s.b)) + off
	}
	return s.pos, nil
}
