package mux

import "errors"

// Variable-size integers, RFC 8794 section 4. An element ID keeps its length
// marker bits; a data size does not, and a size whose value bits are all ones
// means "unknown".

// UnknownSize is the Size of an element whose size field is all ones.
const UnknownSize = -1

var errVint = errors.New("invalid vint")

// vintLen returns the total length of a vint from its first byte, or 0 when
// the first byte is zero (a length over 8 bytes).
func vintLen(b byte) int {
	for n := 1; n <= 8; n++ {
		if b&(0x80>>(n-1)) != 0 {
			return n
		}
	}
	return 0
}

// parseID decodes an element ID from b (which holds at least its length).
func parseID(b []byte) (id uint32, n int, err error) {
	n = vintLen(b[0])
	if n == 0 || n > 4 {
		return 0, 0, errVint
	}
	if len(b) < n {
		return 0, n, errShort
	}
	for i := 0; i < n; i++ {
		id = id<<8 | uint32(b[i])
	}
	// RFC 8794 section 5: the value bits of an ID are neither all zeros
	// nor all ones.
	marker := uint32(1) << (8*n - n)
	if v := id &^ marker; v == 0 || v == marker-1 {
		return 0, n, errVint
	}
	return id, n, nil
}

var errShort = errors.New("short vint")

// parseSize decodes a data size; UnknownSize when all value bits are ones.
func parseSize(b []byte) (size int64, n int, err error) {
	n = vintLen(b[0])
	if n == 0 {
		return 0, 0, errVint
	}
	if len(b) < n {
		return 0, n, errShort
	}
	v := uint64(b[0]) & (0xff >> n)
	all := v == 0xff>>n
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
		all = all && b[i] == 0xff
	}
	if all {
		return UnknownSize, n, nil
	}
	if v > 1<<56 {
		return 0, n, errVint
	}
	return int64(v), n, nil
}

// appendID appends an element ID (its bytes as written in the spec).
func appendID(dst []byte, id uint32) []byte {
	switch {
	case id >= 1<<24:
		return append(dst, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<16:
		return append(dst, byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<8:
		return append(dst, byte(id>>8), byte(id))
	}
	return append(dst, byte(id))
}

// sizeLen returns the minimal vint length for size v.
func sizeLen(v uint64) int {
	for n := 1; n < 8; n++ {
		if v < 1<<(7*n)-1 { // all-ones is reserved for unknown
			return n
		}
	}
	return 8
}

// appendSize appends v as a vint of exactly n bytes (1..8).
func appendSize(dst []byte, v uint64, n int) []byte {
	v |= 1 << (7 * n)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// appendUnknownSize appends the 8-byte unknown-size marker.
func appendUnknownSize(dst []byte) []byte {
	return append(dst, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
}
