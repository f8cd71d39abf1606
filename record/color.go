package record

import (
	"fmt"
	"image"
)

// PixelFormat describes a packed RGB pixel of 1 to 4 bytes: the pixel is
// read as an unsigned integer (little-endian unless BigEndian) and each
// channel is (pixel >> Shift) & Max, scaled from 0..Max to 0..255. This
// covers byte-order formats (FormatRGBA, FormatBGRA, FormatRGB24) and the
// RFB true-colour pixel formats (RFC 6143 section 7.4), e.g. RGB565 as
// {2, false, 11, 5, 0, 31, 63, 31}. Any alpha or padding bits are ignored.
type PixelFormat struct {
	BytesPerPixel          int
	BigEndian              bool
	RShift, GShift, BShift uint
	RMax, GMax, BMax       uint32
}

// Byte-order formats: the bytes of one pixel in memory, first to last.
var (
	FormatRGBA  = PixelFormat{BytesPerPixel: 4, RShift: 0, GShift: 8, BShift: 16, RMax: 255, GMax: 255, BMax: 255}
	FormatBGRA  = PixelFormat{BytesPerPixel: 4, RShift: 16, GShift: 8, BShift: 0, RMax: 255, GMax: 255, BMax: 255}
	FormatRGB24 = PixelFormat{BytesPerPixel: 3, RShift: 0, GShift: 8, BShift: 16, RMax: 255, GMax: 255, BMax: 255}
)

// ParsePixelFormat maps a name (rgba, bgra, rgb24) to its format.
func ParsePixelFormat(name string) (PixelFormat, error) {
	switch name {
	case "rgba":
		return FormatRGBA, nil
	case "bgra":
		return FormatBGRA, nil
	case "rgb24":
		return FormatRGB24, nil
	}
	return PixelFormat{}, fmt.Errorf("%w: pixel format %q (want rgba, bgra or rgb24)", ErrBadOption, name)
}

// Validate reports whether the format can be converted: 1 to 4 bytes per
// pixel, each channel 1 to 16 bits wide (Max one less than a power of
// two) and lying inside the pixel.
func (f PixelFormat) Validate() error {
	if f.BytesPerPixel < 1 || f.BytesPerPixel > 4 {
		return fmt.Errorf("%w: %d bytes per pixel", ErrBadOption, f.BytesPerPixel)
	}
	bits := uint(f.BytesPerPixel * 8)
	for _, c := range [3]struct {
		shift uint
		max   uint32
	}{{f.RShift, f.RMax}, {f.GShift, f.GMax}, {f.BShift, f.BMax}} {
		if c.max == 0 || c.max > 0xffff || c.max&(c.max+1) != 0 {
			return fmt.Errorf("%w: channel max %d is not 2^n-1", ErrBadOption, c.max)
		}
		w := uint(0)
		for m := c.max; m != 0; m >>= 1 {
			w++
		}
		if c.shift+w > bits {
			return fmt.Errorf("%w: channel at shift %d width %d outside a %d-bit pixel", ErrBadOption, c.shift, w, bits)
		}
	}
	return nil
}

// byteOffsets returns the byte positions of R, G and B when every channel
// is a whole byte.
func (f PixelFormat) byteOffsets() (r, g, b int, ok bool) {
	if f.RMax != 255 || f.GMax != 255 || f.BMax != 255 || f.RShift%8 != 0 || f.GShift%8 != 0 || f.BShift%8 != 0 {
		return 0, 0, 0, false
	}
	off := func(shift uint) int {
		if f.BigEndian {
			return f.BytesPerPixel - 1 - int(shift/8)
		}
		return int(shift / 8)
	}
	return off(f.RShift), off(f.GShift), off(f.BShift), true
}

// BT.601 limited-range coefficients (ITU-R BT.601 luma weights
// 0.299/0.587/0.114, Y scaled to 16..235, Cb/Cr to 16..240), times 2^16.
// Each chroma row sums to zero, so grey maps to exactly 128.
const (
	yR, yG, yB    = 16829, 33039, 6416
	cbR, cbG, cbB = -9714, -19070, 28784
	crR, crG, crB = 28784, -24103, -4681
)

// RGBToYCbCr converts the rectangle r of the packed RGB picture src into
// dst, which must use SubsampleRatio420. The pixel at (x, y) of dst is read
// from src[(y-dst.Rect.Min.Y)*stride + (x-dst.Rect.Min.X)*format.BytesPerPixel].
//
// r is clipped to dst.Rect and widened to whole 2x2 chroma blocks, so the
// work is proportional to r's area. Y uses BT.601 limited-range integer
// arithmetic; each chroma sample is computed from the average colour of its
// 2x2 block (1 or 2 pixels at odd right and bottom edges). It allocates
// nothing. It panics if dst is not 4:2:0, format is invalid or src is too
// short.
func RGBToYCbCr(dst *image.YCbCr, src []byte, stride int, format PixelFormat, r image.Rectangle) {
	if dst.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		panic("record: RGBToYCbCr: destination is not 4:2:0")
	}
	if err := format.Validate(); err != nil {
		panic("record: RGBToYCbCr: " + err.Error())
	}
	r = r.Intersect(dst.Rect)
	if r.Empty() {
		return
	}
	// Widen to the chroma grid (blocks start at even absolute coordinates).
	r.Min.X &^= 1
	r.Min.Y &^= 1
	r.Max.X = (r.Max.X + 1) &^ 1
	r.Max.Y = (r.Max.Y + 1) &^ 1
	r = r.Intersect(dst.Rect)
	if ro, gro, bo, ok := format.byteOffsets(); ok {
		convertBytes(dst, src, stride, format.BytesPerPixel, ro, gro, bo, r)
		return
	}
	convertPacked(dst, src, stride, format, r)
}

// convertBytes is the fast path for formats whose channels are whole bytes.
func convertBytes(dst *image.YCbCr, src []byte, stride, bpp, ro, gro, bo int, r image.Rectangle) {
	minX, minY := dst.Rect.Min.X, dst.Rect.Min.Y
	w := r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		s0 := src[(y-minY)*stride+(r.Min.X-minX)*bpp:][:w*bpp]
		y0 := dst.Y[dst.YOffset(r.Min.X, y):][:w]
		var s1, y1 []byte
		if y+1 < r.Max.Y {
			s1 = src[(y+1-minY)*stride+(r.Min.X-minX)*bpp:][:w*bpp]
			y1 = dst.Y[dst.YOffset(r.Min.X, y+1):][:w]
		}
		co := dst.COffset(r.Min.X, y)
		n := (w + 1) / 2
		convertRows(y0, y1, dst.Cb[co:][:n], dst.Cr[co:][:n], s0, s1, bpp, ro, gro, bo)
	}
}

// convertRows converts one or two rows of pixels (s1 and y1 nil for a
// single bottom row) whose first pixel starts a chroma block.
func convertRows(y0, y1, cb, cr, s0, s1 []byte, bpp, ro, gro, bo int) {
	switch bpp {
	case 4:
		// Masked offsets let the compiler drop the bounds checks.
		ro, gro, bo = ro&3, gro&3, bo&3
		full := len(y0) / 2
		for c := 0; c < full; c++ {
			p := s0[8*c : 8*c+8 : 8*c+8]
			yy := y0[2*c : 2*c+2 : 2*c+2]
			r0, g0, b0 := int(p[ro]), int(p[gro]), int(p[bo])
			r1, g1, b1 := int(p[4+ro]), int(p[4+gro]), int(p[4+bo])
			yy[0] = luma(r0, g0, b0)
			yy[1] = luma(r1, g1, b1)
			sr, sg, sb, n := r0+r1, g0+g1, b0+b1, 2
			if s1 != nil {
				q := s1[8*c : 8*c+8 : 8*c+8]
				zz := y1[2*c : 2*c+2 : 2*c+2]
				r2, g2, b2 := int(q[ro]), int(q[gro]), int(q[bo])
				r3, g3, b3 := int(q[4+ro]), int(q[4+gro]), int(q[4+bo])
				zz[0] = luma(r2, g2, b2)
				zz[1] = luma(r3, g3, b3)
				sr, sg, sb, n = sr+r2+r3, sg+g2+g3, sb+b2+b3, 4
			}
			cb[c], cr[c] = chroma(sr, sg, sb, n)
		}
		if len(y0)%2 == 1 {
			convertTail(y0, y1, cb, cr, s0, s1, bpp, ro, gro, bo)
		}
	default:
		full := len(y0) / 2
		for c := 0; c < full; c++ {
			p := s0[2*bpp*c : 2*bpp*(c+1)]
			yy := y0[2*c : 2*c+2 : 2*c+2]
			r0, g0, b0 := int(p[ro]), int(p[gro]), int(p[bo])
			r1, g1, b1 := int(p[bpp+ro]), int(p[bpp+gro]), int(p[bpp+bo])
			yy[0] = luma(r0, g0, b0)
			yy[1] = luma(r1, g1, b1)
			sr, sg, sb, n := r0+r1, g0+g1, b0+b1, 2
			if s1 != nil {
				q := s1[2*bpp*c : 2*bpp*(c+1)]
				zz := y1[2*c : 2*c+2 : 2*c+2]
				r2, g2, b2 := int(q[ro]), int(q[gro]), int(q[bo])
				r3, g3, b3 := int(q[bpp+ro]), int(q[bpp+gro]), int(q[bpp+bo])
				zz[0] = luma(r2, g2, b2)
				zz[1] = luma(r3, g3, b3)
				sr, sg, sb, n = sr+r2+r3, sg+g2+g3, sb+b2+b3, 4
			}
			cb[c], cr[c] = chroma(sr, sg, sb, n)
		}
		if len(y0)%2 == 1 {
			convertTail(y0, y1, cb, cr, s0, s1, bpp, ro, gro, bo)
		}
	}
}

// convertTail converts the last, one pixel wide, column of chroma blocks.
func convertTail(y0, y1, cb, cr, s0, s1 []byte, bpp, ro, gro, bo int) {
	i := len(y0) - 1
	j := i * bpp
	r0, g0, b0 := int(s0[j+ro]), int(s0[j+gro]), int(s0[j+bo])
	y0[i] = luma(r0, g0, b0)
	sr, sg, sb, n := r0, g0, b0, 1
	if s1 != nil {
		r2, g2, b2 := int(s1[j+ro]), int(s1[j+gro]), int(s1[j+bo])
		y1[i] = luma(r2, g2, b2)
		sr, sg, sb, n = sr+r2, sg+g2, sb+b2, 2
	}
	cb[i/2], cr[i/2] = chroma(sr, sg, sb, n)
}

func luma(r, g, b int) uint8 {
	return uint8((yR*r + yG*g + yB*b + 16<<16 + 1<<15) >> 16)
}

// chroma converts the sum of n (1, 2 or 4) pixels to Cb and Cr.
func chroma(sr, sg, sb, n int) (uint8, uint8) {
	switch n {
	case 1:
		sr, sg, sb = sr<<2, sg<<2, sb<<2
	case 2:
		sr, sg, sb = sr<<1, sg<<1, sb<<1
	}
	cb := (cbR*sr + cbG*sg + cbB*sb + 128<<18 + 1<<17) >> 18
	cr := (crR*sr + crG*sg + crB*sb + 128<<18 + 1<<17) >> 18
	return uint8(cb), uint8(cr)
}

// packedChunk is how many pixels convertPacked unpacks at a time (even).
const packedChunk = 256

// convertPacked handles any valid PixelFormat: it unpacks chunks of two
// rows into RGBA on the stack and converts them with the fast path.
func convertPacked(dst *image.YCbCr, src []byte, stride int, f PixelFormat, r image.Rectangle) {
	bpp := f.BytesPerPixel
	minX, minY := dst.Rect.Min.X, dst.Rect.Min.Y
	var lut [3][256]uint8 // channel value -> 0..255, for channels up to 8 bits
	maxes := [3]uint32{f.RMax, f.GMax, f.BMax}
	shifts := [3]uint{f.RShift, f.GShift, f.BShift}
	for c, m := range maxes {
		if m <= 255 {
			for v := uint32(0); v <= m; v++ {
				lut[c][v] = uint8((v*255 + m/2) / m)
			}
		}
	}
	unpack := func(dst []byte, s []byte) {
		for i := 0; i < len(dst)/4; i++ {
			var p uint32
			o := i * bpp
			if f.BigEndian {
				for k := 0; k < bpp; k++ {
					p = p<<8 | uint32(s[o+k])
				}
			} else {
				for k := bpp - 1; k >= 0; k-- {
					p = p<<8 | uint32(s[o+k])
				}
			}
			for c := 0; c < 3; c++ {
				v := p >> shifts[c] & maxes[c]
				if maxes[c] <= 255 {
					dst[4*i+c] = lut[c][v]
				} else {
					dst[4*i+c] = uint8((v*255 + maxes[c]/2) / maxes[c])
				}
			}
		}
	}
	var t0, t1 [4 * packedChunk]byte
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		two := y+1 < r.Max.Y
		for x := r.Min.X; x < r.Max.X; x += packedChunk {
			w := min(packedChunk, r.Max.X-x)
			s0 := src[(y-minY)*stride+(x-minX)*bpp:][:w*bpp]
			unpack(t0[:4*w], s0)
			y0 := dst.Y[dst.YOffset(x, y):][:w]
			var q1, y1 []byte
			if two {
				s1 := src[(y+1-minY)*stride+(x-minX)*bpp:][:w*bpp]
				unpack(t1[:4*w], s1)
				q1 = t1[:4*w]
				y1 = dst.Y[dst.YOffset(x, y+1):][:w]
			}
			co := dst.COffset(x, y)
			n := (w + 1) / 2
			convertRows(y0, y1, dst.Cb[co:][:n], dst.Cr[co:][:n], t0[:4*w], q1, 4, 0, 1, 2)
		}
	}
}
