//go:build libvpx

package libvpx

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/reckit/reckit/record/vp8enc"
)

// libvpx takes its quantizer on a 0..63 scale and translates it to the
// bitstream's quantizer index 0..127 (RFC 6386, section 9.6) with a table
// of its own. Rather than restate that table, the package measures it: the
// first call to QIndex or QuantizerFor encodes a 16x16 key frame at every
// libvpx quantizer and reads y_ac_qi back from the frame header
// (quantIndex below). QuantizerFor then maps a reckit quality the way
// vp8enc does, quality -> q index round((100-quality)*127/99)
// (vp8enc.QuantizerIndex), and picks the libvpx quantizer whose index is
// nearest to it (the finer one on a tie). At reckit's default quality 80
// that is q index 26.

var (
	qTableOnce sync.Once
	qTable     [MaxQuantizer + 1]int
	qTableErr  error
)

func measureQTable() {
	img := image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(16 + 8*i%200)
	}
	for q := range qTable {
		e, err := Open(16, 16, Options{Quantizer: q})
		if err != nil {
			qTableErr = err
			return
		}
		frame, _, err := e.Encode(img, nil, true)
		if err == nil {
			var h FrameQuant
			h, err = ParseQuant(frame)
			qTable[q] = h.Index
		}
		e.Close()
		if err != nil {
			qTableErr = fmt.Errorf("libvpx: measuring quantizer %d: %w", q, err)
			return
		}
	}
}

// QIndex returns the bitstream quantizer index (0..127) that libvpx codes
// for its quantizer q (0..63), as measured from libvpx's own output.
func QIndex(q int) (int, error) {
	if q < 0 || q > MaxQuantizer {
		return 0, fmt.Errorf("%w: %d", ErrQuantizer, q)
	}
	qTableOnce.Do(measureQTable)
	if qTableErr != nil {
		return 0, qTableErr
	}
	return qTable[q], nil
}

// QuantizerFor returns the libvpx quantizer (0..63) whose bitstream index
// is nearest to vp8enc.QuantizerIndex(quality), the index reckit's own
// encoder uses at that quality. quality 0 means vp8enc.DefaultQuality.
func QuantizerFor(quality int) (int, error) {
	if quality == 0 {
		quality = vp8enc.DefaultQuality
	}
	if quality < 1 || quality > 100 {
		return 0, fmt.Errorf("%w: %d", ErrQuality, quality)
	}
	want := vp8enc.QuantizerIndex(quality)
	best, bestDiff := 0, 1<<30
	for q := 0; q <= MaxQuantizer; q++ {
		idx, err := QIndex(q)
		if err != nil {
			return 0, err
		}
		d := idx - want
		if d < 0 {
			d = -d
		}
		if d < bestDiff {
			best, bestDiff = q, d
		}
	}
	return best, nil
}

// ErrHeader reports a VP8 frame whose header could not be read.
var ErrHeader = errors.New("libvpx: malformed VP8 frame header")

// FrameQuant is the quantizer part of a VP8 frame header (RFC 6386,
// sections 9.3 and 9.6).
type FrameQuant struct {
	Key          bool
	Segmentation bool // segmentation_enabled: per-segment quantizers may apply
	Index        int  // y_ac_qi, 0..127
	// Deltas: y_dc, y2_dc, y2_ac, uv_dc, uv_ac (-15..15).
	Deltas [5]int
}

// ParseQuant reads the frame header of a VP8 frame up to the quantizer
// indices (RFC 6386, section 19.2).
func ParseQuant(frame []byte) (FrameQuant, error) {
	var fq FrameQuant
	if len(frame) < 3 {
		return fq, fmt.Errorf("%w: %d bytes", ErrHeader, len(frame))
	}
	tag := uint32(frame[0]) | uint32(frame[1])<<8 | uint32(frame[2])<<16
	fq.Key = tag&1 == 0
	first := int(tag >> 5)
	start := 3
	if fq.Key {
		start = 10
	}
	if len(frame) < start+first || first < 2 {
		return fq, fmt.Errorf("%w: first partition of %d bytes in a %d-byte frame", ErrHeader, first, len(frame))
	}
	d := boolDecoder{buf: frame[start : start+first]}
	d.init()
	if fq.Key {
		d.lit(2) // color_space, clamping_type
	}
	if d.lit(1) == 1 { // segmentation_enabled
		fq.Segmentation = true
		updateMap := d.lit(1)
		if d.lit(1) == 1 { // update_segment_feature_data
			d.lit(1) // segment_feature_mode
			for range 4 {
				d.optSigned(7) // quantizer
			}
			for range 4 {
				d.optSigned(6) // loop filter level
			}
		}
		if updateMap == 1 {
			for range 3 {
				if d.lit(1) == 1 {
					d.lit(8)
				}
			}
		}
	}
	d.lit(1 + 6 + 3)   // filter_type, loop_filter_level, sharpness_level
	if d.lit(1) == 1 { // loop_filter_adj_enable
		if d.lit(1) == 1 { // mode_ref_lf_delta_update
			for range 8 {
				d.optSigned(6)
			}
		}
	}
	d.lit(2) // log2_nbr_of_dct_partitions
	fq.Index = d.lit(7)
	for i := range fq.Deltas {
		fq.Deltas[i] = d.optSigned(4)
	}
	if d.overrun {
		return fq, fmt.Errorf("%w: header runs past the first partition", ErrHeader)
	}
	return fq, nil
}

// boolDecoder is the boolean entropy decoder of RFC 6386, section 7,
// reading literals only (probability 128).
type boolDecoder struct {
	buf     []byte
	pos     int
	value   uint32
	rng     uint32
	bits    int
	overrun bool
}

func (d *boolDecoder) next() uint32 {
	if d.pos < len(d.buf) {
		d.pos++
		return uint32(d.buf[d.pos-1])
	}
	d.overrun = true
	return 0
}

func (d *boolDecoder) init() {
	d.value = d.next()<<8 | d.next()
	d.rng = 255
}

func (d *boolDecoder) bool(prob uint32) int {
	split := 1 + ((d.rng-1)*prob)>>8
	bigSplit := split << 8
	var b int
	if d.value >= bigSplit {
		b = 1
		d.rng -= split
		d.value -= bigSplit
	} else {
		d.rng = split
	}
	for d.rng < 128 {
		d.value <<= 1
		d.rng <<= 1
		d.bits++
		if d.bits == 8 {
			d.bits = 0
			d.value |= d.next()
		}
	}
	return b
}

// lit reads an n-bit unsigned literal, most significant bit first.
func (d *boolDecoder) lit(n int) int {
	v := 0
	for range n {
		v = v<<1 | d.bool(128)
	}
	return v
}

// optSigned reads a flag and, if set, an n-bit magnitude and a sign.
func (d *boolDecoder) optSigned(n int) int {
	if d.lit(1) == 0 {
		return 0
	}
	v := d.lit(n)
	if d.lit(1) == 1 {
		v = -v
	}
	return v
}
