// Package vp8enc is a pure-Go VP8 encoder (RFC 6386) specialised for screen
// content, where most of a frame does not change from one frame to the next.
//
// Every macroblock of a key frame is intra coded: 16x16 luma prediction (DC,
// V, H, TM) or B_PRED (sixteen 4x4 subblocks with ten submodes), and 8x8
// chroma prediction, chosen by SATD plus lambda times the mode bits among
// the few candidates that SAD ranks best; an exact prediction is taken at
// once and codes no residual, and B_PRED is tried only where the best 16x16
// prediction is poor (text, not flat areas or gradients). Inter
// frames predict from the last frame only: an unchanged macroblock is
// skipped (zero motion, no residual), a changed one is coded with a
// whole-macroblock motion vector (ZEROMV, NEARESTMV, NEARMV or NEWMV, whole
// luma pixels; see motion.go for the search) plus residual, or as intra,
// whichever costs less. Golden and altref frames are never referenced or
// updated, SPLITMV is never used, and the motion vector probabilities keep
// their defaults.
//
// Coefficient probabilities are updated per frame where that pays
// (section 13.4), and the normal loop filter (section 15) runs in the
// reconstruction exactly as in a decoder; Reconstruction returns what any
// decoder outputs, bit for bit.
//
// Quality maps linearly to the VP8 quantizer index (RFC 6386, section 9.6):
// q = round((100-Quality)*127/99), so Quality 100 is index 0 (finest) and
// Quality 1 is index 127 (coarsest). All quantizer deltas are 0.
//
// An Encoder allocates its buffers in New. Encode allocates nothing once the
// per-row level buffers have grown to the largest frame seen, except one
// small allocation for the helper goroutine of a frame coded on two cores.
package vp8enc

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
)

// DefaultQuality is the quality used when Options.Quality is 0.
const DefaultQuality = 80

// Frame size limits of New: either side at most 4096 pixels (so a
// 2304x4096 portrait screen fits as well as a 4096x2304 landscape one) and
// at most MaxPixels pixels in total.
const (
	MaxWidth  = 4096
	MaxHeight = 4096
	MaxPixels = 4096 * 2304
)

// Options configure an Encoder.
type Options struct {
	// Quality is 1..100, higher is better; 0 means DefaultQuality. It maps to
	// the quantizer index q = round((100-Quality)*127/99).
	Quality int
	// KeyInterval, if positive, forces a key frame once KeyInterval frames
	// have been encoded since the last one. 0 means key frames only on the
	// first frame and when Encode is asked for one.
	KeyInterval int
	// LoopFilter is the loop filter level (RFC 6386, section 15): 0 picks
	// one from the quantizer, -1 turns the filter off, 1..63 is used as is.
	// Zero-motion macroblocks are never filtered (their level is brought to
	// 0 by a mode delta), so static regions stay bit-stable.
	LoopFilter int
	// Workers is the number of goroutines that analyse and reconstruct a
	// frame with many changed macroblocks (a wavefront over macroblock
	// rows); 0 means min(GOMAXPROCS, 2). The output does not depend on it.
	// Every goroutine has ended when Encode returns.
	Workers int
}

// worker holds the per-macroblock scratch of one goroutine coding
// macroblock rows.
type worker struct {
	*Encoder
	predY        [256]byte
	predU, predV [64]byte
	candY        [numModes][256]byte
	candU, candV [numModes][64]byte
	levels       [25][16]int16                           // 16 Y, 4 U, 4 V, Y2; raster order
	exact        bool                                    // decide: the prediction equals the source
	ws           [17][21]byte                            // B_PRED workspace, see loadWorkspace
	stats        struct{ ymodes, bmodes [numBModes]int } // intra modes chosen, for tests
}

var (
	// ErrSize reports a frame size outside 1x1..MaxWidth x MaxHeight or
	// over MaxPixels.
	ErrSize = errors.New("vp8enc: invalid frame size")
	// ErrQuality reports Options.Quality outside 0..100.
	ErrQuality = errors.New("vp8enc: quality out of range")
	// ErrLoopFilter reports Options.LoopFilter outside -1..63.
	ErrLoopFilter = errors.New("vp8enc: loop filter level out of range")
	// ErrImage reports an image that does not fit the encoder: wrong size,
	// not 4:2:0, or planes too short for their strides.
	ErrImage = errors.New("vp8enc: image does not match the encoder")
	// ErrTooLarge reports a first partition over the 19-bit size limit of
	// the frame tag (RFC 6386, section 9.1).
	ErrTooLarge = errors.New("vp8enc: first partition too large")
)

// picture holds the three planes of a frame padded to whole macroblocks.
type picture struct {
	y, u, v []byte
}

// mbInfo is what the first partition needs to know about a macroblock.
type mbInfo struct {
	ymode, uvmode uint8
	inter         bool         // predicted from the last frame
	mvMode        uint8        // mvZero, mvNearest, mvNear or mvNew, if inter
	mv            motionVector // the motion vector, if inter
	skip          bool         // no coefficients (mb_skip_coeff)
	coefs         int32        // offset of the levels in Encoder.rowStore[row], if !skip
	bmodes        [16]uint8    // submodes when ymode is modeB
}

// Encoder encodes a sequence of frames of one size. It is not safe for
// concurrent use.
type Encoder struct {
	width, height    int
	mbw, mbh         int
	yStride, cStride int
	qIndex           int
	filterLevel      int
	keyInterval      int

	// Step sizes (RFC 6386, section 14.1) and the mode decision weight.
	y1dc, y1ac, y2dc, y2ac, uvdc, uvac int32
	lambda                             uint32

	frames   int // frames encoded so far
	sinceKey int // frames since the last key frame

	// src is the padded input. Only macroblocks that changed are copied
	// into it, so between frames it holds the previous input.
	src picture
	// rec is the reconstruction: the last frame's until the macroblocks of
	// the next frame overwrite it one by one; skipped macroblocks keep their
	// pixels, exactly as a decoder's frame buffer. ref is the reference
	// frame of inter prediction, the last frame's reconstruction: a copy of
	// rec that updateRef brings up to date after each frame, only where rec
	// changed.
	rec     picture
	ref     picture
	needKey bool // a failed Encode left rec unlike the decoder's
	recon   image.YCbCr

	mbs        []mbInfo
	changed    []bool     // per macroblock: coded in this frame (inter frames)
	global     []globalMV // frame-level motion vector candidates, see estimateMotion
	lastGlobal []globalMV // the previous frame's
	hashNew    []uint64   // per row: rowHash scratch of estimateMotion
	hashOld    []uint64
	hinted     []bool     // per macroblock: covered by a hint
	dirty      []bool     // per macroblock: scratch of updateRef
	aboveNz    [][9]uint8 // per column: 4 Y, 2 U, 2 V, 1 Y2 non-zero flags
	leftNz     [9]uint8

	probIntra uint8 // estimate used for mode decisions

	probs  [numCoefProbs]uint8
	update [numCoefProbs]bool
	counts [numCoefProbs][2]uint32

	hdr, tok boolEncoder
	out      []byte

	noBPred  bool // B_PRED is off for the frame being coded
	noMotion bool // tests: no motion search, every inter macroblock ZEROMV
	workers  []*worker
	prog     progress
	wg       sync.WaitGroup
	rowStore [][]int16 // per row: levels of its coded macroblocks, 25*16 each
}

// New returns an encoder for width x height frames.
func New(width, height int, opts Options) (*Encoder, error) {
	if width < 1 || height < 1 || width > MaxWidth || height > MaxHeight || width*height > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrSize, width, height)
	}
	quality := opts.Quality
	if quality == 0 {
		quality = DefaultQuality
	}
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("%w: %d", ErrQuality, opts.Quality)
	}
	if opts.LoopFilter < -1 || opts.LoopFilter > 63 {
		return nil, fmt.Errorf("%w: %d", ErrLoopFilter, opts.LoopFilter)
	}
	e := &Encoder{
		width:       width,
		height:      height,
		mbw:         (width + 15) / 16,
		mbh:         (height + 15) / 16,
		keyInterval: opts.KeyInterval,
		qIndex:      QuantizerIndex(quality),
		probIntra:   32,
	}
	e.yStride = e.mbw * 16
	e.cStride = e.mbw * 8
	e.setQuant(e.qIndex)
	switch {
	case opts.LoopFilter > 0:
		e.filterLevel = opts.LoopFilter
	case opts.LoopFilter == 0:
		e.filterLevel = AutoFilterLevel(e.qIndex)
	}
	ySize := e.yStride * e.mbh * 16
	cSize := e.cStride * e.mbh * 8
	for _, p := range []*picture{&e.src, &e.rec, &e.ref} {
		p.y = make([]byte, ySize)
		p.u = make([]byte, cSize)
		p.v = make([]byte, cSize)
	}
	n := e.mbw * e.mbh
	e.mbs = make([]mbInfo, n)
	e.changed = make([]bool, n)
	e.hinted = make([]bool, n)
	e.dirty = make([]bool, n)
	e.global = make([]globalMV, 0, maxGlobal+1)
	e.lastGlobal = make([]globalMV, 0, maxGlobal+1)
	e.hashNew = make([]uint64, height)
	e.hashOld = make([]uint64, height)
	e.aboveNz = make([][9]uint8, e.mbw)
	e.rowStore = make([][]int16, e.mbh)
	nw := opts.Workers
	if nw <= 0 {
		nw = min(runtime.GOMAXPROCS(0), 2)
	}
	nw = min(nw, 8)
	for range nw {
		e.workers = append(e.workers, &worker{Encoder: e})
	}
	e.tok.buf = make([]byte, 0, 64<<10)
	e.hdr.buf = make([]byte, 0, 16<<10)
	return e, nil
}

// maxFirstPartition is the exclusive limit of the first partition size
// (RFC 6386, section 9.1); tests lower it.
var maxFirstPartition = 1 << 19

// QuantizerIndex returns the VP8 quantizer index (0..127) that quality
// (1..100) maps to: round((100-quality)*127/99).
func QuantizerIndex(quality int) int {
	quality = min(max(quality, 1), 100)
	return ((100-quality)*127 + 49) / 99
}

// AutoFilterLevel is the loop filter level used for quantizer index q when
// Options.LoopFilter is 0.
func AutoFilterLevel(q int) int {
	return min(q/3, 63)
}

// setQuant derives the step sizes of quantizer index q as a decoder does
// (RFC 6386, sections 9.6 and 14.1), with all deltas 0.
func (e *Encoder) setQuant(q int) {
	e.y1dc = dcQuantTable[q]
	e.y1ac = acQuantTable[q]
	e.y2dc = dcQuantTable[q] * 2
	e.y2ac = acQuantTable[q] * 155 / 100
	if e.y2ac < 8 {
		e.y2ac = 8
	}
	e.uvdc = dcQuantTable[min(q, 117)]
	e.uvac = acQuantTable[q]
	e.lambda = uint32(max(e.y1ac/2, 1))
}

// Encode compresses img, a width x height 4:2:0 image with any strides, into
// one VP8 frame as stored in a WebM SimpleBlock: the frame tag, for key
// frames the start code and dimensions, then the first partition and one
// token partition (RFC 6386, sections 9 and 19).
//
// hints, if non-nil, are the rectangles (in img's coordinates) that changed
// since the previous frame; macroblocks outside every hint are coded as
// skipped, so hints must cover every change, and macroblocks inside are
// compared with the previous input so that coarse hints cost nothing. An
// empty non-nil hints means nothing changed. A nil hints makes the encoder
// compare all of img with the previous input. forceKey forces a key frame;
// the first frame is always one.
//
// The returned frame aliases an internal buffer that is valid until the next
// call to Encode.
func (e *Encoder) Encode(img *image.YCbCr, hints []image.Rectangle, forceKey bool) (frame []byte, key bool, err error) {
	if err := e.checkImage(img); err != nil {
		return nil, false, err
	}
	key = forceKey || e.frames == 0 || e.needKey || (e.keyInterval > 0 && e.sinceKey >= e.keyInterval)
	if key {
		e.loadSource(img)
	} else {
		e.loadChanged(img, hints)
	}
	// The first partition holds the modes; its size has 19 bits in the
	// frame tag. Only B_PRED submodes can make it that large (on huge
	// frames of noise), so the frame is coded again without B_PRED then,
	// as a key frame because rec no longer holds the reference.
	e.noBPred = false
	for {
		e.encodeMacroblocks(key)
		if e.filterLevel > 0 {
			e.loopFilter(key)
		}
		e.chooseProbs()
		e.writeHeader(key)
		if len(e.hdr.buf) < maxFirstPartition {
			break
		}
		if e.noBPred {
			e.needKey = true
			return nil, false, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(e.hdr.buf))
		}
		e.noBPred = true
		if !key {
			key = true
			e.loadSource(img)
		}
	}
	e.needKey = false
	e.updateRef(key)
	e.tok.reset()
	e.writeTokens(&tokenSink{enc: &e.tok, probs: &e.probs})
	e.tok.flush()
	e.out = e.out[:0]
	tag := uint32(len(e.hdr.buf))<<5 | 1<<4 // version 0, show_frame
	if !key {
		tag |= 1
	}
	e.out = append(e.out, byte(tag), byte(tag>>8), byte(tag>>16))
	if key {
		e.out = append(e.out, 0x9d, 0x01, 0x2a,
			byte(e.width), byte(e.width>>8), byte(e.height), byte(e.height>>8))
	}
	e.out = append(e.out, e.hdr.buf...)
	e.out = append(e.out, e.tok.buf...)

	e.frames++
	if key {
		e.sinceKey = 1
	} else {
		e.sinceKey++
	}
	return e.out, key, nil
}

// Reconstruction returns what a decoder outputs for the last encoded frame
// (visible area only). The image aliases encoder memory: it is valid until
// the next call to Encode and must not be modified. Before the first Encode
// it returns nil.
func (e *Encoder) Reconstruction() *image.YCbCr {
	if e.frames == 0 {
		return nil
	}
	e.recon = image.YCbCr{
		Y:              e.rec.y,
		Cb:             e.rec.u,
		Cr:             e.rec.v,
		YStride:        e.yStride,
		CStride:        e.cStride,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, e.width, e.height),
	}
	return &e.recon
}

// checkImage reports whether img fits the encoder.
func (e *Encoder) checkImage(img *image.YCbCr) error {
	if img == nil || img.Rect.Dx() != e.width || img.Rect.Dy() != e.height ||
		img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return ErrImage
	}
	cw, ch := (e.width+1)/2, (e.height+1)/2
	min := img.Rect.Min
	if img.YStride < e.width || img.CStride < cw ||
		img.YOffset(min.X, min.Y+e.height-1)+e.width > len(img.Y) ||
		img.COffset(min.X, min.Y+2*(ch-1))+cw > len(img.Cb) ||
		img.COffset(min.X, min.Y+2*(ch-1))+cw > len(img.Cr) {
		return fmt.Errorf("%w: planes too short", ErrImage)
	}
	return nil
}

// loadSource copies all of img into e.src.
func (e *Encoder) loadSource(img *image.YCbCr) {
	for mby := 0; mby < e.mbh; mby++ {
		for mbx := 0; mbx < e.mbw; mbx++ {
			e.copyMB(img, mbx, mby)
		}
	}
}

// loadChanged sets e.changed for every macroblock that hints cover or,
// with nil hints, whose pixels differ from the previous input, finds the
// frame's motion vector candidates (estimateMotion), and copies the changed
// macroblocks of img into e.src. hints are in img's coordinates.
func (e *Encoder) loadChanged(img *image.YCbCr, hints []image.Rectangle) {
	if hints == nil {
		for mby := 0; mby < e.mbh; mby++ {
			for mbx := 0; mbx < e.mbw; mbx++ {
				e.changed[mby*e.mbw+mbx] = e.differs(img, mbx, mby)
			}
		}
	} else {
		// Macroblocks outside the hints are trusted to be unchanged;
		// inside, coarse hints are refined by comparing the pixels.
		clear(e.hinted)
		bounds := image.Rect(0, 0, e.width, e.height)
		for _, h := range hints {
			r := h.Sub(img.Rect.Min).Intersect(bounds)
			if r.Empty() {
				continue
			}
			for mby := r.Min.Y / 16; mby <= (r.Max.Y-1)/16; mby++ {
				row := e.hinted[mby*e.mbw:]
				for mbx := r.Min.X / 16; mbx <= (r.Max.X-1)/16; mbx++ {
					row[mbx] = true
				}
			}
		}
		for i, h := range e.hinted {
			e.changed[i] = h && e.differs(img, i%e.mbw, i/e.mbw)
		}
	}
	// e.src still holds the previous input: compare it with img.
	e.estimateMotion(&image420{
		y:       img.Y,
		yStride: img.YStride,
		yOff:    img.YOffset(img.Rect.Min.X, img.Rect.Min.Y),
	})
	for i, c := range e.changed {
		if c {
			e.copyMB(img, i%e.mbw, i/e.mbw)
		}
	}
}

// updateRef copies into e.ref what the frame just coded changed in e.rec:
// everything after a key frame; after an inter frame the coded macroblocks
// and their neighbours, which the loop filter may have touched.
func (e *Encoder) updateRef(key bool) {
	if key {
		copy(e.ref.y, e.rec.y)
		copy(e.ref.u, e.rec.u)
		copy(e.ref.v, e.rec.v)
		return
	}
	clear(e.dirty)
	for i, c := range e.changed {
		if !c {
			continue
		}
		mbx, mby := i%e.mbw, i/e.mbw
		for y := max(mby-1, 0); y <= min(mby+1, e.mbh-1); y++ {
			row := e.dirty[y*e.mbw:]
			for x := max(mbx-1, 0); x <= min(mbx+1, e.mbw-1); x++ {
				row[x] = true
			}
		}
	}
	for i, d := range e.dirty {
		if !d {
			continue
		}
		mbx, mby := i%e.mbw, i/e.mbw
		yo := mby*16*e.yStride + mbx*16
		for r := 0; r < 16; r++ {
			o := yo + r*e.yStride
			*(*[16]byte)(e.ref.y[o:]) = *(*[16]byte)(e.rec.y[o:])
		}
		co := mby*8*e.cStride + mbx*8
		for r := 0; r < 8; r++ {
			o := co + r*e.cStride
			*(*[8]byte)(e.ref.u[o:]) = *(*[8]byte)(e.rec.u[o:])
			*(*[8]byte)(e.ref.v[o:]) = *(*[8]byte)(e.rec.v[o:])
		}
	}
}

// mbSpan returns, for macroblock (mbx, mby) and a plane of block size n
// and visible size w x h, the first column and row and the number of
// visible columns and rows.
func mbSpan(mbx, mby, n, w, h int) (x0, y0, cols, rows int) {
	x0, y0 = mbx*n, mby*n
	return x0, y0, min(n, w-x0), min(n, h-y0)
}

// copyMB copies macroblock (mbx, mby) of img into e.src, replicating the
// last visible column and row into the padding.
func (e *Encoder) copyMB(img *image.YCbCr, mbx, mby int) {
	o := img.Rect.Min
	x0, y0, cols, rows := mbSpan(mbx, mby, 16, e.width, e.height)
	for r := 0; r < 16; r++ {
		s := img.YOffset(o.X+x0, o.Y+y0+min(r, rows-1))
		padRow(e.src.y[(y0+r)*e.yStride+x0:][:16], img.Y[s:s+cols])
	}
	cw, ch := (e.width+1)/2, (e.height+1)/2
	x0, y0, cols, rows = mbSpan(mbx, mby, 8, cw, ch)
	for r := 0; r < 8; r++ {
		s := img.COffset(o.X+2*x0, o.Y+2*(y0+min(r, rows-1)))
		d := (y0+r)*e.cStride + x0
		padRow(e.src.u[d:d+8], img.Cb[s:s+cols])
		padRow(e.src.v[d:d+8], img.Cr[s:s+cols])
	}
}

// padRow copies src to the start of dst and repeats its last byte.
func padRow(dst, src []byte) {
	if len(dst) == 16 && len(src) == 16 {
		*(*[16]byte)(dst) = *(*[16]byte)(src)
		return
	}
	if len(dst) == 8 && len(src) == 8 {
		*(*[8]byte)(dst) = *(*[8]byte)(src)
		return
	}
	n := copy(dst, src)
	for i := n; i < len(dst); i++ {
		dst[i] = src[n-1]
	}
}

// differs reports whether the visible pixels of macroblock (mbx, mby)
// differ between img and e.src.
func (e *Encoder) differs(img *image.YCbCr, mbx, mby int) bool {
	o := img.Rect.Min
	x0, y0, cols, rows := mbSpan(mbx, mby, 16, e.width, e.height)
	for r := 0; r < rows; r++ {
		s := img.YOffset(o.X+x0, o.Y+y0+r)
		d := (y0+r)*e.yStride + x0
		if string(img.Y[s:s+cols]) != string(e.src.y[d:d+cols]) {
			return true
		}
	}
	cw, ch := (e.width+1)/2, (e.height+1)/2
	x0, y0, cols, rows = mbSpan(mbx, mby, 8, cw, ch)
	for r := 0; r < rows; r++ {
		s := img.COffset(o.X+2*x0, o.Y+2*(y0+r))
		d := (y0+r)*e.cStride + x0
		if string(img.Cb[s:s+cols]) != string(e.src.u[d:d+cols]) ||
			string(img.Cr[s:s+cols]) != string(e.src.v[d:d+cols]) {
			return true
		}
	}
	return false
}
