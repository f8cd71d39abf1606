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

	"github.com/reckit/reckit/internal/testmedia"
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
	var buf testmedia.SeekBuffer
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
		f := testmedia.SynthVP8(rng, key, fw, fh, 200+rng.Intn(800))
		if err := mw.WriteFrame(time.Duration(i)*time.Second/time.Duration(*fps), key, f); err != nil {
			ts.Fatalf("genwebm: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		ts.Fatalf("genwebm: %v", err)
	}
	data := buf.Bytes
	if *cut >= 0 && *cut < int64(len(data)) {
		data = data[:*cut]
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), data, 0o644); err != nil {
		ts.Fatalf("genwebm: %v", err)
	}
}
