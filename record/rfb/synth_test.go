package rfb

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math/rand"
)

// A test-side RFB server encoder: it writes the server-to-client stream
// (after ServerInit) for a picture, in NativeFormat, with the encodings of
// RFC 6143 section 7.7 and Tight, so the decoder can be checked against
// the picture it came from.

// picture is an RGBA test picture (alpha ignored).
type picture struct {
	w, h int
	pix  []byte
}

func (p *picture) at(x, y int) [3]byte {
	i := 4 * (y*p.w + x)
	return [3]byte{p.pix[i], p.pix[i+1], p.pix[i+2]}
}

// desktop draws a screen-like picture: a light background, windows,
// text-like glyph blocks in a few colours, and a gradient photo area.
func desktop(w, h int, seed int64) *picture {
	rng := rand.New(rand.NewSource(seed))
	p := &picture{w: w, h: h, pix: make([]byte, 4*w*h)}
	set := func(x, y int, c [3]byte) {
		i := 4 * (y*w + x)
		p.pix[i], p.pix[i+1], p.pix[i+2], p.pix[i+3] = c[0], c[1], c[2], 255
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			set(x, y, [3]byte{230, 232, 236})
		}
	}
	palette := [][3]byte{{0, 0, 0}, {200, 30, 30}, {20, 120, 40}, {30, 60, 200}}
	for win := 0; win < 3; win++ {
		x0, y0 := rng.Intn(w/2), rng.Intn(h/2)
		x1, y1 := min(w, x0+w/3+rng.Intn(w/3)), min(h, y0+h/3+rng.Intn(h/3))
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				c := [3]byte{255, 255, 255}
				if y < y0+20 {
					c = [3]byte{60, 90, 160}
				} else if (x-x0)%8 < 6 && (y-y0)%14 < 10 && rng.Intn(3) == 0 {
					c = palette[((y-y0)/14+(x-x0)/50)%len(palette)]
				}
				set(x, y, c)
			}
		}
	}
	// A photo-like area: a smooth gradient with noise.
	for y := h * 2 / 3; y < h; y++ {
		for x := w * 2 / 3; x < w; x++ {
			n := byte(rng.Intn(8))
			set(x, y, [3]byte{byte(x*255/w) + n, byte(y*255/h) + n, byte((x+y)*127/(w+h)) + n})
		}
	}
	return p
}

// stream builds a server-to-client byte stream.
type stream struct {
	bytes.Buffer
	zw    *zlib.Writer // the Zlib encoding's stream
	zrle  *zlib.Writer
	tight [4]*zlib.Writer
}

func (s *stream) u8(v byte)    { s.WriteByte(v) }
func (s *stream) u16(v int)    { s.Write(binary.BigEndian.AppendUint16(nil, uint16(v))) }
func (s *stream) u32(v uint32) { s.Write(binary.BigEndian.AppendUint32(nil, v)) }
func (s *stream) pixel(c [3]byte) {
	s.Write([]byte{c[0], c[1], c[2], 0})
}

// update starts a FramebufferUpdate of n rectangles.
func (s *stream) update(n int) { s.u8(MsgFramebufferUpdate); s.u8(0); s.u16(n) }

func (s *stream) rect(r image.Rectangle, enc int32) {
	s.u16(r.Min.X)
	s.u16(r.Min.Y)
	s.u16(r.Dx())
	s.u16(r.Dy())
	s.u32(uint32(enc))
}

func (s *stream) raw(p *picture, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			s.pixel(p.at(x, y))
		}
	}
}

// colours returns the distinct colours of r, up to limit+1.
func colours(p *picture, r image.Rectangle, limit int) [][3]byte {
	seen := map[[3]byte]bool{}
	var out [][3]byte
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := p.at(x, y)
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				if len(out) > limit {
					return out
				}
			}
		}
	}
	return out
}

// encRRE: background = the first pixel, a subrectangle per other pixel
// run in a row.
func (s *stream) encRRE(p *picture, r image.Rectangle) {
	bg := p.at(r.Min.X, r.Min.Y)
	var subs bytes.Buffer
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; {
			c := p.at(x, y)
			x0 := x
			for x < r.Max.X && p.at(x, y) == c {
				x++
			}
			if c != bg {
				subs.Write([]byte{c[0], c[1], c[2], 0})
				for _, v := range []int{x0 - r.Min.X, y - r.Min.Y, x - x0, 1} {
					subs.Write(binary.BigEndian.AppendUint16(nil, uint16(v)))
				}
				n++
			}
		}
	}
	s.u32(uint32(n))
	s.pixel(bg)
	s.Write(subs.Bytes())
}

// encHextile: solid tiles as a background, two-colour tiles as
// foreground subrectangles, others as coloured subrectangles when there
// are few runs, else raw.
func (s *stream) encHextile(p *picture, r image.Rectangle) {
	for ty := r.Min.Y; ty < r.Max.Y; ty += 16 {
		for tx := r.Min.X; tx < r.Max.X; tx += 16 {
			t := image.Rect(tx, ty, min(tx+16, r.Max.X), min(ty+16, r.Max.Y))
			cs := colours(p, t, 2)
			bg := cs[0]
			type run struct {
				c       [3]byte
				x, y, w int
			}
			var runs []run
			for y := t.Min.Y; y < t.Max.Y; y++ {
				for x := t.Min.X; x < t.Max.X; {
					c := p.at(x, y)
					x0 := x
					for x < t.Max.X && p.at(x, y) == c {
						x++
					}
					if c != bg {
						runs = append(runs, run{c, x0 - t.Min.X, y - t.Min.Y, x - x0})
					}
				}
			}
			switch {
			case len(cs) == 1:
				s.u8(hexBackground)
				s.pixel(bg)
			case len(cs) == 2 && len(runs) < 256:
				s.u8(hexBackground | hexForeground | hexAnySubrect)
				s.pixel(bg)
				s.pixel(cs[1])
				s.u8(byte(len(runs)))
				for _, rn := range runs {
					s.u8(byte(rn.x<<4 | rn.y))
					s.u8(byte((rn.w-1)<<4 | 0))
				}
			case len(runs) < 40:
				s.u8(hexBackground | hexAnySubrect | hexColoured)
				s.pixel(bg)
				s.u8(byte(len(runs)))
				for _, rn := range runs {
					s.pixel(rn.c)
					s.u8(byte(rn.x<<4 | rn.y))
					s.u8(byte((rn.w-1)<<4 | 0))
				}
			default:
				s.u8(hexRaw)
				s.raw(p, t)
			}
		}
	}
}

// zstreamW is a persistent compressor whose output is collected per
// rectangle.
type zstreamW struct {
	out bytes.Buffer
	w   *zlib.Writer
}

func (z *zstreamW) chunk(b []byte) []byte {
	if z.w == nil {
		z.w = zlib.NewWriter(&z.out)
	}
	z.w.Write(b)
	z.w.Flush()
	c := bytes.Clone(z.out.Bytes())
	z.out.Reset()
	return c
}

func (s *stream) encZlib(z *zstreamW, p *picture, r image.Rectangle) {
	var raw stream
	raw.raw(p, r)
	c := z.chunk(raw.Bytes())
	s.u32(uint32(len(c)))
	s.Write(c)
}

// encZRLE: solid, packed palette (2..16 colours), palette RLE (17..127)
// or plain RLE tiles; raw tiles when forceRaw.
func (s *stream) encZRLE(z *zstreamW, p *picture, r image.Rectangle, forceRaw bool) {
	var b bytes.Buffer
	cp := func(c [3]byte) { b.Write(c[:]) } // CPIXEL: 3 bytes of NativeFormat
	runLen := func(n int) {
		n--
		for n >= 255 {
			b.WriteByte(255)
			n -= 255
		}
		b.WriteByte(byte(n))
	}
	for ty := r.Min.Y; ty < r.Max.Y; ty += 64 {
		for tx := r.Min.X; tx < r.Max.X; tx += 64 {
			t := image.Rect(tx, ty, min(tx+64, r.Max.X), min(ty+64, r.Max.Y))
			cs := colours(p, t, 127)
			idx := map[[3]byte]int{}
			for i, c := range cs {
				idx[c] = i
			}
			var px [][3]byte
			for y := t.Min.Y; y < t.Max.Y; y++ {
				for x := t.Min.X; x < t.Max.X; x++ {
					px = append(px, p.at(x, y))
				}
			}
			switch {
			case forceRaw:
				b.WriteByte(0)
				for _, c := range px {
					cp(c)
				}
			case len(cs) == 1:
				b.WriteByte(1)
				cp(cs[0])
			case len(cs) <= 16:
				b.WriteByte(byte(len(cs)))
				for _, c := range cs {
					cp(c)
				}
				bits := 4
				if len(cs) == 2 {
					bits = 1
				} else if len(cs) <= 4 {
					bits = 2
				}
				for y := 0; y < t.Dy(); y++ {
					var cur byte
					used := 0
					for x := 0; x < t.Dx(); x++ {
						cur |= byte(idx[px[y*t.Dx()+x]]) << (8 - bits - used)
						used += bits
						if used == 8 {
							b.WriteByte(cur)
							cur, used = 0, 0
						}
					}
					if used > 0 {
						b.WriteByte(cur)
					}
				}
			case len(cs) <= 127:
				b.WriteByte(byte(128 + len(cs)))
				for _, c := range cs {
					cp(c)
				}
				for i := 0; i < len(px); {
					j := i
					for j < len(px) && px[j] == px[i] {
						j++
					}
					if j-i == 1 {
						b.WriteByte(byte(idx[px[i]]))
					} else {
						b.WriteByte(byte(128 | idx[px[i]]))
						runLen(j - i)
					}
					i = j
				}
			default:
				b.WriteByte(128)
				for i := 0; i < len(px); {
					j := i
					for j < len(px) && px[j] == px[i] {
						j++
					}
					cp(px[i])
					runLen(j - i)
					i = j
				}
			}
		}
	}
	c := z.chunk(b.Bytes())
	s.u32(uint32(len(c)))
	s.Write(c)
}

// tightMode selects how encTight sends a rectangle with many colours.
type tightMode int

const (
	tightCopy tightMode = iota
	tightGrad
	tightJPG
)

func (s *stream) compact(n int) {
	for i := 0; i < 3; i++ {
		if i == 2 {
			s.u8(byte(n))
			return
		}
		if n < 128 {
			s.u8(byte(n))
			return
		}
		s.u8(byte(n&127 | 128))
		n >>= 7
	}
}

// tightBasic sends size bytes of data on stream id (raw under 12 bytes).
func (s *stream) tightBasic(zs *[4]zstreamW, id int, data []byte) {
	if len(data) < tightMinToCompress {
		s.Write(data)
		return
	}
	c := zs[id].chunk(data)
	s.compact(len(c))
	s.Write(c)
}

// encTight: fill for one colour, palette for 2..256, else mode.
func (s *stream) encTight(zs *[4]zstreamW, p *picture, r image.Rectangle, mode tightMode) {
	cs := colours(p, r, 256)
	w, h := r.Dx(), r.Dy()
	switch {
	case len(cs) == 1:
		s.u8(tightFill << 4)
		s.Write(cs[0][:])
	case len(cs) <= 256:
		s.u8((4 | 1) << 4) // stream 1, explicit filter
		s.u8(tightFilterPalette)
		s.u8(byte(len(cs) - 1))
		idx := map[[3]byte]int{}
		for i, c := range cs {
			s.Write(c[:])
			idx[c] = i
		}
		var data []byte
		if len(cs) == 2 {
			bw := (w + 7) / 8
			data = make([]byte, bw*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					if idx[p.at(r.Min.X+x, r.Min.Y+y)] == 1 {
						data[y*bw+x/8] |= 0x80 >> (x % 8)
					}
				}
			}
		} else {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					data = append(data, byte(idx[p.at(r.Min.X+x, r.Min.Y+y)]))
				}
			}
		}
		s.tightBasic(zs, 1, data)
	case mode == tightJPG:
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			copy(img.Pix[y*img.Stride:], p.pix[4*((r.Min.Y+y)*p.w+r.Min.X):][:4*w])
		}
		var jb bytes.Buffer
		jpeg.Encode(&jb, img, &jpeg.Options{Quality: 95})
		s.u8(tightJPEG << 4)
		s.compact(jb.Len())
		s.Write(jb.Bytes())
	case mode == tightGrad:
		s.u8((4 | 2) << 4) // stream 2, explicit filter
		s.u8(tightFilterGradient)
		data := make([]byte, 3*w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := p.at(r.Min.X+x, r.Min.Y+y)
				for k := 0; k < 3; k++ {
					var left, up, ul int
					if x > 0 {
						left = int(p.at(r.Min.X+x-1, r.Min.Y+y)[k])
					}
					if y > 0 {
						up = int(p.at(r.Min.X+x, r.Min.Y+y-1)[k])
						if x > 0 {
							ul = int(p.at(r.Min.X+x-1, r.Min.Y+y-1)[k])
						}
					}
					est := min(max(left+up-ul, 0), 255)
					data[(y*w+x)*3+k] = c[k] - byte(est)
				}
			}
		}
		s.tightBasic(zs, 2, data)
	default:
		s.u8(0) // stream 0, copy filter
		data := make([]byte, 0, 3*w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := p.at(r.Min.X+x, r.Min.Y+y)
				data = append(data, c[:]...)
			}
		}
		s.tightBasic(zs, 0, data)
	}
}

// tiles splits r into rectangles of at most size x size.
func tiles(r image.Rectangle, size int) []image.Rectangle {
	var out []image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y += size {
		for x := r.Min.X; x < r.Max.X; x += size {
			out = append(out, image.Rect(x, y, min(x+size, r.Max.X), min(y+size, r.Max.Y)))
		}
	}
	return out
}

// encoder keeps the compression streams across updates, like a server.
type encoder struct {
	s  stream
	z  zstreamW
	zs [4]zstreamW
}

// update appends one FramebufferUpdate covering p with enc.
func (e *encoder) update(p *picture, enc int32, variant int) {
	s := &e.s
	full := image.Rect(0, 0, p.w, p.h)
	rects := []image.Rectangle{full}
	switch enc {
	case EncTight:
		rects = tiles(full, 128)
	case EncRRE:
		rects = tiles(full, 64)
	}
	s.update(len(rects))
	for _, r := range rects {
		s.rect(r, enc)
		switch enc {
		case EncRaw:
			s.raw(p, r)
		case EncRRE:
			s.encRRE(p, r)
		case EncHextile:
			s.encHextile(p, r)
		case EncZlib:
			s.encZlib(&e.z, p, r)
		case EncZRLE:
			s.encZRLE(&e.z, p, r, variant == 1)
		case EncTight:
			s.encTight(&e.zs, p, r, tightMode(variant))
		}
	}
}
