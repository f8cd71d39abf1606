package vp8enc

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/vp8"
)

// pattern fills a 4:2:0 image of the given kind. frame moves the content of
// kinds that animate.
func pattern(kind string, w, h, frame int, seed uint64) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(seed, uint64(frame)))
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var v int
			switch kind {
			case "flat":
				v = 200
			case "gradient":
				v = (x*255/max(w, 1) + y*255/max(h, 1)) / 2
			case "noise":
				v = rng.IntN(256)
			case "text":
				v = textPixel(x, y, frame)
			case "camera":
				v = cameraPixel(x, y, frame)
			}
			img.Y[y*img.YStride+x] = byte(v)
		}
	}
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			var u, v int
			switch kind {
			case "flat":
				u, v = 100, 150
			case "gradient":
				u, v = x*255/max(cw, 1), y*255/max(ch, 1)
			case "noise":
				u, v = rng.IntN(256), rng.IntN(256)
			case "text":
				u, v = 128, 128
				if (x/40+y/30)%3 == 0 {
					u, v = 150, 110
				}
			case "camera":
				u = 128 + int(60*math.Sin(float64(x+frame)/9))
				v = 128 + int(60*math.Cos(float64(y-frame)/7))
			}
			img.Cb[y*img.CStride+x] = byte(u)
			img.Cr[y*img.CStride+x] = byte(v)
		}
	}
	return img
}

// textPixel draws a screen-like picture: flat windows with a title bar and
// rows of glyphs built from strokes (each glyph a few horizontal and
// vertical bars chosen by a hash of its position).
func textPixel(x, y, frame int) int {
	if y%240 < 20 {
		return 60 // title bar
	}
	if x%320 < 2 || y%240 < 22 {
		return 30 // window border
	}
	row, col := (y%240-22)/14, x/8
	gx, gy := x%8, (y%240-22)%14
	if row >= 12 || gx >= 6 || gy >= 10 || (row*31+col*17+frame/4)%7 == 0 {
		return 235 // paper
	}
	h := uint32(row*1000003+col*7919) * 2654435761
	h ^= h >> 13
	switch {
	case h&1 != 0 && gx == int(h>>1&3): // vertical stroke
		return 16
	case h&32 != 0 && gx == 5-int(h>>6&1): // right vertical stroke
		return 16
	case gy == int(h>>8&7)+1 && gx > 0: // horizontal stroke
		return 16
	case h&(1<<12) != 0 && gy == 9: // baseline stroke
		return 16
	}
	return 235
}

// cameraPixel is a smooth, textured, moving picture.
func cameraPixel(x, y, frame int) int {
	fx, fy := float64(x+3*frame), float64(y+frame)
	v := 128 + 50*math.Sin(fx/13)*math.Cos(fy/17) + 30*math.Sin((fx+fy)/5) + 20*math.Sin(fx*fy/900)
	return int(math.Max(0, math.Min(255, v)))
}

// decodeKey decodes a key frame with golang.org/x/image/vp8.
func decodeKey(t testing.TB, frame []byte) *image.YCbCr {
	t.Helper()
	d := vp8.NewDecoder()
	d.Init(bytes.NewReader(frame), len(frame))
	if _, err := d.DecodeFrameHeader(); err != nil {
		t.Fatalf("vp8.DecodeFrameHeader() = %v, want nil", err)
	}
	img, err := d.DecodeFrame()
	if err != nil {
		t.Fatalf("vp8.DecodeFrame() = %v, want nil", err)
	}
	return img
}

// diffYCbCr describes the first difference between the visible areas of a
// and b, or returns "".
func diffYCbCr(a, b *image.YCbCr) string {
	if a.Rect.Size() != b.Rect.Size() {
		return fmt.Sprintf("size %v vs %v", a.Rect.Size(), b.Rect.Size())
	}
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			va := a.Y[a.YOffset(a.Rect.Min.X+x, a.Rect.Min.Y+y)]
			vb := b.Y[b.YOffset(b.Rect.Min.X+x, b.Rect.Min.Y+y)]
			if va != vb {
				return fmt.Sprintf("Y(%d,%d) = %d vs %d", x, y, va, vb)
			}
		}
	}
	for y := 0; y < (h+1)/2; y++ {
		for x := 0; x < (w+1)/2; x++ {
			oa := a.COffset(a.Rect.Min.X+2*x, a.Rect.Min.Y+2*y)
			ob := b.COffset(b.Rect.Min.X+2*x, b.Rect.Min.Y+2*y)
			if a.Cb[oa] != b.Cb[ob] {
				return fmt.Sprintf("Cb(%d,%d) = %d vs %d", x, y, a.Cb[oa], b.Cb[ob])
			}
			if a.Cr[oa] != b.Cr[ob] {
				return fmt.Sprintf("Cr(%d,%d) = %d vs %d", x, y, a.Cr[oa], b.Cr[ob])
			}
		}
	}
	return ""
}

// psnr is the PSNR in dB over all three planes of the visible area.
func psnr(a, b *image.YCbCr) float64 {
	var sse, n float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := float64(a.Y[a.YOffset(a.Rect.Min.X+x, a.Rect.Min.Y+y)]) - float64(b.Y[b.YOffset(b.Rect.Min.X+x, b.Rect.Min.Y+y)])
			sse += d * d
			n++
		}
	}
	for y := 0; y < (h+1)/2; y++ {
		for x := 0; x < (w+1)/2; x++ {
			oa := a.COffset(a.Rect.Min.X+2*x, a.Rect.Min.Y+2*y)
			ob := b.COffset(b.Rect.Min.X+2*x, b.Rect.Min.Y+2*y)
			d := float64(a.Cb[oa]) - float64(b.Cb[ob])
			sse += d * d
			d = float64(a.Cr[oa]) - float64(b.Cr[ob])
			sse += d * d
			n += 2
		}
	}
	if sse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255*n/sse)
}
