package vp8enc

// This file implements B_PRED: 16 luma subblocks of 4x4, each predicted
// from its reconstructed neighbours with one of ten submodes (RFC 6386,
// sections 11.3 to 11.5 and 12.3).

// modeB is the luma mode B_PRED, after the four 16x16 modes.
const modeB = numModes

// Submodes, in the order of the probability tables in tables.go.
const (
	bDC = iota
	bTM
	bVE
	bHE
	bRD
	bVR
	bLD
	bVL
	bHD
	bHU
	numBModes
)

// impliedBMode is the submode a 16x16 mode stands for in the contexts of
// neighbouring B_PRED macroblocks (section 11.3).
var impliedBMode = [numModes]uint8{modeDC: bDC, modeV: bVE, modeH: bHE, modeTM: bTM}

// putBMode writes submode m with the nine probabilities probs.
func putBMode(w *boolEncoder, m int, probs *[9]uint8) {
	for _, b := range bModeTree[m] {
		w.putBit(b.bit, probs[b.prob])
	}
}

// bPreselect is how many submodes of a B_PRED subblock, the best by SAD,
// tryBPred rates by SATD.
const bPreselect = 2

// sad4 is the sum of absolute differences of a 4x4 block of a (stride as)
// and p.
func sad4(a []byte, as int, p *[16]byte) uint32 {
	var s uint32
	for r := 0; r < 4; r++ {
		ra := (*[4]byte)(a[r*as:])
		for c := 0; c < 4; c++ {
			d := int32(ra[c]) - int32(p[r*4+c])
			m := d >> 31
			s += uint32((d ^ m) - m)
		}
	}
	return s
}

// Costs in 1/256 bit of the submodes in key frames, by the submodes above
// and to the left, and in inter frames.
var (
	kfBModeCost    [numBModes][numBModes][numBModes]uint32
	interBModeCost [numBModes]uint32
)

func init() {
	for a := range kfBModeCost {
		for l := range kfBModeCost[a] {
			for m := range kfBModeCost[a][l] {
				kfBModeCost[a][l][m] = bModeCost(m, &kfBModeProbs[a][l])
			}
		}
	}
	for m := range interBModeCost {
		interBModeCost[m] = bModeCost(m, &bModeProbs)
	}
}

// bModeCost is the cost of submode m in 1/256 bit.
func bModeCost(m int, probs *[9]uint8) uint32 {
	var c uint32
	for _, b := range bModeTree[m] {
		c += costBit(b.bit, probs[b.prob])
	}
	return c
}

// treeBit is one branch of a tree path: the bit and the index of the
// probability it is coded with.
type treeBit struct {
	bit  bool
	prob uint8
}

// bModeTree is the path of each submode in bmode_tree (section 11.2).
var bModeTree = [numBModes][]treeBit{
	bDC: {{false, 0}},
	bTM: {{true, 0}, {false, 1}},
	bVE: {{true, 0}, {true, 1}, {false, 2}},
	bHE: {{true, 0}, {true, 1}, {true, 2}, {false, 3}, {false, 4}},
	bRD: {{true, 0}, {true, 1}, {true, 2}, {false, 3}, {true, 4}, {false, 5}},
	bVR: {{true, 0}, {true, 1}, {true, 2}, {false, 3}, {true, 4}, {true, 5}},
	bLD: {{true, 0}, {true, 1}, {true, 2}, {true, 3}, {false, 6}},
	bVL: {{true, 0}, {true, 1}, {true, 2}, {true, 3}, {true, 6}, {false, 7}},
	bHD: {{true, 0}, {true, 1}, {true, 2}, {true, 3}, {true, 6}, {true, 7}, {false, 8}},
	bHU: {{true, 0}, {true, 1}, {true, 2}, {true, 3}, {true, 6}, {true, 7}, {true, 8}},
}

// bEdges are the neighbours of a 4x4 subblock: e[0..3] the left column from
// bottom to top, e[4] the above-left pixel, e[5..12] the row above
// including four pixels above-right (the edge array of section 12.3).
type bEdges [13]int32

func avg2(x, y int32) byte    { return byte((x + y + 1) >> 1) }
func avg3(x, y, z int32) byte { return byte((x + 2*y + z + 2) >> 2) }

// predict4 writes the 4x4 prediction of submode m (raster order) into out.
func (e *bEdges) predict4(m int, out *[16]byte) {
	L := func(i int) int32 { return e[3-i] } // left, top to bottom
	A := func(i int) int32 { return e[5+i] } // above, i = -1..7
	E := func(i int) int32 { return e[i] }
	set := func(r, c int, v byte) { out[r*4+c] = v }
	switch m {
	case bDC:
		s := int32(4)
		for i := 0; i < 4; i++ {
			s += A(i) + L(i)
		}
		for i := range out {
			out[i] = byte(s >> 3)
		}
	case bTM:
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				set(r, c, clamp255(L(r)+A(c)-A(-1)))
			}
		}
	case bVE:
		for c := 0; c < 4; c++ {
			v := avg3(A(c-1), A(c), A(c+1))
			for r := 0; r < 4; r++ {
				set(r, c, v)
			}
		}
	case bHE:
		rows := [4]byte{avg3(A(-1), L(0), L(1)), avg3(L(0), L(1), L(2)), avg3(L(1), L(2), L(3)), avg3(L(2), L(3), L(3))}
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				set(r, c, rows[r])
			}
		}
	case bLD:
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				i := r + c
				if i == 6 {
					set(r, c, avg3(A(6), A(7), A(7)))
				} else {
					set(r, c, avg3(A(i), A(i+1), A(i+2)))
				}
			}
		}
	case bRD:
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				i := 3 - r + c
				set(r, c, avg3(E(i), E(i+1), E(i+2)))
			}
		}
	case bVR:
		set(3, 0, avg3(E(1), E(2), E(3)))
		set(2, 0, avg3(E(2), E(3), E(4)))
		v := avg3(E(3), E(4), E(5))
		set(3, 1, v)
		set(1, 0, v)
		v = avg2(E(4), E(5))
		set(2, 1, v)
		set(0, 0, v)
		v = avg3(E(4), E(5), E(6))
		set(3, 2, v)
		set(1, 1, v)
		v = avg2(E(5), E(6))
		set(2, 2, v)
		set(0, 1, v)
		v = avg3(E(5), E(6), E(7))
		set(3, 3, v)
		set(1, 2, v)
		v = avg2(E(6), E(7))
		set(2, 3, v)
		set(0, 2, v)
		set(1, 3, avg3(E(6), E(7), E(8)))
		set(0, 3, avg2(E(7), E(8)))
	case bVL:
		set(0, 0, avg2(A(0), A(1)))
		set(1, 0, avg3(A(0), A(1), A(2)))
		v := avg2(A(1), A(2))
		set(2, 0, v)
		set(0, 1, v)
		v = avg3(A(1), A(2), A(3))
		set(1, 1, v)
		set(3, 0, v)
		v = avg2(A(2), A(3))
		set(2, 1, v)
		set(0, 2, v)
		v = avg3(A(2), A(3), A(4))
		set(3, 1, v)
		set(1, 2, v)
		v = avg2(A(3), A(4))
		set(2, 2, v)
		set(0, 3, v)
		v = avg3(A(3), A(4), A(5))
		set(3, 2, v)
		set(1, 3, v)
		set(2, 3, avg3(A(4), A(5), A(6)))
		set(3, 3, avg3(A(5), A(6), A(7)))
	case bHD:
		set(3, 0, avg2(E(0), E(1)))
		set(3, 1, avg3(E(0), E(1), E(2)))
		v := avg2(E(1), E(2))
		set(2, 0, v)
		set(3, 2, v)
		v = avg3(E(1), E(2), E(3))
		set(2, 1, v)
		set(3, 3, v)
		v = avg2(E(2), E(3))
		set(2, 2, v)
		set(1, 0, v)
		v = avg3(E(2), E(3), E(4))
		set(2, 3, v)
		set(1, 1, v)
		v = avg2(E(3), E(4))
		set(1, 2, v)
		set(0, 0, v)
		v = avg3(E(3), E(4), E(5))
		set(1, 3, v)
		set(0, 1, v)
		set(0, 2, avg3(E(4), E(5), E(6)))
		set(0, 3, avg3(E(5), E(6), E(7)))
	case bHU:
		set(0, 0, avg2(L(0), L(1)))
		set(0, 1, avg3(L(0), L(1), L(2)))
		v := avg2(L(1), L(2))
		set(0, 2, v)
		set(1, 0, v)
		v = avg3(L(1), L(2), L(3))
		set(0, 3, v)
		set(1, 1, v)
		v = avg2(L(2), L(3))
		set(1, 2, v)
		set(2, 0, v)
		v = avg3(L(2), L(3), L(3))
		set(1, 3, v)
		set(2, 1, v)
		l3 := byte(L(3))
		set(2, 2, l3)
		set(2, 3, l3)
		for c := 0; c < 4; c++ {
			set(3, c, l3)
		}
	}
}

// loadWorkspace fills e.ws with the neighbours of macroblock (mbx, mby) of
// e.rec: row 0 is the row above (ws[0][0] the above-left pixel, ws[0][17..20]
// the four pixels above-right), column 0 the column to the left. Outside the
// frame the row above is 127 and the column left 129 (section 12.2); the
// above-right pixels of the last column repeat the last pixel of the row
// above, as in a decoder's extended frame border.
func (e *worker) loadWorkspace(mbx, mby int) {
	ws := &e.ws
	if mby == 0 {
		for i := range ws[0] {
			ws[0][i] = 127
		}
	} else {
		row := e.rec.y[(mby*16-1)*e.yStride:]
		x := mbx * 16
		if mbx == 0 {
			ws[0][0] = 129
		} else {
			ws[0][0] = row[x-1]
		}
		copy(ws[0][1:17], row[x:x+16])
		if mbx == e.mbw-1 {
			for i := 17; i < 21; i++ {
				ws[0][i] = row[x+15]
			}
		} else {
			copy(ws[0][17:21], row[x+16:x+20])
		}
	}
	for r := 0; r < 16; r++ {
		if mbx == 0 {
			ws[1+r][0] = 129
		} else {
			ws[1+r][0] = e.rec.y[(mby*16+r)*e.yStride+mbx*16-1]
		}
	}
}

// subEdges gathers the neighbours of subblock (bx, by) (in subblocks) from
// the workspace. Subblocks in the right column take their above-right
// pixels from the row above the macroblock (section 12.3).
func (e *worker) subEdges(bx, by int, ed *bEdges) {
	ws := &e.ws
	x, y := 1+bx*4, by*4 // ws column of the first pixel, ws row above it
	for i := 0; i < 4; i++ {
		ed[3-i] = int32(ws[y+1+i][x-1])
	}
	ed[4] = int32(ws[y][x-1])
	for i := 0; i < 4; i++ {
		ed[5+i] = int32(ws[y][x+i])
	}
	for i := 0; i < 4; i++ {
		if bx == 3 {
			ed[9+i] = int32(ws[0][17+i])
		} else {
			ed[9+i] = int32(ws[y][x+4+i])
		}
	}
}

// tryBPred codes the luma of macroblock (mbx, mby) with B_PRED, choosing
// each submode by SATD plus lambda times its bits among the bPreselect
// best by SAD, and returns the total cost. The levels go to
// e.levels[0:16], the submodes to modes and the reconstruction to e.ws.
func (e *worker) tryBPred(mbx, mby int, key bool, modes *[16]uint8) uint32 {
	e.loadWorkspace(mbx, mby)
	src := e.src.y[mby*16*e.yStride+mbx*16:]
	var ed bEdges
	var cands [numBModes][16]byte
	var total uint32
	for b := 0; b < 16; b++ {
		bx, by := b&3, b>>2
		e.subEdges(bx, by, &ed)
		costs := &interBModeCost
		if key {
			above, left := e.bModeContext(mbx, mby, b, modes)
			costs = &kfBModeCost[above][left]
		}
		s := src[by*4*e.yStride+bx*4:]
		// Every submode is rated by SAD (a quarter of the work of SATD),
		// then the bPreselect best by SATD plus lambda times its bits.
		var top [bPreselect]int
		var topCost [bPreselect]uint32
		nt := 0
		for m := 0; m < numBModes; m++ {
			rate := e.lambda * costs[m]
			if nt == bPreselect && rate >= topCost[nt-1] {
				continue
			}
			ed.predict4(m, &cands[m])
			c := sad4(s, e.yStride, &cands[m])*2*256 + rate
			if nt < bPreselect {
				nt++
			} else if c >= topCost[nt-1] {
				continue
			}
			j := nt - 1
			for ; j > 0 && topCost[j-1] > c; j-- {
				top[j], topCost[j] = top[j-1], topCost[j-1]
			}
			top[j], topCost[j] = m, c
		}
		best, bestCost := 0, ^uint32(0)
		for _, m := range top[:nt] {
			c := satd4(s, e.yStride, cands[m][:], 4)*256 + e.lambda*costs[m]
			if c < bestCost {
				best, bestCost = m, c
			}
		}
		modes[b] = uint8(best)
		total += bestCost
		e.codeSubblock(s, &cands[best], b, bx, by)
	}
	return total
}

// codeSubblock transforms and quantizes one B_PRED subblock (DC and AC
// with the Y1 step sizes, no Y2) into e.levels[b] and writes its
// reconstruction into the workspace.
func (e *worker) codeSubblock(src []byte, pred *[16]byte, b, bx, by int) {
	var res, coef [16]int32
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			res[r*4+c] = int32(src[r*e.yStride+c]) - int32(pred[r*4+c])
		}
	}
	fdct4(&res, &coef)
	lv := &e.levels[b]
	lv[0] = quantize(coef[0], e.y1dc, biasDC)
	coef[0] = int32(lv[0]) * e.y1dc
	any := lv[0] != 0
	for i := 1; i < 16; i++ {
		lv[i] = quantize(coef[i], e.y1ac, biasAC)
		coef[i] = int32(lv[i]) * e.y1ac
		if lv[i] != 0 {
			any = true
		}
	}
	var blk [16]byte
	copy(blk[:], pred[:])
	if any {
		idct4Add(&coef, blk[:], 4)
	}
	for r := 0; r < 4; r++ {
		copy(e.ws[1+by*4+r][1+bx*4:1+bx*4+4], blk[r*4:r*4+4])
	}
}

// bModeContext returns the submodes above and to the left of subblock b of
// macroblock (mbx, mby) for the key frame contexts of section 11.3: from
// modes (the macroblock's own submodes so far) inside the macroblock, from
// the neighbouring macroblock otherwise, where a 16x16 mode stands for its
// implied submode and the outside of the frame for B_DC_PRED.
func (e *Encoder) bModeContext(mbx, mby, b int, modes *[16]uint8) (above, left uint8) {
	bx, by := b&3, b>>2
	switch {
	case by > 0:
		above = modes[b-4]
	case mby > 0:
		above = e.mbs[(mby-1)*e.mbw+mbx].subMode(12 + bx)
	}
	switch {
	case bx > 0:
		left = modes[b-1]
	case mbx > 0:
		left = e.mbs[mby*e.mbw+mbx-1].subMode(by*4 + 3)
	}
	return above, left
}

// subMode is the submode of subblock b of an intra macroblock for the
// contexts of its neighbours.
func (m *mbInfo) subMode(b int) uint8 {
	if m.ymode == modeB {
		return m.bmodes[b]
	}
	return impliedBMode[m.ymode]
}

// bPredGate is the cost of the best 16x16 luma prediction, in bits' worth
// of lambda, below which B_PRED is not tried: measured on the demo
// desktop's key frames, B_PRED almost never wins below it (same bytes, a
// quarter less CPU than a gate of 8).
const bPredGate = 64
