package vp8enc

import "sync"

// Costs, in 1/256 bit, of signalling each 16x16 luma and chroma mode
// (RFC 6386, sections 11.2 and 16.1). Filled by init.
var (
	kfYModeCost    [numModes + 1]uint32
	kfUVModeCost   [numModes]uint32
	interYModeCost [numModes + 1]uint32
	interUVCost    [numModes]uint32
)

func init() {
	for m := 0; m < numModes; m++ {
		kfYModeCost[m] = treeCost(kfYModeBits(m), kfYModeProbs[:])
		kfUVModeCost[m] = treeCost(uvModeBits(m), kfUVModeProbs[:])
		interYModeCost[m] = treeCost(interYModeBits(m), interYModeProbs[:])
		interUVCost[m] = treeCost(uvModeBits(m), interUVProbs[:])
	}
	kfYModeCost[modeB] = treeCost(kfYModeBits(modeB), kfYModeProbs[:])
	interYModeCost[modeB] = treeCost(interYModeBits(modeB), interYModeProbs[:])
	minInterY, minInterUV = interYModeCost[0], interUVCost[0]
	for m := 0; m < numModes; m++ {
		minInterY = min(minInterY, interYModeCost[m])
		minInterUV = min(minInterUV, interUVCost[m])
	}
}

// minInterY and minInterUV are the cheapest intra luma and chroma modes of
// inter frames, in 1/256 bit.
var minInterY, minInterUV uint32

// treePath is a path through a mode tree: the bits and the index of the
// probability each is coded with.
type treePath struct {
	n    int
	bit  [4]bool
	prob [4]uint8
}

func treeCost(p treePath, probs []uint8) uint32 {
	var c uint32
	for i := 0; i < p.n; i++ {
		c += costBit(p.bit[i], probs[p.prob[i]])
	}
	return c
}

func putTree(w *boolEncoder, p treePath, probs []uint8) {
	for i := 0; i < p.n; i++ {
		w.putBit(p.bit[i], probs[p.prob[i]])
	}
}

// kfYModeBits is the path of mode in kf_ymode_tree (RFC 6386, section 11.2),
// where the first bit, 1, says "not B_PRED".
func kfYModeBits(mode int) treePath {
	switch mode {
	case modeB:
		return treePath{1, [4]bool{false}, [4]uint8{0}}
	case modeDC:
		return treePath{3, [4]bool{true, false, false}, [4]uint8{0, 1, 2}}
	case modeV:
		return treePath{3, [4]bool{true, false, true}, [4]uint8{0, 1, 2}}
	case modeH:
		return treePath{3, [4]bool{true, true, false}, [4]uint8{0, 1, 3}}
	default:
		return treePath{3, [4]bool{true, true, true}, [4]uint8{0, 1, 3}}
	}
}

// interYModeBits is the path of mode in ymode_tree (RFC 6386, section 16.1).
func interYModeBits(mode int) treePath {
	switch mode {
	case modeDC:
		return treePath{1, [4]bool{false}, [4]uint8{0}}
	case modeV:
		return treePath{3, [4]bool{true, false, false}, [4]uint8{0, 1, 2}}
	case modeH:
		return treePath{3, [4]bool{true, false, true}, [4]uint8{0, 1, 2}}
	case modeB:
		return treePath{3, [4]bool{true, true, true}, [4]uint8{0, 1, 3}}
	default:
		return treePath{3, [4]bool{true, true, false}, [4]uint8{0, 1, 3}}
	}
}

// uvModeBits is the path of mode in uv_mode_tree (RFC 6386, section 11.2).
func uvModeBits(mode int) treePath {
	switch mode {
	case modeDC:
		return treePath{1, [4]bool{false}, [4]uint8{0}}
	case modeV:
		return treePath{2, [4]bool{true, false}, [4]uint8{0, 1}}
	case modeH:
		return treePath{3, [4]bool{true, true, false}, [4]uint8{0, 1, 2}}
	default:
		return treePath{3, [4]bool{true, true, true}, [4]uint8{0, 1, 2}}
	}
}

// encodeMacroblocks decides and reconstructs every macroblock in raster
// order, filling e.mbs and storing the levels of coded macroblocks in
// e.rowStore; writeTokens codes them afterwards. Frames with many changed
// macroblocks are shared between the workers.
func (e *Encoder) encodeMacroblocks(key bool) {
	coded := 0
	if key {
		coded = len(e.mbs)
	} else {
		for _, c := range e.changed {
			if c {
				coded++
			}
		}
	}
	n := 1
	if len(e.workers) > 1 && e.mbh > 1 && coded >= 2*e.mbw {
		n = len(e.workers)
	}
	if n == 1 {
		for mby := 0; mby < e.mbh; mby++ {
			e.workers[0].encodeRow(mby, key, false)
		}
		return
	}
	// Wavefront (section 12: a macroblock needs the reconstruction to its
	// left, above, above-left and above-right): worker k codes rows k, k+n,
	// ..., and macroblock x of a row waits until the row above has done x+1.
	e.prog.reset(e.mbh)
	for k := 1; k < n; k++ {
		e.wg.Add(1)
		go e.workers[k].encodeRows(k, n, key, &e.wg)
	}
	e.workers[0].encodeRows(0, n, key, nil)
	e.wg.Wait()
}

// encodeRows codes rows first, first+step, ... and signals wg, if non-nil,
// when done.
func (e *worker) encodeRows(first, step int, key bool, wg *sync.WaitGroup) {
	for mby := first; mby < e.mbh; mby += step {
		e.encodeRow(mby, key, true)
	}
	if wg != nil {
		wg.Done()
	}
}

// encodeRow codes one macroblock row into e.rowStore[mby]. With sync, it
// waits for the row above before each macroblock and publishes its own
// progress.
func (e *worker) encodeRow(mby int, key, sync bool) {
	store := e.rowStore[mby][:0]
	for mbx := 0; mbx < e.mbw; mbx++ {
		if sync && mby > 0 {
			e.prog.wait(mby-1, min(mbx+2, e.mbw))
		}
		i := mby*e.mbw + mbx
		info := &e.mbs[i]
		if !key && !e.changed[i] {
			// Skipped: the reconstruction keeps the last frame's pixels.
			*info = mbInfo{inter: true, skip: true}
		} else {
			e.decide(mbx, mby, key, info)
			nz := false
			if e.exact {
				// The prediction is the source: no residual to code.
				e.putPrediction(mbx, mby)
			} else {
				nz = e.transformMB(mbx, mby, info.ymode == modeB)
			}
			info.skip = !nz
			if nz {
				info.coefs = int32(len(store))
				for b := range e.levels {
					store = append(store, e.levels[b][:]...)
				}
			}
		}
		if sync {
			e.prog.publish(mby, mbx+1)
		}
	}
	e.rowStore[mby] = store
}

// progress tracks how many macroblocks of each row are done, for the
// wavefront of encodeMacroblocks. Waiters block on a condition variable.
type progress struct {
	mu      sync.Mutex
	cond    sync.Cond
	done    []int
	waiting bool
}

func (p *progress) reset(rows int) {
	p.cond.L = &p.mu
	if cap(p.done) < rows {
		p.done = make([]int, rows)
	}
	p.done = p.done[:rows]
	clear(p.done)
}

func (p *progress) wait(row, n int) {
	p.mu.Lock()
	for p.done[row] < n {
		p.waiting = true
		p.cond.Wait()
	}
	p.mu.Unlock()
}

func (p *progress) publish(row, n int) {
	p.mu.Lock()
	p.done[row] = n
	if p.waiting {
		p.waiting = false
		p.cond.Broadcast()
	}
	p.mu.Unlock()
}

// decide picks the prediction of a coded macroblock by the cost SATD of the
// residual plus lambda times the bits of the mode, and fills e.predY,
// e.predU and e.predV. In inter frames the best motion vector is tried
// first, and intra modes only while they could still cost less.
func (e *worker) decide(mbx, mby int, key bool, info *mbInfo) {
	yo := mby*16*e.yStride + mbx*16
	co := mby*8*e.cStride + mbx*8
	srcY, srcU, srcV := e.src.y[yo:], e.src.u[co:], e.src.v[co:]

	yCost, uvCost := &kfYModeCost, &kfUVModeCost
	var intraBits uint32
	interCost := ^uint32(0)
	var interMode int
	var interMV motionVector
	if !key {
		yCost, uvCost = &interYModeCost, &interUVCost
		intraBits = costBit(false, e.probIntra)
		near := e.findNearMVs(mbx, mby)
		var modeBits, sad uint32
		interMV, interMode, modeBits, sad = e.searchMV(mbx, mby, &near)
		e.predictInter(mbx, mby, interMV)
		// Intra is not tried when the luma prediction is off by less than
		// a quarter of the AC step per pixel on average, about as close as
		// the reference itself is to its source (a scrolled or moved
		// picture), nor when the bits of its cheapest modes alone lose.
		if sad <= uint32(e.y1ac)*goodSAD {
			*info = mbInfo{inter: true, mvMode: uint8(interMode), mv: interMV}
			e.exact = sad == 0 && sad8(srcU, e.cStride, &e.predU) == 0 && sad8(srcV, e.cStride, &e.predV) == 0
			return
		}
		interCost = (satd(srcY, e.yStride, e.predY[:], 16, 16)+
			satd(srcU, e.cStride, e.predU[:], 8, 8)+
			satd(srcV, e.cStride, e.predV[:], 8, 8))*256 +
			e.lambda*(costBit(true, e.probIntra)+costBit(false, 255)+modeBits)
		if interCost <= e.lambda*(intraBits+minInterY+minInterUV) {
			*info = mbInfo{inter: true, mvMode: uint8(interMode), mv: interMV}
			e.exact = false
			return
		}
	}

	var ed edges
	ed.load(e.rec.y, e.yStride, mbx*16, mby*16, 16)
	// The modes are rated by SAD, a fraction of the work of SATD; an exact
	// prediction wins at once, otherwise the best two by SAD are rated by
	// SATD plus lambda times the bits of the mode.
	bestY, bestYCost, exactY := pickMode(yCost[:numModes], e.lambda, func(m int, limit uint32) uint32 {
		ed.predict(m, 16, e.candY[m][:])
		return sad16(srcY, e.yStride, e.candY[m][:], 16, limit)
	}, func(m int) uint32 {
		return satd(srcY, e.yStride, e.candY[m][:], 16, 16)
	})
	var eu, ev edges
	eu.load(e.rec.u, e.cStride, mbx*8, mby*8, 8)
	ev.load(e.rec.v, e.cStride, mbx*8, mby*8, 8)
	bestUV, bestUVCost, exactUV := pickMode(uvCost[:], e.lambda, func(m int, _ uint32) uint32 {
		eu.predict(m, 8, e.candU[m][:])
		ev.predict(m, 8, e.candV[m][:])
		return sad8(srcU, e.cStride, &e.candU[m]) + sad8(srcV, e.cStride, &e.candV[m])
	}, func(m int) uint32 {
		return satd(srcU, e.cStride, e.candU[m][:], 8, 8) + satd(srcV, e.cStride, e.candV[m][:], 8, 8)
	})
	e.exact = exactY && exactUV
	// B_PRED is tried unless the best 16x16 prediction already costs less
	// than bPredGate bits' worth of lambda (flat areas, smooth gradients),
	// or the bits of its mode alone lose to the inter prediction.
	var bmodes [16]uint8
	bMin := e.lambda*(yCost[modeB]+intraBits) + bestUVCost
	if !e.noBPred && bestYCost > e.lambda*256*bPredGate && bMin < interCost {
		bCost := e.tryBPred(mbx, mby, key, &bmodes) + e.lambda*yCost[modeB]
		if bCost < bestYCost {
			bestY, bestYCost = modeB, bCost
			e.exact = false
		}
	}
	if !key && interCost <= bestYCost+bestUVCost+e.lambda*intraBits {
		*info = mbInfo{inter: true, mvMode: uint8(interMode), mv: interMV}
		e.predictInter(mbx, mby, interMV)
		e.exact = false
		return
	}
	*info = mbInfo{ymode: uint8(bestY), uvmode: uint8(bestUV)}
	e.stats.ymodes[bestY]++
	if bestY == modeB {
		info.bmodes = bmodes
		for _, m := range bmodes {
			e.stats.bmodes[m]++
		}
	} else {
		e.predY = e.candY[bestY]
	}
	e.predU = e.candU[bestUV]
	e.predV = e.candV[bestUV]
}

// goodSAD, times the AC step, is the luma SAD of a 16x16 prediction that
// is good enough: no further motion vector is tried, nor intra. Moved
// screen content predicted from the reference lands well below it.
const goodSAD = 64

// pickMode returns the best of the numModes predictions, its cost and
// whether it is exact. sad(m, limit) predicts mode m and returns its SAD
// (which may stop above limit); bits are the mode costs. An exact
// prediction (SAD 0) with the fewest bits wins at once; otherwise the two
// best by SAD (times 2) plus lambda times the bits are rated by satd plus
// lambda times the bits (the runner-up only if within half again of the
// best). The cost returned is that of the SATD rating (the bits alone for
// an exact prediction).
func pickMode(bits []uint32, lambda uint32, sad func(m int, limit uint32) uint32, satd func(m int) uint32) (int, uint32, bool) {
	first, second := -1, -1
	var c1, c2 uint32 = ^uint32(0), ^uint32(0)
	exact := -1
	for m := range numModes {
		rate := lambda * bits[m]
		limit := ^uint32(0)
		if c2 != ^uint32(0) {
			// Above this SAD the mode cannot be among the best two.
			limit = 0
			if c2 > rate {
				limit = (c2 - rate) / 512
			}
		}
		s := sad(m, limit)
		if s == 0 && (exact < 0 || rate < lambda*bits[exact]) {
			exact = m
		}
		c := s*2*256 + rate
		switch {
		case c < c1:
			second, c2 = first, c1
			first, c1 = m, c
		case c < c2:
			second, c2 = m, c
		}
	}
	if exact >= 0 {
		return exact, lambda * bits[exact], true
	}
	best, bestCost := first, satd(first)*256+lambda*bits[first]
	// A runner-up half as good again by SAD is not rated.
	if c2-c1 > c1/2 {
		return best, bestCost, false
	}
	if c := satd(second)*256 + lambda*bits[second]; c < bestCost {
		best, bestCost = second, c
	}
	return best, bestCost, false
}

// sad8 is the sum of absolute differences of an 8x8 block of a (stride
// as) and p.
func sad8(a []byte, as int, p *[64]byte) uint32 {
	var s uint32
	for r := 0; r < 8; r++ {
		ra, rp := (*[8]byte)(a[r*as:]), (*[8]byte)(p[r*8:])
		for c := 0; c < 8; c++ {
			d := int32(ra[c]) - int32(rp[c])
			m := d >> 31
			s += uint32((d ^ m) - m)
		}
	}
	return s
}

// searchMV picks the motion vector of macroblock (mbx, mby) among zero,
// the nearest and near vectors, the frame's candidates (e.global) and the
// best vector, then, unless the best is good enough, the eight
// whole-pixel neighbours of the best one, by SAD plus lambda times the
// bits of mode and vector. It returns the vector, its mode, those bits and
// the SAD of its luma prediction.
func (e *worker) searchMV(mbx, mby int, near *nearMVs) (motionVector, int, uint32, uint32) {
	yo := mby*16*e.yStride + mbx*16
	src := e.src.y[yo:]
	var bestV motionVector
	bestMode, bestBits := mvZero, uint32(0)
	bestCost, bestSAD := ^uint32(0), ^uint32(0)
	try := func(v motionVector) {
		if !e.mvInside(v, mbx, mby) {
			return
		}
		mode, bits, ok := interModeCost(near, v)
		if !ok {
			return
		}
		rate := e.lambda * bits
		if rate >= bestCost {
			return
		}
		limit := (bestCost - rate) / 512
		sad := sad16(src, e.yStride, e.ref.y[yo+int(v.y>>2)*e.yStride+int(v.x>>2):], e.yStride, limit)
		if c := sad*512 + rate; c < bestCost {
			bestV, bestMode, bestBits, bestCost, bestSAD = v, mode, bits, c, sad
		}
	}
	// Exact enough: a quarter of the good SAD.
	exact := uint32(e.y1ac) * goodSAD / 4
	try(motionVector{})
	if bestSAD <= exact || e.noMotion {
		return bestV, bestMode, bestBits, bestSAD
	}
	try(near.nearest)
	try(near.near)
	for _, g := range e.global {
		if bestSAD <= exact {
			break
		}
		try(g.v)
	}
	if bestSAD > exact {
		try(near.best)
	}
	if bestSAD > uint32(e.y1ac)*goodSAD && bestV != (motionVector{}) {
		c := bestV
		for _, d := range [8][2]int16{{-4, 0}, {4, 0}, {0, -4}, {0, 4}, {-4, -4}, {4, -4}, {-4, 4}, {4, 4}} {
			try(motionVector{c.x + d[0], c.y + d[1]})
		}
	}
	return bestV, bestMode, bestBits, bestSAD
}

// satd is the sum of absolute 4x4 Hadamard-transformed differences of two
// n x n blocks.
func satd(a []byte, as int, b []byte, bs int, n int) uint32 {
	var sum uint32
	for by := 0; by < n; by += 4 {
		for bx := 0; bx < n; bx += 4 {
			sum += satd4(a[by*as+bx:], as, b[by*bs+bx:], bs)
		}
	}
	return sum
}

// satd4 is the sum of absolute Hadamard-transformed differences of two 4x4
// blocks.
func satd4(a []byte, as int, b []byte, bs int) uint32 {
	var t [16]int32
	for r := 0; r < 4; r++ {
		ra, rb := (*[4]byte)(a[r*as:]), (*[4]byte)(b[r*bs:])
		x0, x1 := int32(ra[0])-int32(rb[0]), int32(ra[1])-int32(rb[1])
		x2, x3 := int32(ra[2])-int32(rb[2]), int32(ra[3])-int32(rb[3])
		s0, s1 := x0+x1, x2+x3
		d0, d1 := x0-x1, x2-x3
		t[r*4], t[r*4+1], t[r*4+2], t[r*4+3] = s0+s1, s0-s1, d0+d1, d0-d1
	}
	var sum uint32
	for c := 0; c < 4; c++ {
		s0, s1 := t[c]+t[4+c], t[8+c]+t[12+c]
		d0, d1 := t[c]-t[4+c], t[8+c]-t[12+c]
		sum += abs32(s0+s1) + abs32(s0-s1) + abs32(d0+d1) + abs32(d0-d1)
	}
	return sum
}

func abs32(v int32) uint32 {
	m := v >> 31
	return uint32((v ^ m) - m)
}

// Rounding offsets of the quantizer, in 1/256 of the step.
const (
	biasDC = 128
	biasAC = 110
)

// quantize returns the level of coefficient c with step q, clamped to the
// largest value a token can carry (RFC 6386, section 13.2).
func quantize(c, q, bias int32) int16 {
	neg := c < 0
	if neg {
		c = -c
	}
	r := (q * bias) >> 8
	if c+r < q {
		return 0 // most coefficients: no division
	}
	l := (c + r) / q
	if l > 2048 {
		l = 2048
	}
	if neg {
		l = -l
	}
	return int16(l)
}

// putPrediction writes e.predY, e.predU and e.predV into the
// reconstruction of macroblock (mbx, mby): what a decoder computes for a
// macroblock without coefficients.
func (e *worker) putPrediction(mbx, mby int) {
	yo := mby*16*e.yStride + mbx*16
	for r := 0; r < 16; r++ {
		*(*[16]byte)(e.rec.y[yo+r*e.yStride:]) = *(*[16]byte)(e.predY[r*16:])
	}
	co := mby*8*e.cStride + mbx*8
	for r := 0; r < 8; r++ {
		*(*[8]byte)(e.rec.u[co+r*e.cStride:]) = *(*[8]byte)(e.predU[r*8:])
		*(*[8]byte)(e.rec.v[co+r*e.cStride:]) = *(*[8]byte)(e.predV[r*8:])
	}
}

// transformMB transforms and quantizes the residual of the macroblock
// against e.predY/U/V into e.levels, writes the reconstruction a decoder
// computes into e.rec (RFC 6386, section 14), and reports whether any level
// is non-zero.
func (e *worker) transformMB(mbx, mby int, bpred bool) bool {
	var res, coef, dcs, deq [16]int32
	nz := false
	yo := mby*16*e.yStride + mbx*16
	src, dst := e.src.y[yo:], e.rec.y[yo:]
	if bpred {
		// tryBPred already coded the luma into e.levels and e.ws.
		for r := 0; r < 16; r++ {
			copy(dst[r*e.yStride:r*e.yStride+16], e.ws[1+r][1:17])
		}
		for b := 0; b < 16; b++ {
			for _, v := range e.levels[b] {
				if v != 0 {
					nz = true
				}
			}
		}
		e.levels[24] = [16]int16{}
		return e.codeChroma(mbx, mby) || nz
	}
	for b := 0; b < 16; b++ {
		bx, by := (b&3)*4, (b>>2)*4
		for r := 0; r < 4; r++ {
			s := src[(by+r)*e.yStride+bx:]
			p := e.predY[(by+r)*16+bx:]
			for c := 0; c < 4; c++ {
				res[r*4+c] = int32(s[c]) - int32(p[c])
			}
		}
		fdct4(&res, &coef)
		dcs[b] = coef[0]
		lv := &e.levels[b]
		lv[0] = 0
		for i := 1; i < 16; i++ {
			lv[i] = quantize(coef[i], e.y1ac, biasAC)
			if lv[i] != 0 {
				nz = true
			}
		}
	}
	fwht4(&dcs, &coef)
	y2 := &e.levels[24]
	y2[0] = quantize(coef[0], e.y2dc, biasDC)
	deq[0] = int32(y2[0]) * e.y2dc
	for i := 1; i < 16; i++ {
		y2[i] = quantize(coef[i], e.y2ac, biasDC)
		deq[i] = int32(y2[i]) * e.y2ac
	}
	for i := 0; i < 16; i++ {
		if y2[i] != 0 {
			nz = true
		}
	}
	iwht4(&deq, &dcs)
	for b := 0; b < 16; b++ {
		bx, by := (b&3)*4, (b>>2)*4
		d := dst[by*e.yStride+bx:]
		for r := 0; r < 4; r++ {
			copy(d[r*e.yStride:r*e.yStride+4], e.predY[(by+r)*16+bx:])
		}
		lv := &e.levels[b]
		coef[0] = dcs[b]
		any := coef[0] != 0
		for i := 1; i < 16; i++ {
			coef[i] = int32(lv[i]) * e.y1ac
			if coef[i] != 0 {
				any = true
			}
		}
		if any {
			idct4Add(&coef, d, e.yStride)
		}
	}
	return e.codeChroma(mbx, mby) || nz
}

// codeChroma codes both chroma planes of the macroblock.
func (e *worker) codeChroma(mbx, mby int) bool {
	co := mby*8*e.cStride + mbx*8
	nzU := e.chromaBlocks(e.src.u[co:], e.rec.u[co:], &e.predU, 16)
	nzV := e.chromaBlocks(e.src.v[co:], e.rec.v[co:], &e.predV, 20)
	return nzU || nzV
}

// chromaBlocks codes the four 4x4 blocks of one 8x8 chroma plane into
// e.levels[first:first+4] and reconstructs them into dst.
func (e *worker) chromaBlocks(src, dst []byte, pred *[64]byte, first int) bool {
	var res, coef [16]int32
	nz := false
	s := e.cStride
	for b := 0; b < 4; b++ {
		bx, by := (b&1)*4, (b>>1)*4
		for r := 0; r < 4; r++ {
			sr := src[(by+r)*s+bx:]
			p := pred[(by+r)*8+bx:]
			for c := 0; c < 4; c++ {
				res[r*4+c] = int32(sr[c]) - int32(p[c])
			}
		}
		fdct4(&res, &coef)
		lv := &e.levels[first+b]
		lv[0] = quantize(coef[0], e.uvdc, biasDC)
		coef[0] = int32(lv[0]) * e.uvdc
		any := lv[0] != 0
		for i := 1; i < 16; i++ {
			lv[i] = quantize(coef[i], e.uvac, biasAC)
			coef[i] = int32(lv[i]) * e.uvac
			if lv[i] != 0 {
				any = true
			}
		}
		d := dst[by*s+bx:]
		for r := 0; r < 4; r++ {
			copy(d[r*s:r*s+4], pred[(by+r)*8+bx:])
		}
		if any {
			nz = true
			idct4Add(&coef, d, s)
		}
	}
	return nz
}

// tokenSink receives the bits of the token partition: it either counts the
// branches of the token tree per probability (to choose probability
// updates) or codes them.
type tokenSink struct {
	enc    *boolEncoder // nil when counting
	probs  *[numCoefProbs]uint8
	counts *[numCoefProbs][2]uint32
}

// tree codes a token tree branch decided with probability index i. When
// counting, putBlock leaves the work to countBlock and never calls it.
func (s *tokenSink) tree(i int, bit bool) {
	s.enc.putBit(bit, s.probs[i])
}

// fixed codes a bit with a constant probability (extra bits and signs).
func (s *tokenSink) fixed(bit bool, prob uint8) {
	s.enc.putBit(bit, prob)
}

// writeTokens sends the tokens of every coded macroblock to s in decoding
// order (per macroblock: Y2, 16 Y, 4 U, 4 V) with the non-zero contexts of
// RFC 6386, section 13.3. Macroblocks without coefficients reset the
// contexts, as mb_skip_coeff does in a decoder.
func (e *Encoder) writeTokens(s *tokenSink) {
	clear(e.aboveNz)
	for mby := 0; mby < e.mbh; mby++ {
		l := &e.leftNz
		*l = [9]uint8{}
		for mbx := 0; mbx < e.mbw; mbx++ {
			info := &e.mbs[mby*e.mbw+mbx]
			a := &e.aboveNz[mbx]
			bpred := info.ymode == modeB && !info.inter
			if info.skip {
				// The Y2 context survives a macroblock without Y2.
				a8, l8 := a[8], l[8]
				*a = [9]uint8{}
				*l = [9]uint8{}
				if bpred {
					a[8], l[8] = a8, l8
				}
				continue
			}
			lv := e.rowStore[mby][info.coefs : info.coefs+25*16]
			yPlane, yFirst := 3, 0
			if !bpred {
				nz := putBlock(s, 1, a[8]+l[8], 0, lv[24*16:25*16])
				a[8], l[8] = nz, nz
				yPlane, yFirst = 0, 1
			}
			var nz uint8
			for b := 0; b < 16; b++ {
				x, y := b&3, b>>2
				nz = putBlock(s, yPlane, a[x]+l[y], yFirst, lv[b*16:b*16+16])
				a[x], l[y] = nz, nz
			}
			for b := 0; b < 8; b++ {
				x, y := 4+b&1, 4+(b>>1)&1
				if b >= 4 {
					x, y = x+2, y+2
				}
				nz = putBlock(s, 2, a[x]+l[y], 0, lv[(16+b)*16:(17+b)*16])
				a[x], l[y] = nz, nz
			}
		}
	}
}

// probIndex is the index of the first probability of plane, band and
// context in the flattened coefficient probability tables.
func probIndex(plane int, band uint8, ctx int) int {
	return ((plane*numBands+int(band))*numCtx + ctx) * numTokProbs
}

// putBlock sends the tokens of one block (levels in raster order) of the
// given plane type, starting at scan position first, and returns 1 if the
// block has a non-zero level (RFC 6386, sections 13.2 and 13.3).
func putBlock(s *tokenSink, plane int, ctx uint8, first int, lv []int16) uint8 {
	if s.enc == nil {
		return countBlock(s.counts, plane, ctx, first, lv)
	}
	last := -1
	for i := 15; i >= first; i-- {
		if lv[zigzag[i]] != 0 {
			last = i
			break
		}
	}
	p := probIndex(plane, coefBands[first], int(ctx))
	if last < 0 {
		s.tree(p, false) // EOB
		return 0
	}
	afterZero := false
	for i := first; i <= last; i++ {
		v := int32(lv[zigzag[i]])
		if !afterZero {
			s.tree(p, true) // not EOB
		}
		if v == 0 {
			s.tree(p+1, false)
			p = probIndex(plane, coefBands[i+1], 0)
			afterZero = true
			continue
		}
		afterZero = false
		s.tree(p+1, true)
		a := v
		if a < 0 {
			a = -a
		}
		next := 2
		switch {
		case a == 1:
			s.tree(p+2, false)
			next = 1
		case a <= 4:
			s.tree(p+2, true)
			s.tree(p+3, false)
			if a == 2 {
				s.tree(p+4, false)
			} else {
				s.tree(p+4, true)
				s.tree(p+5, a == 4)
			}
		case a <= 10:
			s.tree(p+2, true)
			s.tree(p+3, true)
			s.tree(p+6, false)
			if a <= 6 {
				s.tree(p+7, false)
				s.fixed(a == 6, 159)
			} else {
				s.tree(p+7, true)
				x := a - 7
				s.fixed(x&2 != 0, 165)
				s.fixed(x&1 != 0, 145)
			}
		default:
			s.tree(p+2, true)
			s.tree(p+3, true)
			s.tree(p+6, true)
			var base int32
			var extra []uint8
			var b1, b0 bool
			switch {
			case a <= 18:
				base, extra = 11, cat3Probs
			case a <= 34:
				base, extra, b0 = 19, cat4Probs, true
			case a <= 66:
				base, extra, b1 = 35, cat5Probs, true
			default:
				base, extra, b1, b0 = 67, cat6Probs, true, true
			}
			s.tree(p+8, b1)
			if b1 {
				s.tree(p+10, b0)
			} else {
				s.tree(p+9, b0)
			}
			x := a - base
			for j, pr := range extra {
				s.fixed(x>>uint(len(extra)-1-j)&1 != 0, pr)
			}
		}
		s.fixed(v < 0, 128)
		p = probIndex(plane, coefBands[i+1], next)
	}
	if last < 15 {
		s.tree(p, false) // EOB
	}
	return 1
}

// countBlock is putBlock when counting: it adds the branches of the token
// tree that putBlock would code to counts, without the extra bits.
func countBlock(counts *[numCoefProbs][2]uint32, plane int, ctx uint8, first int, lv []int16) uint8 {
	last := -1
	for i := 15; i >= first; i-- {
		if lv[zigzag[i]] != 0 {
			last = i
			break
		}
	}
	p := probIndex(plane, coefBands[first], int(ctx))
	if last < 0 {
		counts[p][0]++ // EOB
		return 0
	}
	afterZero := false
	for i := first; i <= last; i++ {
		v := int32(lv[zigzag[i]])
		if !afterZero {
			counts[p][1]++
		}
		if v == 0 {
			counts[p+1][0]++
			p = probIndex(plane, coefBands[i+1], 0)
			afterZero = true
			continue
		}
		afterZero = false
		counts[p+1][1]++
		a := v
		if a < 0 {
			a = -a
		}
		next := 2
		switch {
		case a == 1:
			counts[p+2][0]++
			next = 1
		case a <= 4:
			counts[p+2][1]++
			counts[p+3][0]++
			if a == 2 {
				counts[p+4][0]++
			} else {
				counts[p+4][1]++
				counts[p+5][b2u(a == 4)]++
			}
		case a <= 10:
			counts[p+2][1]++
			counts[p+3][1]++
			counts[p+6][0]++
			counts[p+7][b2u(a > 6)]++
		default:
			counts[p+2][1]++
			counts[p+3][1]++
			counts[p+6][1]++
			if a > 34 {
				counts[p+8][1]++
				counts[p+10][b2u(a > 66)]++
			} else {
				counts[p+8][0]++
				counts[p+9][b2u(a > 18)]++
			}
		}
		p = probIndex(plane, coefBands[i+1], next)
	}
	if last < 15 {
		counts[p][0]++ // EOB
	}
	return 1
}

// chooseProbs counts the token branches of the frame and sets e.probs to
// the default probabilities, replaced wherever a per-frame update (RFC 6386,
// section 13.4) saves more bits than it costs; e.update marks those.
func (e *Encoder) chooseProbs() {
	clear(e.counts[:])
	e.writeTokens(&tokenSink{counts: &e.counts})
	for i := range e.probs {
		old := flatDefaultProbs[i]
		e.probs[i], e.update[i] = old, false
		n0, n1 := e.counts[i][0], e.counts[i][1]
		if n0+n1 == 0 {
			continue
		}
		np := clampProb(int((uint64(n0)*256 + uint64(n0+n1)/2) / uint64(n0+n1)))
		oldCost := uint64(n0)*uint64(costBit(false, old)) + uint64(n1)*uint64(costBit(true, old))
		newCost := uint64(n0)*uint64(costBit(false, np)) + uint64(n1)*uint64(costBit(true, np)) +
			8*256 + uint64(costBit(true, flatUpdateProbs[i])) - uint64(costBit(false, flatUpdateProbs[i]))
		if newCost < oldCost {
			e.probs[i], e.update[i] = np, true
		}
	}
}

// numCoefProbs is the number of coefficient probabilities.
const numCoefProbs = numPlanes * numBands * numCtx * numTokProbs

// Flattened copies of defaultCoefProbs and coefUpdateProbs, indexed as
// probIndex(plane, band, ctx) + node.
var flatDefaultProbs, flatUpdateProbs [numCoefProbs]uint8

func init() {
	i := 0
	for p := range defaultCoefProbs {
		for b := range defaultCoefProbs[p] {
			for c := range defaultCoefProbs[p][b] {
				for n := range defaultCoefProbs[p][b][c] {
					flatDefaultProbs[i] = defaultCoefProbs[p][b][c][n]
					flatUpdateProbs[i] = coefUpdateProbs[p][b][c][n]
					i++
				}
			}
		}
	}
}

// writeHeader writes the first partition: the frame header of RFC 6386,
// section 19.2, then every macroblock header (section 19.3).
func (e *Encoder) writeHeader(key bool) {
	w := &e.hdr
	w.reset()
	nonSkip, intra := 0, 0
	for i := range e.mbs {
		if !e.mbs[i].skip {
			nonSkip++
		}
		if !e.mbs[i].inter {
			intra++
		}
	}
	total := len(e.mbs)
	probSkipFalse := clampProb(nonSkip * 256 / total)
	probIntra := clampProb(intra * 256 / total)

	if key {
		w.putLiteral(0, 1) // color_space
		w.putLiteral(0, 1) // clamping_type
	}
	w.putLiteral(0, 1) // segmentation_enabled
	w.putLiteral(0, 1) // filter_type: normal
	w.putLiteral(uint32(e.filterLevel), 6)
	w.putLiteral(0, 3) // sharpness_level
	if e.filterLevel == 0 {
		w.putLiteral(0, 1) // loop_filter_adj_enable
	} else {
		// Section 9.6: deltas persist until the next key frame resets
		// them, so they are sent on key frames only. The ZEROMV mode delta
		// -63 turns filtering off for zero-motion macroblocks.
		w.putLiteral(1, 1) // loop_filter_adj_enable
		w.putLiteral(b2u(key), 1)
		if key {
			w.putLiteral(0, 4) // no ref_frame delta updates
			w.putLiteral(0, 1) // mode delta 0 (B_PRED): no update
			w.putLiteral(1, 1) // mode delta 1 (ZEROMV): update
			w.putLiteral(63, 6)
			w.putLiteral(1, 1) // negative
			// Mode delta 2 (NEARESTMV, NEARMV, NEWMV) stays 0: filtering
			// moved macroblocks saves 8-13 % of the bytes of a scroll
			// and 0.25 dB against turning it off.
			w.putLiteral(0, 2) // mode deltas 2 and 3: no update
		}
	}
	w.putLiteral(0, 2) // log2_nbr_of_dct_partitions
	w.putLiteral(uint32(e.qIndex), 7)
	w.putLiteral(0, 5) // no y_dc, y2_dc, y2_ac, uv_dc, uv_ac deltas
	if key {
		w.putLiteral(0, 1) // refresh_entropy_probs: updates last one frame
	} else {
		w.putLiteral(0, 1) // refresh_golden_frame
		w.putLiteral(0, 1) // refresh_alternate_frame
		w.putLiteral(0, 2) // copy_buffer_to_golden: none
		w.putLiteral(0, 2) // copy_buffer_to_alternate: none
		w.putLiteral(0, 1) // sign_bias_golden
		w.putLiteral(0, 1) // sign_bias_alternate
		w.putLiteral(0, 1) // refresh_entropy_probs: updates last one frame
		w.putLiteral(1, 1) // refresh_last
	}
	for i, upd := range flatUpdateProbs {
		w.putBit(e.update[i], upd)
		if e.update[i] {
			w.putLiteral(uint32(e.probs[i]), 8)
		}
	}
	w.putLiteral(1, 1) // mb_no_coeff_skip
	w.putLiteral(uint32(probSkipFalse), 8)
	if !key {
		w.putLiteral(uint32(probIntra), 8)
		w.putLiteral(255, 8) // prob_last: only the last frame is referenced
		w.putLiteral(128, 8) // prob_gf: never used
		w.putLiteral(0, 1)   // intra_16x16_prob_update_flag
		w.putLiteral(0, 1)   // intra_chroma_prob_update_flag
		for i := range mvUpdateProbs {
			for _, p := range mvUpdateProbs[i] {
				w.putBit(false, p) // no motion vector probability update
			}
		}
		e.probIntra = probIntra
	}

	for mby := 0; mby < e.mbh; mby++ {
		for mbx := 0; mbx < e.mbw; mbx++ {
			info := &e.mbs[mby*e.mbw+mbx]
			w.putBit(info.skip, probSkipFalse)
			if key {
				putTree(w, kfYModeBits(int(info.ymode)), kfYModeProbs[:])
				if info.ymode == modeB {
					for b := 0; b < 16; b++ {
						above, left := e.bModeContext(mbx, mby, b, &info.bmodes)
						putBMode(w, int(info.bmodes[b]), &kfBModeProbs[above][left])
					}
				}
				putTree(w, uvModeBits(int(info.uvmode)), kfUVModeProbs[:])
				continue
			}
			w.putBit(info.inter, probIntra)
			if info.inter {
				w.putBit(false, 255) // mb_ref_frame_sel1: last frame
				if info.mvMode == mvZero {
					// Only the first count of the search matters.
					w.putBit(false, modeContexts[e.zeroMVCount(mbx, mby)][0])
					continue
				}
				near := e.findNearMVs(mbx, mby)
				putInterMode(w, &near, info)
				continue
			}
			putTree(w, interYModeBits(int(info.ymode)), interYModeProbs[:])
			if info.ymode == modeB {
				for b := 0; b < 16; b++ {
					putBMode(w, int(info.bmodes[b]), &bModeProbs)
				}
			}
			putTree(w, uvModeBits(int(info.uvmode)), interUVProbs[:])
		}
	}
	w.flush()
}

func clampProb(p int) uint8 {
	return uint8(min(max(p, 1), 255))
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
