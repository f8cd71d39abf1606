package vp8enc

// This file implements the normal loop filter of RFC 6386, section 15,
// applied to the reconstruction exactly as a decoder applies it.

// filterParams are the per-level thresholds of section 15.2 with
// sharpness 0.
type filterParams struct {
	mbLimit, subLimit, interior, hevThresh int32
}

func newFilterParams(level int, key bool) filterParams {
	interior := int32(max(level, 1))
	p := filterParams{
		mbLimit:  (int32(level)+2)*2 + interior,
		subLimit: int32(level)*2 + interior,
		interior: interior,
	}
	switch {
	case level >= 40:
		p.hevThresh = 2
	case level >= 15:
		p.hevThresh = 1
	}
	if !key {
		switch {
		case level >= 40:
			p.hevThresh = 3
		case level >= 20:
			p.hevThresh = 2
		case level >= 15:
			p.hevThresh = 1
		default:
			p.hevThresh = 0
		}
	}
	return p
}

// s8 converts a pixel to the signed representation of section 15.2, and u8
// converts back.
func s8(v byte) int32 { return int32(v) - 128 }
func u8(v int32) byte { return byte(clampS8(v) + 128) }

// clampS8 clamps to the signed 8-bit range (the c() of section 15.2).
func clampS8(v int32) int32 {
	if v < -128 {
		return -128
	}
	if v > 127 {
		return 127
	}
	return v
}

func absDiff(a, b byte) int32 {
	if a > b {
		return int32(a - b)
	}
	return int32(b - a)
}

// edgeFilter filters n positions along one edge. At position i the pixels
// across the edge are pix[o+k*step] for k = -4..3, where o = off+i*along.
type edgeFilter struct {
	pix        []byte
	off, along int
	step       int
	n          int
	limit      int32
	p          *filterParams
	macroblock bool // the macroblock-edge variant of section 15.3
}

func (f *edgeFilter) run() {
	pix, s := f.pix, f.step
	for i := 0; i < f.n; i++ {
		o := f.off + i*f.along
		p3, p2, p1, p0 := pix[o-4*s], pix[o-3*s], pix[o-2*s], pix[o-s]
		q0, q1, q2, q3 := pix[o], pix[o+s], pix[o+2*s], pix[o+3*s]
		// filter_yes of section 15.3. The reference decoder weighs
		// |p1-q1| by 1/2 (the RFC's text prints >>2; decoders use >>1).
		if absDiff(p0, q0)*2+absDiff(p1, q1)>>1 > f.limit {
			continue
		}
		in := f.p.interior
		if absDiff(p3, p2) > in || absDiff(p2, p1) > in || absDiff(p1, p0) > in ||
			absDiff(q3, q2) > in || absDiff(q2, q1) > in || absDiff(q1, q0) > in {
			continue
		}
		hev := absDiff(p1, p0) > f.p.hevThresh || absDiff(q1, q0) > f.p.hevThresh
		sp2, sp1, sp0 := s8(p2), s8(p1), s8(p0)
		sq0, sq1, sq2 := s8(q0), s8(q1), s8(q2)
		if f.macroblock {
			if hev {
				commonAdjust(true, pix, o, s)
				continue
			}
			w := clampS8(clampS8(sp1-sq1) + 3*(sq0-sp0))
			a := clampS8((27*w + 63) >> 7)
			pix[o] = u8(sq0 - a)
			pix[o-s] = u8(sp0 + a)
			a = clampS8((18*w + 63) >> 7)
			pix[o+s] = u8(sq1 - a)
			pix[o-2*s] = u8(sp1 + a)
			a = clampS8((9*w + 63) >> 7)
			pix[o+2*s] = u8(sq2 - a)
			pix[o-3*s] = u8(sp2 + a)
			continue
		}
		a := (commonAdjust(hev, pix, o, s) + 1) >> 1
		if !hev {
			pix[o+s] = u8(sq1 - a)
			pix[o-2*s] = u8(sp1 + a)
		}
	}
}

// commonAdjust is the common_adjust of section 15.2: it moves p0 and q0
// towards each other and returns the filter value a.
func commonAdjust(outerTaps bool, pix []byte, o, s int) int32 {
	p1, p0, q0, q1 := s8(pix[o-2*s]), s8(pix[o-s]), s8(pix[o]), s8(pix[o+s])
	var a int32
	if outerTaps {
		a = clampS8(p1 - q1)
	}
	a = clampS8(a + 3*(q0-p0))
	b := clampS8(a+3) >> 3
	a = clampS8(a+4) >> 3
	pix[o] = u8(q0 - a)
	pix[o-s] = u8(p0 + b)
	return a
}

// loopFilter applies the normal loop filter to e.rec in macroblock order
// (section 15.1): per macroblock the left edge, the inner vertical edges,
// the top edge, then the inner horizontal edges. Inner edges are skipped
// for macroblocks without coefficients, except B_PRED ones. Zero-motion macroblocks have level
// 0 through the mode delta written in the frame header, so they are not
// filtered at all.
func (e *Encoder) loopFilter(key bool) {
	p := newFilterParams(e.filterLevel, key)
	for mby := 0; mby < e.mbh; mby++ {
		for mbx := 0; mbx < e.mbw; mbx++ {
			info := &e.mbs[mby*e.mbw+mbx]
			if info.inter {
				continue
			}
			yo := mby*16*e.yStride + mbx*16
			co := mby*8*e.cStride + mbx*8
			planes := [3]struct {
				pix    []byte
				off    int
				stride int
				n      int
			}{{e.rec.y, yo, e.yStride, 16}, {e.rec.u, co, e.cStride, 8}, {e.rec.v, co, e.cStride, 8}}
			if mbx > 0 {
				for _, pl := range planes {
					f := edgeFilter{pix: pl.pix, off: pl.off, along: pl.stride, step: 1, n: pl.n, limit: p.mbLimit, p: &p, macroblock: true}
					f.run()
				}
			}
			inner := !info.skip || info.ymode == modeB
			if inner {
				for _, pl := range planes {
					for x := 4; x < pl.n; x += 4 {
						f := edgeFilter{pix: pl.pix, off: pl.off + x, along: pl.stride, step: 1, n: pl.n, limit: p.subLimit, p: &p}
						f.run()
					}
				}
			}
			if mby > 0 {
				for _, pl := range planes {
					f := edgeFilter{pix: pl.pix, off: pl.off, along: 1, step: pl.stride, n: pl.n, limit: p.mbLimit, p: &p, macroblock: true}
					f.run()
				}
			}
			if inner {
				for _, pl := range planes {
					for y := 4; y < pl.n; y += 4 {
						f := edgeFilter{pix: pl.pix, off: pl.off + y*pl.stride, along: 1, step: pl.stride, n: pl.n, limit: p.subLimit, p: &p}
						f.run()
					}
				}
			}
		}
	}
}
