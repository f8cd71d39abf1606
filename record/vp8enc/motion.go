package vp8enc

import "encoding/binary"

// This file holds the motion vectors of inter frames: the near motion
// vector search and the mode contexts of RFC 6386, section 16.3, motion
// vector coding (section 17), the chroma prediction of a whole-macroblock
// motion vector (section 18), and the encoder's motion search.
//
// The search is built for screen content: a scrolled page or a dragged
// window moves many macroblocks by the same whole-pixel vector. Before the
// macroblocks of an inter frame are coded, estimateMotion finds up to
// maxGlobal such vectors by comparing the new input with the previous one
// (row hashes for vertical scrolls, a full search on a few textured
// macroblocks for any direction). Each changed macroblock then tries zero,
// those vectors and its nearest and near vectors by SAD, refines the best
// by one pixel, and keeps it if SATD plus lambda times the bits of mode and
// vector beats intra coding.
//
// Only whole-pixel luma vectors are used, and only those that keep the
// 16x16 luma block inside the macroblock-aligned frame, so luma prediction
// is a copy and never depends on a decoder's border extension. Chroma
// vectors have 1/8 pixel precision; an odd luma vector makes a half-pixel
// chroma vector, which predictChroma computes with the six-tap filter of
// section 18.3 exactly as a decoder does, border pixels replicated.

// motionVector is a luma motion vector in quarter pixels, as coded in the
// bitstream (RFC 6386, section 17): x to the right, y down.
type motionVector struct{ x, y int16 }

// Inter prediction modes of a macroblock (mv_ref_tree, RFC 6386,
// section 16.3). SPLITMV is never used.
const (
	mvZero = iota
	mvNearest
	mvNear
	mvNew
)

// nearMVs is the result of the near motion vector search of RFC 6386,
// section 16.3: the clamped best, nearest and near vectors, and the counts
// that select the probabilities of mv_ref_tree.
type nearMVs struct {
	best, nearest, near motionVector
	cnt                 [4]uint8
}

// probs returns the probabilities of the four branches of mv_ref_tree.
func (n *nearMVs) probs() [4]uint8 {
	return [4]uint8{
		modeContexts[n.cnt[0]][0], modeContexts[n.cnt[1]][1],
		modeContexts[n.cnt[2]][2], modeContexts[n.cnt[3]][3],
	}
}

// findNearMVs runs the near motion vector search of RFC 6386, section 16.3
// (vp8_find_near_mvs) for macroblock (mbx, mby) over the macroblocks above,
// to the left and above-left, which must already be decided. Neighbours
// outside the frame count as intra. The returned vectors are clamped to at
// most 16 pixels beyond the frame edges, as every decoder clamps them.
func (e *Encoder) findNearMVs(mbx, mby int) nearMVs {
	var mvs [4]motionVector
	var cnt [4]int
	idx := 0
	var zero motionVector
	visit := func(m *mbInfo, weight int) {
		if !m.inter {
			return
		}
		if m.mv == zero {
			cnt[0] += weight
			return
		}
		if idx == 0 || m.mv != mvs[idx] {
			idx++
			mvs[idx] = m.mv
		}
		cnt[idx] += weight
	}
	if mby > 0 {
		visit(&e.mbs[(mby-1)*e.mbw+mbx], 2)
	}
	if mbx > 0 {
		visit(&e.mbs[mby*e.mbw+mbx-1], 2)
	}
	if mby > 0 && mbx > 0 {
		visit(&e.mbs[(mby-1)*e.mbw+mbx-1], 1)
	}
	// Three distinct vectors: merge the above-left one into nearest when
	// they are equal.
	if cnt[3] > 0 && mvs[3] == mvs[1] {
		cnt[1]++
	}
	cnt[3] = 0 // no SPLITMV neighbours
	if cnt[2] > cnt[1] {
		cnt[1], cnt[2] = cnt[2], cnt[1]
		mvs[1], mvs[2] = mvs[2], mvs[1]
	}
	if cnt[1] >= cnt[0] {
		mvs[0] = mvs[1]
	}
	var n nearMVs
	for i := range cnt {
		n.cnt[i] = uint8(cnt[i])
	}
	n.best = e.clampMV(mvs[0], mbx, mby)
	n.nearest = e.clampMV(mvs[1], mbx, mby)
	n.near = e.clampMV(mvs[2], mbx, mby)
	return n
}

// zeroMVCount is the first count of findNearMVs, which alone codes a
// ZEROMV macroblock: 2 for an inter macroblock with a zero vector above,
// 2 for one to the left and 1 for one above-left. The other counts and the
// vectors do not change it.
func (e *Encoder) zeroMVCount(mbx, mby int) int {
	var zero motionVector
	n := 0
	if mby > 0 {
		if m := &e.mbs[(mby-1)*e.mbw+mbx]; m.inter && m.mv == zero {
			n += 2
		}
		if mbx > 0 {
			if m := &e.mbs[(mby-1)*e.mbw+mbx-1]; m.inter && m.mv == zero {
				n++
			}
		}
	}
	if mbx > 0 {
		if m := &e.mbs[mby*e.mbw+mbx-1]; m.inter && m.mv == zero {
			n += 2
		}
	}
	return n
}

// clampMV clamps v so that the macroblock it moves lies at most 16 pixels
// beyond the macroblock-aligned frame (RFC 6386, section 16.3).
func (e *Encoder) clampMV(v motionVector, mbx, mby int) motionVector {
	const margin = 16 * 4
	minX, maxX := -mbx*64-margin, (e.mbw-1-mbx)*64+margin
	minY, maxY := -mby*64-margin, (e.mbh-1-mby)*64+margin
	v.x = int16(min(max(int(v.x), minX), maxX))
	v.y = int16(min(max(int(v.y), minY), maxY))
	return v
}

// Motion vector component probabilities (RFC 6386, section 17.2): is
// short, sign, the short tree, then the long bits.
const (
	mvpIsShort = 0
	mvpSign    = 1
	mvpShort   = 2
	mvpLong    = 9
	mvLongBits = 10
	maxMVComp  = 1<<mvLongBits - 1 // largest codable component magnitude
)

// defaultMVProbs are the default motion vector probabilities, row then
// column (RFC 6386, section 17.2).
var defaultMVProbs = [2][19]uint8{
	{162, 128, 225, 146, 172, 147, 214, 39, 156, 128, 129, 132, 75, 145, 178, 206, 239, 254, 254},
	{164, 128, 204, 170, 119, 235, 140, 230, 228, 128, 130, 130, 74, 148, 180, 203, 236, 254, 254},
}

// mvCompCost is the cost in 1/256 bit of each component value
// -maxMVComp..maxMVComp (index v+maxMVComp), row then column, with the
// default probabilities.
var mvCompCost [2][2*maxMVComp + 1]uint32

func init() {
	for c := range mvCompCost {
		for v := -maxMVComp; v <= maxMVComp; v++ {
			var k costCounter
			putMVComp(&k, v, &defaultMVProbs[c])
			mvCompCost[c][v+maxMVComp] = k.cost
		}
	}
}

// bitWriter is where putMVComp sends its bits: a boolEncoder or a
// costCounter.
type bitWriter interface{ putBit(bit bool, prob uint8) }

type costCounter struct{ cost uint32 }

func (k *costCounter) putBit(bit bool, prob uint8) { k.cost += costBit(bit, prob) }

// putMVComp writes one motion vector component v, |v| <= maxMVComp, in
// the form of RFC 6386, section 17.2 (read_mvcomponent).
func putMVComp(w bitWriter, v int, p *[19]uint8) {
	x := v
	if x < 0 {
		x = -x
	}
	if x < 8 {
		w.putBit(false, p[mvpIsShort])
		// small_mvtree: 0-3 | 4-7, then pairs, then the value.
		w.putBit(x >= 4, p[mvpShort])
		if x < 4 {
			w.putBit(x >= 2, p[mvpShort+1])
			w.putBit(x&1 != 0, p[mvpShort+2+x>>1])
		} else {
			w.putBit(x >= 6, p[mvpShort+4])
			w.putBit(x&1 != 0, p[mvpShort+5+(x-4)>>1])
		}
	} else {
		w.putBit(true, p[mvpIsShort])
		for i := 0; i < 3; i++ {
			w.putBit(x>>i&1 != 0, p[mvpLong+i])
		}
		for i := mvLongBits - 1; i > 3; i-- {
			w.putBit(x>>i&1 != 0, p[mvpLong+i])
		}
		// Bit 3 is implicit (1) when no higher bit is set.
		if x&0xfff0 != 0 {
			w.putBit(x>>3&1 != 0, p[mvpLong+3])
		}
	}
	if x != 0 {
		w.putBit(v < 0, p[mvpSign])
	}
}

// mvCost is the cost in 1/256 bit of coding v as a difference from best,
// or false if a component is out of range.
func mvCost(v, best motionVector) (uint32, bool) {
	dy, dx := int(v.y)-int(best.y), int(v.x)-int(best.x)
	if dy < -maxMVComp || dy > maxMVComp || dx < -maxMVComp || dx > maxMVComp {
		return 0, false
	}
	return mvCompCost[0][dy+maxMVComp] + mvCompCost[1][dx+maxMVComp], true
}

// interModeCost is the cost in 1/256 bit of an inter macroblock with
// vector v after the intra/inter and reference frame bits: the mode in
// mv_ref_tree and, for NEWMV, the vector. ok is false when v cannot be
// coded.
func interModeCost(n *nearMVs, v motionVector) (mode int, cost uint32, ok bool) {
	p := n.probs()
	switch {
	case v == motionVector{}:
		return mvZero, costBit(false, p[0]), true
	case v == n.nearest:
		return mvNearest, costBit(true, p[0]) + costBit(false, p[1]), true
	case v == n.near:
		return mvNear, costBit(true, p[0]) + costBit(true, p[1]) + costBit(false, p[2]), true
	}
	c, ok := mvCost(v, n.best)
	return mvNew, costBit(true, p[0]) + costBit(true, p[1]) + costBit(true, p[2]) +
		costBit(false, p[3]) + c, ok
}

// putInterMode writes the mode of an inter macroblock and, for NEWMV, its
// vector (RFC 6386, sections 16.3 and 17).
func putInterMode(w *boolEncoder, n *nearMVs, info *mbInfo) {
	p := n.probs()
	w.putBit(info.mvMode != mvZero, p[0])
	if info.mvMode == mvZero {
		return
	}
	w.putBit(info.mvMode != mvNearest, p[1])
	if info.mvMode == mvNearest {
		return
	}
	w.putBit(info.mvMode != mvNear, p[2])
	if info.mvMode == mvNear {
		return
	}
	w.putBit(false, p[3]) // NEWMV, not SPLITMV
	putMVComp(w, int(info.mv.y)-int(n.best.y), &defaultMVProbs[0])
	putMVComp(w, int(info.mv.x)-int(n.best.x), &defaultMVProbs[1])
}

// subpelFilters are the six-tap interpolation filters of RFC 6386,
// section 18.3, indexed by the 1/8 pixel fraction; taps apply to the
// pixels at -2..3.
var subpelFilters = [8][6]int32{
	{0, 0, 128, 0, 0, 0},
	{0, -6, 123, 12, -1, 0},
	{2, -11, 108, 36, -8, 1},
	{0, -9, 93, 50, -6, 0},
	{3, -16, 77, 77, -16, 3},
	{0, -6, 50, 93, -9, 0},
	{1, -8, 36, 108, -11, 2},
	{0, -1, 12, 123, -6, 0},
}

// mvInside reports whether whole-pixel vector v keeps the 16x16 luma block
// of macroblock (mbx, mby) inside the macroblock-aligned frame.
func (e *Encoder) mvInside(v motionVector, mbx, mby int) bool {
	if v.x&3 != 0 || v.y&3 != 0 {
		return false
	}
	x, y := mbx*16+int(v.x>>2), mby*16+int(v.y>>2)
	return x >= 0 && y >= 0 && x <= e.yStride-16 && y <= e.mbh*16-16
}

// predictInter fills e.predY, e.predU and e.predV with the prediction of
// macroblock (mbx, mby) from the reference frame moved by whole-pixel v,
// which must satisfy mvInside.
func (e *worker) predictInter(mbx, mby int, v motionVector) {
	yo := (mby*16+int(v.y>>2))*e.yStride + mbx*16 + int(v.x>>2)
	ref := e.ref.y[yo:]
	for r := 0; r < 16; r++ {
		*(*[16]byte)(e.predY[r*16:]) = *(*[16]byte)(ref[r*e.yStride:])
	}
	// The chroma vector of a whole-macroblock vector is the luma vector in
	// 1/8 chroma pixels: the same number (RFC 6386, section 18, which has
	// the chroma vectors at full precision).
	cw, ch := e.cStride, e.mbh*8
	x0, y0 := mbx*8+int(v.x>>3), mby*8+int(v.y>>3)
	fx, fy := int(v.x&7), int(v.y&7)
	if fx == 0 && fy == 0 {
		co := y0*cw + x0
		for r := 0; r < 8; r++ {
			*(*[8]byte)(e.predU[r*8:]) = *(*[8]byte)(e.ref.u[co+r*cw:])
			*(*[8]byte)(e.predV[r*8:]) = *(*[8]byte)(e.ref.v[co+r*cw:])
		}
		return
	}
	predictChroma(&e.predU, e.ref.u, cw, ch, x0, y0, fx, fy)
	predictChroma(&e.predV, e.ref.v, cw, ch, x0, y0, fx, fy)
}

// predictChroma computes the 8x8 block at (x0, y0) plus the fraction
// (fx, fy) in 1/8 pixels of plane p (w x h, stride w) with the six-tap
// filters: horizontally first, rounded and clamped, then vertically
// (RFC 6386, section 18.3). Pixels outside the plane replicate its
// nearest edge pixel, as the decoder's extended borders do.
func predictChroma(out *[64]byte, p []byte, w, h, x0, y0, fx, fy int) {
	var tmp [13 * 8]byte // rows y0-2 .. y0+10
	hf, vf := &subpelFilters[fx], &subpelFilters[fy]
	for r := 0; r < 13; r++ {
		y := min(max(y0+r-2, 0), h-1)
		row := p[y*w : y*w+w]
		for c := 0; c < 8; c++ {
			var s int32
			for t := 0; t < 6; t++ {
				x := min(max(x0+c+t-2, 0), w-1)
				s += hf[t] * int32(row[x])
			}
			tmp[r*8+c] = clamp255((s + 64) >> 7)
		}
	}
	for r := 0; r < 8; r++ {
		for c := 0; c < 8; c++ {
			var s int32
			for t := 0; t < 6; t++ {
				s += vf[t] * int32(tmp[(r+t)*8+c])
			}
			out[r*8+c] = clamp255((s + 64) >> 7)
		}
	}
}

// sad16 is the sum of absolute differences of two 16x16 blocks, stopping
// early once it exceeds limit.
func sad16(a []byte, as int, b []byte, bs int, limit uint32) uint32 {
	var s uint32
	for r := 0; r < 16; r++ {
		ra, rb := (*[16]byte)(a[r*as:]), (*[16]byte)(b[r*bs:])
		for c := 0; c < 16; c++ {
			d := int32(ra[c]) - int32(rb[c])
			m := d >> 31
			s += uint32((d ^ m) - m)
		}
		if s > limit {
			return s
		}
	}
	return s
}

// Limits of the frame-level motion estimation.
const (
	maxGlobal     = 3  // vectors found per frame
	maxSamples    = 16 // macroblocks searched exhaustively
	sampleRange   = 16 // pixels each way, for those macroblocks
	maxRowShift   = 64 // pixels each way, for the row hash search
	minRowMatches = 16 // matching textured rows for a vertical shift
	minGlobalMBs  = 16 // changed macroblocks (or half the frame's) below which no frame-level search runs
)

// estimateMotion fills e.global with up to maxGlobal whole-pixel vectors
// that move many changed macroblocks of img from the previous input
// (e.src, not yet updated), most likely first. e.changed must be set.
func (e *Encoder) estimateMotion(img *image420) {
	e.lastGlobal = append(e.lastGlobal[:0], e.global...)
	e.global = e.global[:0]
	if e.noMotion {
		return
	}
	// Bounding box of the changed macroblocks, in visible pixels.
	x0, y0, x1, y1 := e.mbw, e.mbh, -1, -1
	n := 0
	for i, c := range e.changed {
		if !c {
			continue
		}
		n++
		mbx, mby := i%e.mbw, i/e.mbw
		x0, y0, x1, y1 = min(x0, mbx), min(y0, mby), max(x1, mbx), max(y1, mby)
	}
	if n < max(2, min(minGlobalMBs, len(e.changed)/2)) {
		return
	}
	px0, py0 := x0*16, y0*16
	px1, py1 := min((x1+1)*16, e.width), min((y1+1)*16, e.height)
	if dy, ok := e.rowShift(img, px0, py0, px1, py1); ok {
		e.addGlobal(motionVector{0, int16(dy * 4)}, 1<<20)
	}
	e.sampleSearch(img)
}

// addGlobal records a candidate vector with its weight, keeping e.global
// sorted by weight and free of duplicates.
func (e *Encoder) addGlobal(v motionVector, weight int) {
	for i := range e.global {
		if e.global[i].v == v {
			e.global[i].weight += weight
			return
		}
	}
	e.global = append(e.global, globalMV{v, weight})
	for i := len(e.global) - 1; i > 0 && e.global[i].weight > e.global[i-1].weight; i-- {
		e.global[i], e.global[i-1] = e.global[i-1], e.global[i]
	}
	if len(e.global) > maxGlobal {
		e.global = e.global[:maxGlobal]
	}
}

// globalMV is a frame-level candidate vector and how many macroblocks
// voted for it.
type globalMV struct {
	v      motionVector
	weight int
}

// image420 is the input frame as estimateMotion reads it.
type image420 struct {
	y       []byte
	yStride int
	yOff    int // offset of the visible top-left pixel
}

func (m *image420) row(y, x0, x1 int) []byte {
	o := m.yOff + y*m.yStride
	return m.y[o+x0 : o+x1]
}

// rowHash hashes a row of pixels; flat rows hash to 0, so that they never
// vote for a shift.
func rowHash(p []byte) uint64 {
	flat := true
	for _, v := range p[1:] {
		if v != p[0] {
			flat = false
			break
		}
	}
	if flat {
		return 0
	}
	h := uint64(len(p)) * 0x9e3779b97f4a7c15
	for len(p) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(p)) * 0xff51afd7ed558ccd
		h ^= h >> 29
		p = p[8:]
	}
	for _, v := range p {
		h = (h ^ uint64(v)) * 0xc4ceb9fe1a85ec53
	}
	return h | 1
}

// rowShift finds the vertical shift dy (in pixels, non-zero) for which
// most textured rows of the new image, within x0..x1, equal the previous
// input's rows dy below them: a vertical scroll.
func (e *Encoder) rowShift(img *image420, x0, y0, x1, y1 int) (int, bool) {
	// Extend the rows compared by the search range: the page scrolls in
	// from outside the changed box only through changed macroblocks, but
	// unchanged rows next to it still match.
	ry0, ry1 := max(y0-maxRowShift, 0), min(y1+maxRowShift, e.height)
	hn, ho := e.hashNew[:ry1-ry0], e.hashOld[:ry1-ry0]
	for y := ry0; y < ry1; y++ {
		hn[y-ry0] = rowHash(img.row(y, x0, x1))
		ho[y-ry0] = rowHash(e.src.y[y*e.yStride+x0 : y*e.yStride+x1])
	}
	best, bestN := 0, 0
	for dy := -maxRowShift; dy <= maxRowShift; dy++ {
		if dy == 0 {
			continue
		}
		cnt := 0
		for y := max(y0, ry0-dy); y < min(y1, ry1-dy); y++ {
			h := hn[y-ry0]
			if h != 0 && h == ho[y+dy-ry0] {
				cnt++
			}
		}
		if cnt > bestN {
			best, bestN = dy, cnt
		}
	}
	return best, bestN >= minRowMatches
}

// sampleSearch searches up to maxSamples textured changed macroblocks in
// the previous input and adds the vectors that match more than one of them
// to e.global. The samples are spread over the changed macroblocks whose
// four neighbours changed too (at the edge of a moved area a macroblock
// straddles it), then, if too few of those are textured, over the other
// changed macroblocks.
func (e *Encoder) sampleSearch(img *image420) {
	interior, changed := 0, 0
	for i, c := range e.changed {
		if c {
			changed++
			if e.interior(i) {
				interior++
			}
		}
	}
	var found [maxSamples]motionVector
	var cands [2 * maxGlobal]motionVector
	nc := 0
	for _, g := range e.global {
		cands[nc] = g.v
		nc++
	}
	for _, g := range e.lastGlobal {
		cands[nc] = g.v
		nc++
	}
	samples := 0
	for pass := 0; pass < 2 && samples < maxSamples; pass++ {
		step := max(1, interior/maxSamples)
		if pass == 1 {
			step = max(1, (changed-interior)/maxSamples)
		}
		k := 0
		for i, c := range e.changed {
			if !c || e.interior(i) != (pass == 0) {
				continue
			}
			k++
			if k%step != 0 {
				continue
			}
			if e.searchSample(img, i, cands[:nc], &found[samples]) {
				samples++
				if samples == maxSamples {
					break
				}
			}
		}
	}
	for i := 0; i < samples; i++ {
		v := found[i]
		if v == (motionVector{}) {
			continue
		}
		votes := 0
		for j := 0; j < samples; j++ {
			if found[j] == v {
				votes++
			}
		}
		if votes >= 2 {
			e.addGlobal(v, 1)
		}
	}
}

// interior reports whether the macroblocks above, below, left and right of
// macroblock i (those inside the frame) changed.
func (e *Encoder) interior(i int) bool {
	mbx, mby := i%e.mbw, i/e.mbw
	return (mby == 0 || e.changed[i-e.mbw]) && (mby == e.mbh-1 || e.changed[i+e.mbw]) &&
		(mbx == 0 || e.changed[i-1]) && (mbx == e.mbw-1 || e.changed[i+1])
}

// searchSample finds where macroblock i of img, if it is fully visible and
// textured, comes from in the previous input: a candidate that matches it
// exactly, else the best whole-pixel position sampleRange each way. It
// sets *v to that vector if it matches closely (zero otherwise) and
// reports whether the macroblock was a sample.
func (e *Encoder) searchSample(img *image420, i int, cands []motionVector, v *motionVector) bool {
	mbx, mby := i%e.mbw, i/e.mbw
	x, y := mbx*16, mby*16
	if x+16 > e.width || y+16 > e.height {
		return false
	}
	blk := img.y[img.yOff+y*img.yStride+x:]
	if texture(blk, img.yStride) < 16*64 {
		return false
	}
	bestV, bestS := motionVector{}, ^uint32(0)
	for _, c := range cands {
		dx, dy := int(c.x>>2), int(c.y>>2)
		if x+dx < 0 || y+dy < 0 || x+dx+16 > e.width || y+dy+16 > e.height {
			continue
		}
		if sad16(blk, img.yStride, e.src.y[(y+dy)*e.yStride+x+dx:], e.yStride, 0) == 0 {
			bestV, bestS = c, 0
			break
		}
	}
	for dy := max(-sampleRange, -y); bestS != 0 && dy <= min(sampleRange, e.height-16-y); dy++ {
		for dx := max(-sampleRange, -x); dx <= min(sampleRange, e.width-16-x); dx++ {
			s := sad16(blk, img.yStride, e.src.y[(y+dy)*e.yStride+x+dx:], e.yStride, bestS)
			if s < bestS || s == bestS && abs(dx)+abs(dy) < abs(int(bestV.x/4))+abs(int(bestV.y/4)) {
				bestV, bestS = motionVector{int16(dx * 4), int16(dy * 4)}, s
			}
		}
	}
	*v = motionVector{}
	if bestS <= 16*16*2 {
		*v = bestV
	}
	return true
}

// texture is the sum of absolute horizontal and vertical differences of
// a 16x16 block: 0 for a flat one.
func texture(p []byte, stride int) int {
	t := 0
	for r := 0; r < 16; r++ {
		row := p[r*stride : r*stride+16]
		for c := 1; c < 16; c++ {
			t += abs(int(row[c]) - int(row[c-1]))
		}
		if r > 0 {
			up := p[(r-1)*stride : (r-1)*stride+16]
			for c := 0; c < 16; c++ {
				t += abs(int(row[c]) - int(up[c]))
			}
		}
	}
	return t
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
