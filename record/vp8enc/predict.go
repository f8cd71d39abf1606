package vp8enc

// Intra prediction modes of 16x16 luma and 8x8 chroma blocks, in the order
// used by this package (RFC 6386, section 12.2).
const (
	modeDC = iota
	modeV
	modeH
	modeTM
	numModes
)

// edges are the reconstructed pixels bordering a block: the row above, the
// column to the left and the pixel above-left. Outside the frame the row
// above is 127 and the column to the left 129; the above-left pixel is 127
// on the top macroblock row and 129 elsewhere in the leftmost column
// (RFC 6386, section 12.2).
type edges struct {
	above, left         [16]byte
	topLeft             byte
	haveAbove, haveLeft bool
}

// load fills e for the n x n block at (x, y) of plane p with the given
// stride.
func (e *edges) load(p []byte, stride, x, y, n int) {
	e.haveAbove = y > 0
	e.haveLeft = x > 0
	if y > 0 {
		copy(e.above[:n], p[(y-1)*stride+x:])
	} else {
		for i := 0; i < n; i++ {
			e.above[i] = 127
		}
	}
	if x > 0 {
		for i := 0; i < n; i++ {
			e.left[i] = p[(y+i)*stride+x-1]
		}
	} else {
		for i := 0; i < n; i++ {
			e.left[i] = 129
		}
	}
	switch {
	case y == 0:
		e.topLeft = 127
	case x == 0:
		e.topLeft = 129
	default:
		e.topLeft = p[(y-1)*stride+x-1]
	}
}

// predict writes the n x n prediction of mode into out (stride n),
// following RFC 6386, section 12.2. shift is log2(n).
func (e *edges) predict(mode, n int, out []byte) {
	switch mode {
	case modeDC:
		shift := 3
		if n == 16 {
			shift = 4
		}
		v := 128
		s := 0
		switch {
		case e.haveAbove && e.haveLeft:
			for i := 0; i < n; i++ {
				s += int(e.above[i]) + int(e.left[i])
			}
			v = (s + n) >> (shift + 1)
		case e.haveAbove:
			for i := 0; i < n; i++ {
				s += int(e.above[i])
			}
			v = (s + n/2) >> shift
		case e.haveLeft:
			for i := 0; i < n; i++ {
				s += int(e.left[i])
			}
			v = (s + n/2) >> shift
		}
		row := out[:n]
		for i := range row {
			row[i] = byte(v)
		}
		for r := 1; r < n; r++ {
			copyRow(out[r*n:], out, n)
		}
	case modeV:
		for r := 0; r < n; r++ {
			copyRow(out[r*n:], e.above[:], n)
		}
	case modeH:
		for r := 0; r < n; r++ {
			row := out[r*n : r*n+n]
			for i := range row {
				row[i] = e.left[r]
			}
		}
	case modeTM:
		for r := 0; r < n; r++ {
			// d + above[i] is in -255..510: clampTab covers it.
			d := 256 + int32(e.left[r]) - int32(e.topLeft)
			row := out[r*n : r*n+n]
			above := e.above[:n]
			for i := range row {
				row[i] = clampTab[d+int32(above[i])]
			}
		}
	}
}

// copyRow copies n (8 or 16) bytes from src to dst.
func copyRow(dst, src []byte, n int) {
	if n == 16 {
		*(*[16]byte)(dst) = *(*[16]byte)(src)
	} else {
		*(*[8]byte)(dst) = *(*[8]byte)(src)
	}
}

// clampTab[v+256] is v clamped to 0..255, for v in -256..511.
var clampTab [768]byte

func init() {
	for i := range clampTab {
		clampTab[i] = clamp255(int32(i - 256))
	}
}
