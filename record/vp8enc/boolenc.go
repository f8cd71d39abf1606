package vp8enc

import (
	"math"
	"math/bits"
)

// boolEncoder is the boolean entropy encoder of RFC 6386, section 7.3.
// Its buffer is reused across frames: reset keeps the capacity.
type boolEncoder struct {
	buf    []byte
	bottom uint32 // low end of the current interval, shifted left by 24-count
	rng    uint32 // width of the interval, 128..255 between calls
	count  int    // bits still to shift before the next byte leaves bottom
}

func (b *boolEncoder) reset() {
	b.buf = b.buf[:0]
	b.bottom = 0
	b.rng = 255
	b.count = 24
}

// putBit writes bit with probability prob/256 of it being false.
func (b *boolEncoder) putBit(bit bool, prob uint8) {
	split := 1 + (((b.rng - 1) * uint32(prob)) >> 8)
	if bit {
		b.bottom += split
		b.rng -= split
	} else {
		b.rng = split
	}
	if b.rng >= 128 {
		return
	}
	// Normalising by n bits emits no byte when n < count, and bit 31 of
	// bottom (a carry) can only be set right before the shift that
	// completes a byte, so the shifts are done at once, with at most one
	// byte emitted (n <= 7).
	n := bits.LeadingZeros32(b.rng) - 24
	b.rng <<= n
	if n < b.count {
		b.bottom <<= n
		b.count -= n
		return
	}
	// The byte completes after count shifts; the other n-count shifts
	// start the next one.
	c := b.count
	if b.bottom<<(c-1)&(1<<31) != 0 {
		b.carry()
	}
	b.buf = append(b.buf, byte(b.bottom>>(24-c)))
	rest := n - c
	b.bottom = (b.bottom << c) & (1<<24 - 1) << rest
	b.count = 8 - rest
}

// carry propagates an overflow of bottom into the bytes already written.
func (b *boolEncoder) carry() {
	i := len(b.buf) - 1
	for i >= 0 && b.buf[i] == 0xff {
		b.buf[i] = 0
		i--
	}
	if i >= 0 {
		b.buf[i]++
	}
}

// putLiteral writes the n low bits of v, most significant first, each with
// probability 1/2 (the L(n) of RFC 6386, section 19).
func (b *boolEncoder) putLiteral(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		b.putBit(v>>uint(i)&1 != 0, 128)
	}
}

// flush pushes out every pending bit. Padding with 32 zero bits of
// probability 1/2 leaves the decoder's 2-byte look-ahead inside the buffer.
func (b *boolEncoder) flush() {
	for i := 0; i < 32; i++ {
		b.putBit(false, 128)
	}
}

// bitCost[p] is the cost, in 1/256 bit, of coding a false bit with
// probability p/256; a true bit costs bitCost[256-p].
var bitCost [257]uint32

func init() {
	for p := 1; p <= 256; p++ {
		bitCost[p] = uint32(math.Round(-math.Log2(float64(p)/256) * 256))
	}
	bitCost[0] = bitCost[1]
}

// costBit is the cost of coding bit with probability prob, in 1/256 bit.
func costBit(bit bool, prob uint8) uint32 {
	if bit {
		return bitCost[256-int(prob)]
	}
	return bitCost[prob]
}
