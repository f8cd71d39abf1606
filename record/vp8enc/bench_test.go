package vp8enc

import (
	"image"
	"testing"
)

func benchEncoder(b *testing.B) (*Encoder, *image.YCbCr, *image.YCbCr) {
	b.Helper()
	enc, err := New(1920, 1080, Options{})
	if err != nil {
		b.Fatal(err)
	}
	a := pattern("text", 1920, 1080, 0, 1)
	c := pattern("camera", 1920, 1080, 0, 1)
	// Warm up: the level buffers grow to their steady-state size.
	for _, img := range []*image.YCbCr{c, a, c, a} {
		if _, _, err := enc.Encode(img, nil, false); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := enc.Encode(a, nil, true); err != nil {
		b.Fatal(err)
	}
	return enc, a, c
}

func BenchmarkEncodeKey1080p(b *testing.B) {
	enc, a, _ := benchEncoder(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(a.Y) + len(a.Cb) + len(a.Cr)))
	n := 0
	for b.Loop() {
		f, _, err := enc.Encode(a, nil, true)
		if err != nil {
			b.Fatal(err)
		}
		n = len(f)
	}
	b.ReportMetric(float64(n), "frame-bytes")
}

func BenchmarkEncodeInterTyping1080p(b *testing.B) {
	enc, a, _ := benchEncoder(b)
	hints := []image.Rectangle{
		image.Rect(100, 500, 108, 512),
		image.Rect(1800, 20, 1900, 40),
		image.Rect(600, 900, 616, 916),
	}
	b.ReportAllocs()
	n, i := 0, 0
	for b.Loop() {
		// Alternate a glyph so that the hinted macroblocks really change.
		i++
		fillRect(a, hints[0], byte(i*37))
		fillRect(a, hints[2], byte(i*91))
		f, _, err := enc.Encode(a, hints, false)
		if err != nil {
			b.Fatal(err)
		}
		n = len(f)
	}
	b.ReportMetric(float64(n), "frame-bytes")
}

func BenchmarkEncodeInterFull1080p(b *testing.B) {
	enc, a, c := benchEncoder(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(a.Y) + len(a.Cb) + len(a.Cr)))
	n, i := 0, 0
	for b.Loop() {
		src := a
		if i%2 == 0 {
			src = c
		}
		i++
		f, _, err := enc.Encode(src, nil, false)
		if err != nil {
			b.Fatal(err)
		}
		n = len(f)
	}
	b.ReportMetric(float64(n), "frame-bytes")
}

// BenchmarkEncodeInterScroll1080p encodes a text page scrolling by 6 pixels
// per frame (the demo's scroll at 1080p), alternating between two
// positions so that every frame is a scroll.
func BenchmarkEncodeInterScroll1080p(b *testing.B) {
	enc, err := New(1920, 1080, Options{})
	if err != nil {
		b.Fatal(err)
	}
	canvas := pattern("text", 1920, 1080+12, 0, 1)
	frames := []*image.YCbCr{shiftedFrame(canvas, 1920, 1080, 0, 0), shiftedFrame(canvas, 1920, 1080, 0, 6)}
	hints := []image.Rectangle{image.Rect(0, 0, 1920, 1080)}
	for i := 0; i < 3; i++ {
		if _, _, err := enc.Encode(frames[i%2], hints, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	n, i := 0, 0
	for b.Loop() {
		i++
		f, _, err := enc.Encode(frames[i%2], hints, false)
		if err != nil {
			b.Fatal(err)
		}
		n = len(f)
	}
	b.ReportMetric(float64(n), "frame-bytes")
}
