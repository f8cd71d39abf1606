package record

import (
	"fmt"
	"image"
	"testing"
)

// srcSolid returns a w x h picture of one colour in format f.
func srcSolid(w, h int, f PixelFormat, r, g, b uint32) []byte {
	bpp := f.BytesPerPixel
	pix := uint32(0)
	pix |= (r * f.RMax / 255) << f.RShift
	pix |= (g * f.GMax / 255) << f.GShift
	pix |= (b * f.BMax / 255) << f.BShift
	buf := make([]byte, w*h*bpp)
	for i := 0; i < w*h; i++ {
		for k := 0; k < bpp; k++ {
			shift := 8 * k
			if f.BigEndian {
				shift = 8 * (bpp - 1 - k)
			}
			buf[i*bpp+k] = byte(pix >> shift)
		}
	}
	return buf
}

func TestRGBToYCbCrColours(t *testing.T) {
	// BT.601 limited range, rounded: Y = 16 + 219*(0.299R+0.587G+0.114B)/255,
	// Cb = 128 + 224*(B-Y')/1.772/255, Cr = 128 + 224*(R-Y')/1.402/255.
	tests := []struct {
		name      string
		r, g, b   uint32
		y, cb, cr uint8
	}{
		{"black", 0, 0, 0, 16, 128, 128},
		{"white", 255, 255, 255, 235, 128, 128},
		{"grey", 128, 128, 128, 126, 128, 128},
		{"red", 255, 0, 0, 81, 90, 240},
		{"green", 0, 255, 0, 145, 54, 34},
		{"blue", 0, 0, 255, 41, 240, 110},
		{"yellow", 255, 255, 0, 210, 16, 146},
	}
	formats := []struct {
		name string
		f    PixelFormat
	}{
		{"rgba", FormatRGBA},
		{"bgra", FormatBGRA},
		{"rgb24", FormatRGB24},
		{"xrgb big-endian", PixelFormat{BytesPerPixel: 4, BigEndian: true, RShift: 16, GShift: 8, BShift: 0, RMax: 255, GMax: 255, BMax: 255}},
		{"rgb888 shifted 2", PixelFormat{BytesPerPixel: 4, RShift: 2, GShift: 10, BShift: 18, RMax: 255, GMax: 255, BMax: 255}},
	}
	for _, fm := range formats {
		for _, tc := range tests {
			t.Run(fm.name+"/"+tc.name, func(t *testing.T) {
				img := image.NewYCbCr(image.Rect(0, 0, 5, 3), image.YCbCrSubsampleRatio420)
				src := srcSolid(5, 3, fm.f, tc.r, tc.g, tc.b)
				RGBToYCbCr(img, src, 5*fm.f.BytesPerPixel, fm.f, img.Rect)
				for i, v := range img.Y {
					if v != tc.y {
						t.Fatalf("Y[%d] of (%d,%d,%d) = %d, want %d", i, tc.r, tc.g, tc.b, v, tc.y)
					}
				}
				for i := range img.Cb {
					if img.Cb[i] != tc.cb || img.Cr[i] != tc.cr {
						t.Fatalf("CbCr[%d] of (%d,%d,%d) = %d,%d, want %d,%d", i, tc.r, tc.g, tc.b, img.Cb[i], img.Cr[i], tc.cb, tc.cr)
					}
				}
			})
		}
	}
}

func TestRGBToYCbCrRGB565(t *testing.T) {
	f := PixelFormat{BytesPerPixel: 2, RShift: 11, GShift: 5, BShift: 0, RMax: 31, GMax: 63, BMax: 31}
	img := image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio420)
	// pure red in RGB565 is 0xf800, little-endian bytes 00 f8
	src := srcSolid(2, 2, f, 255, 0, 0)
	if src[0] != 0x00 || src[1] != 0xf8 {
		t.Fatalf("srcSolid(rgb565 red) = % x, want 00 f8", src[:2])
	}
	RGBToYCbCr(img, src, 4, f, img.Rect)
	if img.Y[0] != 81 || img.Cb[0] != 90 || img.Cr[0] != 240 {
		t.Errorf("RGB565 red = %d,%d,%d, want 81,90,240", img.Y[0], img.Cb[0], img.Cr[0])
	}
}

func TestRGBToYCbCrChromaAverage(t *testing.T) {
	// 3x3 picture: chroma blocks of 4, 2 (right edge), 2 (bottom edge) and 1
	// pixel. Each pixel is grey except the ones that make a block's average
	// a known colour.
	tests := []struct {
		name   string
		w, h   int
		px     map[image.Point][3]uint32
		block  image.Point
		cb, cr uint8
	}{
		// 2 of 4 pixels blue, 2 black: average (0,0,127.5) -> Cb = 128+56 = 184
		{"full block", 3, 3, map[image.Point][3]uint32{{0, 0}: {0, 0, 255}, {1, 1}: {0, 0, 255}, {1, 0}: {0, 0, 0}, {0, 1}: {0, 0, 0}}, image.Pt(0, 0), 184, 119},
		// right edge block of pixels (2,0),(2,1): one red one black
		{"right edge", 3, 3, map[image.Point][3]uint32{{2, 0}: {255, 0, 0}, {2, 1}: {0, 0, 0}}, image.Pt(1, 0), 109, 184},
		// corner block has only (2,2)
		{"corner", 3, 3, map[image.Point][3]uint32{{2, 2}: {0, 255, 0}}, image.Pt(1, 1), 54, 34},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := srcSolid(tc.w, tc.h, FormatRGB24, 128, 128, 128)
			for p, c := range tc.px {
				o := (p.Y*tc.w + p.X) * 3
				src[o], src[o+1], src[o+2] = byte(c[0]), byte(c[1]), byte(c[2])
			}
			img := image.NewYCbCr(image.Rect(0, 0, tc.w, tc.h), image.YCbCrSubsampleRatio420)
			RGBToYCbCr(img, src, tc.w*3, FormatRGB24, img.Rect)
			co := img.COffset(2*tc.block.X, 2*tc.block.Y)
			if img.Cb[co] != tc.cb || img.Cr[co] != tc.cr {
				t.Errorf("chroma of block %v = %d,%d, want %d,%d", tc.block, img.Cb[co], img.Cr[co], tc.cb, tc.cr)
			}
		})
	}
}

func TestRGBToYCbCrRectOnly(t *testing.T) {
	const w, h = 16, 12
	tests := []struct {
		name string
		r    image.Rectangle
		want image.Rectangle // the luma area that must be written (r widened to even)
	}{
		{"aligned", image.Rect(2, 2, 6, 8), image.Rect(2, 2, 6, 8)},
		{"odd corners", image.Rect(3, 5, 9, 8), image.Rect(2, 4, 10, 8)},
		{"one pixel", image.Rect(7, 7, 8, 8), image.Rect(6, 6, 8, 8)},
		{"clipped", image.Rect(-5, 9, 40, 40), image.Rect(0, 8, 16, 12)},
		{"outside", image.Rect(20, 20, 30, 30), image.Rectangle{}},
	}
	src := srcSolid(w, h, FormatRGBA, 255, 255, 255)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
			for i := range img.Y {
				img.Y[i] = 7
			}
			for i := range img.Cb {
				img.Cb[i], img.Cr[i] = 7, 7
			}
			RGBToYCbCr(img, src, 4*w, FormatRGBA, tc.r)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					want := uint8(7)
					if image.Pt(x, y).In(tc.want) {
						want = 235
					}
					if got := img.Y[img.YOffset(x, y)]; got != want {
						t.Fatalf("RGBToYCbCr(%v): Y(%d,%d) = %d, want %d", tc.r, x, y, got, want)
					}
					wantC := uint8(7)
					if image.Pt(x, y).In(tc.want) {
						wantC = 128
					}
					if got := img.Cb[img.COffset(x, y)]; got != wantC {
						t.Fatalf("RGBToYCbCr(%v): Cb at (%d,%d) = %d, want %d", tc.r, x, y, got, wantC)
					}
				}
			}
		})
	}
}

// TestRGBToYCbCrPackedMatchesBytes checks the generic per-pixel path
// against the byte fast path on a busy picture with odd size and offset
// origin.
func TestRGBToYCbCrPackedMatchesBytes(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {7, 5}, {33, 17}} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rect := image.Rect(3, 1, 3+size.X, 1+size.Y)
			src := make([]byte, size.X*size.Y*4)
			for i := range src {
				src[i] = byte(i*37 + i/3)
			}
			a := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
			b := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
			r := rect
			r.Min.X &^= 1
			r.Min.Y &^= 1
			r.Max.X = (r.Max.X + 1) &^ 1
			r.Max.Y = (r.Max.Y + 1) &^ 1
			r = r.Intersect(rect)
			convertBytes(a, src, size.X*4, 4, 2, 1, 0, r)
			convertPacked(b, src, size.X*4, FormatBGRA, r)
			if string(a.Y) != string(b.Y) || string(a.Cb) != string(b.Cb) || string(a.Cr) != string(b.Cr) {
				t.Errorf("convertPacked(%v) differs from convertBytes: Y %v vs %v", size, b.Y, a.Y)
			}
		})
	}
}

func TestPixelFormatValidate(t *testing.T) {
	tests := []struct {
		name string
		f    PixelFormat
		ok   bool
	}{
		{"rgba", FormatRGBA, true},
		{"rgb565", PixelFormat{BytesPerPixel: 2, RShift: 11, GShift: 5, RMax: 31, GMax: 63, BMax: 31}, true},
		{"zero", PixelFormat{}, false},
		{"5 bytes", PixelFormat{BytesPerPixel: 5, RMax: 255, GMax: 255, BMax: 255}, false},
		{"max not 2^n-1", PixelFormat{BytesPerPixel: 4, RMax: 200, GMax: 255, BMax: 255}, false},
		{"outside pixel", PixelFormat{BytesPerPixel: 3, RShift: 20, RMax: 255, GMax: 255, BMax: 255}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v", tc.f, err, tc.ok)
			}
		})
	}
}

func BenchmarkRGBToYCbCr1080p(b *testing.B) {
	for _, fm := range []struct {
		name string
		f    PixelFormat
	}{{"rgba", FormatRGBA}, {"bgra", FormatBGRA}, {"rgb24", FormatRGB24}, {"rgb565", PixelFormat{BytesPerPixel: 2, RShift: 11, GShift: 5, RMax: 31, GMax: 63, BMax: 31}}} {
		b.Run(fm.name, func(b *testing.B) {
			const w, h = 1920, 1080
			src := make([]byte, w*h*fm.f.BytesPerPixel)
			for i := range src {
				src[i] = byte(i * 7)
			}
			img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				RGBToYCbCr(img, src, w*fm.f.BytesPerPixel, fm.f, img.Rect)
			}
		})
	}
}
