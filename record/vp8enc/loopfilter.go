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
	d := int32(a) - int32(b)
	m := d >> 31
	return (d ^ m) - m
}

// filter8 filters one position across an edge (section 15.3 for a
// macroblock edge, 15.2 and 15.4 for a subblock edge): p3..p0 before the
// edge, q0..q3 after it. It returns the new p2, p1, p0, q0, q1, q2 and
// false when the position is left alone. Callers skip positions flat across
// the edge (p1 = p0 = q0 = q1), where every adjustment would be 0.
func (fp *filterParams) filter8(macroblock bool, limit int32, p3, p2, p1, p0, q0, q1, q2, q3 byte) (byte, byte, byte, byte, byte, byte, bool) {
	// filter_yes of section 15.3. The reference decoder weighs |p1-q1| by
	// 1/2 (the RFC's text prints >>2; decoders use >>1).
	if absDiff(p0, q0)*2+absDiff(p1, q1)>>1 > limit {
		return 0, 0, 0, 0, 0, 0, false
	}
	in := fp.interior
	if absDiff(p3, p2) > in || absDiff(p2, p1) > in || absDiff(p1, p0) > in ||
		absDiff(q3, q2) > in || absDiff(q2, q1) > in || absDiff(q1, q0) > in {
		return 0, 0, 0, 0, 0, 0, false
	}
	hev := absDiff(p1, p0) > fp.hevThresh || absDiff(q1, q0) > fp.hevThresh
	sp2, sp1, sp0 := s8(p2), s8(p1), s8(p0)
	sq0, sq1, sq2 := s8(q0), s8(q1), s8(q2)
	if hev || !macroblock {
		// common_adjust of section 15.2, with the outer taps when hev.
		var a int32
		if hev {
			a = clampS8(sp1 - sq1)
		}
		a = clampS8(a + 3*(sq0-sp0))
		b := clampS8(a+3) >> 3
		a = clampS8(a+4) >> 3
		q0, p0 = u8(sq0-a), u8(sp0+b)
		if !hev {
			// Subblock edge without high edge variance: p1 and q1 too.
			a = (a + 1) >> 1
			q1, p1 = u8(sq1-a), u8(sp1+a)
		}
		return p2, p1, p0, q0, q1, q2, true
	}
	w := clampS8(clampS8(sp1-sq1) + 3*(sq0-sp0))
	a := clampS8((27*w + 63) >> 7)
	q0, p0 = u8(sq0-a), u8(sp0+a)
	a = clampS8((18*w + 63) >> 7)
	q1, p1 = u8(sq1-a), u8(sp1+a)
	a = clampS8((9*w + 63) >> 7)
	q2, p2 = u8(sq2-a), u8(sp2+a)
	return p2, p1, p0, q0, q1, q2, true
}

// filterVertical filters the vertical edge left of column off of plane pix
// (stride s) over n rows.
func (fp *filterParams) filterVertical(pix []byte, off, s, n int, limit int32, macroblock bool) {
	for i := 0; i < n; i++ {
		o := off + i*s
		q := pix[o-4 : o+4 : o+4]
		if q[2] == q[3] && q[3] == q[4] && q[4] == q[5] {
			continue // flat: filter8 would change nothing
		}
		p2, p1, p0, q0, q1, q2, ok := fp.filter8(macroblock, limit, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7])
		if ok {
			q[1], q[2], q[3], q[4], q[5], q[6] = p2, p1, p0, q0, q1, q2
		}
	}
}

// filterHorizontal filters the horizontal edge above row off (an offset)
// of plane pix (stride s) over n columns.
func (fp *filterParams) filterHorizontal(pix []byte, off, s, n int, limit int32, macroblock bool) {
	r0, r1, r2, r3 := pix[off-4*s:][:n], pix[off-3*s:][:n], pix[off-2*s:][:n], pix[off-s:][:n]
	r4, r5, r6, r7 := pix[off:][:n], pix[off+s:][:n], pix[off+2*s:][:n], pix[off+3*s:][:n]
	for i := range r0 {
		if r2[i] == r3[i] && r3[i] == r4[i] && r4[i] == r5[i] {
			continue // flat: filter8 would change nothing
		}
		p2, p1, p0, q0, q1, q2, ok := fp.filter8(macroblock, limit, r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i], r7[i])
		if ok {
			r1[i], r2[i], r3[i], r4[i], r5[i], r6[i] = p2, p1, p0, q0, q1, q2
		}
	}
}

// loopFilter applies the normal loop filter to e.rec in macroblock order
// (section 15.1): per macroblock the left edge, the inner vertical edges,
// the top edge, then the inner horizontal edges. Inner edges are skipped
// for macroblocks without coefficients, except B_PRED ones. ZEROMV
// macroblocks have level 0 through the mode delta written in the frame
// header, so they are not filtered at all; macroblocks with the other
// inter modes have the frame's level (their mode delta is 0, section 9.6).
func (e *Encoder) loopFilter(key bool) {
	p := newFilterParams(e.filterLevel, key)
	for mby := 0; mby < e.mbh; mby++ {
		for mbx := 0; mbx < e.mbw; mbx++ {
			info := &e.mbs[mby*e.mbw+mbx]
			if info.inter && info.mvMode == mvZero {
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
					p.filterVertical(pl.pix, pl.off, pl.stride, pl.n, p.mbLimit, true)
				}
			}
			inner := !info.skip || info.ymode == modeB && !info.inter
			if inner {
				for _, pl := range planes {
					for x := 4; x < pl.n; x += 4 {
						p.filterVertical(pl.pix, pl.off+x, pl.stride, pl.n, p.subLimit, false)
					}
				}
			}
			if mby > 0 {
				for _, pl := range planes {
					p.filterHorizontal(pl.pix, pl.off, pl.stride, pl.n, p.mbLimit, true)
				}
			}
			if inner {
				for _, pl := range planes {
					for y := 4; y < pl.n; y += 4 {
						p.filterHorizontal(pl.pix, pl.off+y*pl.stride, pl.stride, pl.n, p.subLimit, false)
					}
				}
			}
		}
	}
}
