package record

// Procedural art for the demo desktop: glyphs generated from the character
// code, the pointer sprite and a small deterministic PRNG. No font files,
// no wall clock, no global randomness.

// Glyph cells are 8x16 pixels; each row is a bit mask, bit 7 the leftmost
// pixel.
const (
	glyphW = 8
	glyphH = 16
)

var glyphs = makeGlyphs()

// makeGlyphs draws every printable ASCII character from a few strokes
// chosen by a hash of its code: letters, digits and punctuation get
// different heights, so text has a plausible texture.
func makeGlyphs() (g [128][glyphH]uint8) {
	for c := 33; c < 127; c++ {
		h := demoMix(uint64(c) * 0x9e3779b97f4a7c15)
		top, bottom := 3, 12 // capital height
		left, right := 1, 6
		switch {
		case c >= 'a' && c <= 'z':
			top = 6
			switch c {
			case 'b', 'd', 'f', 'h', 'k', 'l', 't':
				top = 3
			case 'g', 'j', 'p', 'q', 'y':
				bottom = 14
			}
		case c >= '0' && c <= '9':
			left, right = 1, 5
		case c < '0' || (c > '9' && c < 'A') || (c > 'Z' && c < 'a') || c > 'z':
			// punctuation: a narrow, short shape
			top, bottom = 5+int(h%4), 12
			left, right = 2+int(h>>8%2), 5
		}
		set := func(x, y int) { g[c][y] |= 0x80 >> uint(x) }
		strokes := h >> 16
		if strokes&0x7f == 0 {
			strokes |= 0x05
		}
		midY := (top + bottom) / 2
		midX := (left + right) / 2
		for y := top; y <= bottom; y++ {
			for x := left; x <= right; x++ {
				on := false
				on = on || strokes&0x01 != 0 && x == left                                   // left bar
				on = on || strokes&0x02 != 0 && x == right                                  // right bar
				on = on || strokes&0x04 != 0 && y == top                                    // top bar
				on = on || strokes&0x08 != 0 && y == midY                                   // middle bar
				on = on || strokes&0x10 != 0 && y == bottom                                 // bottom bar
				on = on || strokes&0x20 != 0 && x == midX                                   // stem
				on = on || strokes&0x40 != 0 && x-left == (y-top)*(right-left)/(bottom-top) // diagonal
				if on {
					set(x, y)
				}
			}
		}
	}
	return g
}

// pointerSprite is an arrow, hotspot at (0,0): 'o' outline, 'f' fill.
const pointerW, pointerH = 12, 19

var pointerMask = makePointer()

// makePointer rasterises the classic arrow polygon (even-odd rule at
// pixel centres), filled white and outlined black.
func makePointer() (m [pointerH][pointerW]uint8) {
	poly := [...][2]float64{{0, 0}, {0, 16}, {4, 12.5}, {7, 18.5}, {9.5, 17.5}, {6.5, 11.5}, {11.5, 11.5}}
	inside := func(x, y int) bool {
		if x < 0 || y < 0 || x >= pointerW || y >= pointerH {
			return false
		}
		px, py := float64(x)+0.5, float64(y)+0.5
		in := false
		for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
			a, b := poly[i], poly[j]
			if (a[1] > py) != (b[1] > py) && px < (b[0]-a[0])*(py-a[1])/(b[1]-a[1])+a[0] {
				in = !in
			}
		}
		return in
	}
	for y := 0; y < pointerH; y++ {
		for x := 0; x < pointerW; x++ {
			if !inside(x, y) {
				continue
			}
			if !inside(x-1, y) || !inside(x+1, y) || !inside(x, y-1) || !inside(x, y+1) {
				m[y][x] = 'o'
			} else {
				m[y][x] = 'f'
			}
		}
	}
	return m
}

// demoRand is splitmix64: tiny, fast and stable across Go releases.
type demoRand struct{ s uint64 }

func (r *demoRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return demoMix(r.s)
}

// intn returns a value in [0, n) (n > 0).
func (r *demoRand) intn(n int) int { return int(r.next() % uint64(n)) }

func demoMix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// word appends a pronounceable-looking lowercase word of n letters.
func demoWord(b []byte, h uint64, n int) []byte {
	const cons, vow = "bcdfghklmnprstvwz", "aeiou"
	for i := 0; i < n; i++ {
		h = demoMix(h + uint64(i))
		if i%2 == 0 {
			b = append(b, cons[h%uint64(len(cons))])
		} else {
			b = append(b, vow[h%uint64(len(vow))])
		}
	}
	return b
}
