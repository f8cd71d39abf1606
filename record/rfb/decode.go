package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"sync"
)

// Decoder reads server-to-client messages from one RFB stream (after
// ServerInit) and applies them to a Framebuffer. It keeps the state that
// lives across messages: the pixel format, the colour map, and the zlib
// streams of the Zlib, ZRLE and Tight encodings.
type Decoder struct {
	fb *Framebuffer
	r  *reader

	pfMu      sync.Mutex
	pendingPF *PixelFormat

	pf     PixelFormat
	bpp    int
	native bool
	cmap   []([3]byte)

	zlibS  zstream
	zrleS  zstream
	tightS [4]zstream

	counts map[int32]int // rectangles decoded per encoding

	row  []byte // one row of wire pixels
	tile []byte // scratch for tiles and Tight data
}

// NewDecoder returns a decoder of the stream r (positioned after
// ServerInit, at byte offset off) into fb, whose pixels arrive in format
// pf. r is wrapped in a bufio.Reader unless it is one.
func NewDecoder(r io.Reader, off int64, fb *Framebuffer, pf PixelFormat) (*Decoder, error) {
	d := &Decoder{fb: fb, r: newReader(r)}
	d.r.off = off
	if err := d.setPF(pf); err != nil {
		return nil, err
	}
	return d, nil
}

// Offset is the number of bytes of the stream consumed so far.
func (d *Decoder) Offset() int64 { return d.r.off }

// SetPixelFormat changes the format of the pixels that follow; it takes
// effect at the next message. It may be called from another goroutine
// (a proxy following the viewer's SetPixelFormat).
func (d *Decoder) SetPixelFormat(pf PixelFormat) error {
	if err := pf.Validate(); err != nil {
		return err
	}
	d.pfMu.Lock()
	d.pendingPF = &pf
	d.pfMu.Unlock()
	return nil
}

func (d *Decoder) setPF(pf PixelFormat) error {
	if err := pf.Validate(); err != nil {
		return err
	}
	d.pf, d.bpp = pf, pf.bytesPerPixel()
	d.native = pf == NativeFormat || (pf.BPP == 32 && pf.TrueColour && !pf.BigEndian && pf.RMax == 255 && pf.GMax == 255 && pf.BMax == 255 && pf.RShift == 0 && pf.GShift == 8 && pf.BShift == 16)
	if !pf.TrueColour && d.cmap == nil {
		d.cmap = make([][3]byte, 1<<min(int(pf.BPP), 16))
	}
	return nil
}

func (d *Decoder) perr(msg string, off int64, detail string, err error) error {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return err
	}
	return &ProtocolError{Msg: msg, Offset: off, Detail: detail, Err: err}
}

// ReadMessage reads and applies one server message and returns its type.
// While it decodes a FramebufferUpdate it holds the framebuffer's lock;
// it does not hold it while it waits for the message to start. At the end
// of the stream it returns io.EOF; a stream cut inside a message is an
// error wrapping io.ErrUnexpectedEOF.
func (d *Decoder) ReadMessage() (uint8, error) {
	off := d.r.off
	t, err := d.r.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, io.EOF
		}
		return 0, d.perr("message type", off, "", err)
	}
	d.r.off++
	d.pfMu.Lock()
	if d.pendingPF != nil {
		err = d.setPF(*d.pendingPF)
		d.pendingPF = nil
	}
	d.pfMu.Unlock()
	if err != nil {
		return t, d.perr("SetPixelFormat", off, "", err)
	}
	switch t {
	case MsgFramebufferUpdate:
		d.fb.Lock()
		err = d.update(off)
		if err == nil {
			d.fb.Updates++
		}
		d.fb.Unlock()
	case MsgSetColourMapEntries:
		err = d.colourMap(off)
	case MsgBell:
	case MsgServerCutText:
		var n uint32
		if err = d.r.skip(3); err == nil {
			if n, err = d.r.u32(); err == nil {
				err = d.r.skip(int64(n))
			}
		}
		if err != nil {
			err = d.perr("ServerCutText", off, "", err)
		}
	default:
		err = d.perr("message type", off, fmt.Sprintf("unknown server message %d", t), ErrUnsupported)
	}
	return t, err
}

func (d *Decoder) colourMap(off int64) error {
	if err := d.r.skip(1); err != nil {
		return d.perr("SetColourMapEntries", off, "", err)
	}
	first, err := d.r.u16()
	if err != nil {
		return d.perr("SetColourMapEntries", off, "", err)
	}
	n, err := d.r.u16()
	if err != nil {
		return d.perr("SetColourMapEntries", off, "", err)
	}
	if d.cmap == nil {
		d.cmap = make([][3]byte, 1<<16)
	}
	for i := 0; i < int(n); i++ {
		if err := d.r.full(d.r.b[:6]); err != nil {
			return d.perr("SetColourMapEntries", off, "", unexpected(err))
		}
		if idx := int(first) + i; idx < len(d.cmap) {
			d.cmap[idx] = [3]byte{d.r.b[0], d.r.b[2], d.r.b[4]}
		}
	}
	return nil
}

// update decodes the rectangles of one FramebufferUpdate (RFC 6143
// section 7.6.1); the caller holds the framebuffer lock.
func (d *Decoder) update(off int64) error {
	if err := d.r.skip(1); err != nil {
		return d.perr("FramebufferUpdate", off, "", err)
	}
	n, err := d.r.u16()
	if err != nil {
		return d.perr("FramebufferUpdate", off, "", err)
	}
	for i := 0; i < int(n); i++ {
		roff := d.r.off
		if err := d.r.full(d.r.b[:12]); err != nil {
			return d.perr("FramebufferUpdate rectangle header", roff, fmt.Sprintf("rectangle %d of %d", i, n), unexpected(err))
		}
		b := d.r.b[:12]
		x, y := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		w, h := int(binary.BigEndian.Uint16(b[4:])), int(binary.BigEndian.Uint16(b[6:]))
		enc := int32(binary.BigEndian.Uint32(b[8:]))
		if enc == EncLastRect {
			return nil
		}
		r := image.Rect(x, y, x+w, y+h)
		if err := d.rect(r, enc); err != nil {
			return d.perr("FramebufferUpdate "+EncodingName(enc)+" rectangle", roff,
				fmt.Sprintf("rectangle %d (%dx%d at %d,%d)", i, w, h, x, y), err)
		}
	}
	return nil
}

// rect decodes one rectangle's payload.
func (d *Decoder) rect(r image.Rectangle, enc int32) error {
	switch enc {
	case EncDesktopSize:
		return d.fb.resize(r.Dx(), r.Dy())
	case EncExtendedDesktopSize:
		ns, err := d.r.u8()
		if err != nil {
			return err
		}
		if err := d.r.skip(3 + 16*int64(ns)); err != nil {
			return err
		}
		if r.Min.Y != 0 { // status: an error reply to SetDesktopSize
			return nil
		}
		return d.fb.resize(r.Dx(), r.Dy())
	case EncPointerPos:
		if d.fb.Cursor.X != r.Min.X || d.fb.Cursor.Y != r.Min.Y {
			d.fb.Cursor.X, d.fb.Cursor.Y = r.Min.X, r.Min.Y
			d.fb.CursorGen++
		}
		return nil
	case EncDesktopName:
		n, err := d.r.u32()
		if err != nil {
			return err
		}
		return d.r.skip(int64(n))
	case EncCursor:
		return d.cursor(r)
	}
	if !d.fb.contains(r) {
		return fmt.Errorf("%w: %v in %dx%d", ErrBounds, r, d.fb.W, d.fb.H)
	}
	var err error
	switch enc {
	case EncRaw:
		off := d.r.off
		if err = d.raw(d.r.r, r); err == nil {
			d.r.off = off + int64(r.Dx()*r.Dy()*d.bpp)
		}
	case EncCopyRect:
		var sx, sy uint16
		if sx, err = d.r.u16(); err != nil {
			return err
		}
		if sy, err = d.r.u16(); err != nil {
			return err
		}
		src := image.Rect(int(sx), int(sy), int(sx)+r.Dx(), int(sy)+r.Dy())
		if !d.fb.contains(src) {
			return fmt.Errorf("%w: CopyRect source %v in %dx%d", ErrBounds, src, d.fb.W, d.fb.H)
		}
		d.fb.copyRect(r, src.Min)
	case EncRRE:
		err = d.rre(r)
	case EncHextile:
		err = d.hextile(r)
	case EncZlib:
		err = d.zlibRect(r)
	case EncZRLE:
		err = d.zrle(r)
	case EncTight:
		err = d.tight(r)
	default:
		return fmt.Errorf("%w: %s", ErrUnsupported, EncodingName(enc))
	}
	if err != nil {
		return err
	}
	if d.counts == nil {
		d.counts = map[int32]int{}
	}
	d.counts[enc]++
	d.fb.addDamage(r)
	return nil
}

// EncodingCounts returns how many rectangles of each encoding were
// decoded. It takes the framebuffer lock.
func (d *Decoder) EncodingCounts() map[int32]int {
	d.fb.Lock()
	defer d.fb.Unlock()
	m := make(map[int32]int, len(d.counts))
	for k, v := range d.counts {
		m[k] = v
	}
	return m
}

// pixel converts one wire pixel (bpp bytes) to R, G, B, 255.
func (d *Decoder) pixel(p []byte) [4]byte {
	var v uint32
	switch d.bpp {
	case 1:
		v = uint32(p[0])
	case 2:
		if d.pf.BigEndian {
			v = uint32(binary.BigEndian.Uint16(p))
		} else {
			v = uint32(binary.LittleEndian.Uint16(p))
		}
	default:
		if d.pf.BigEndian {
			v = binary.BigEndian.Uint32(p)
		} else {
			v = binary.LittleEndian.Uint32(p)
		}
	}
	if !d.pf.TrueColour {
		if int(v) < len(d.cmap) {
			c := d.cmap[v]
			return [4]byte{c[0], c[1], c[2], 255}
		}
		return [4]byte{0, 0, 0, 255}
	}
	return [4]byte{scale(v>>d.pf.RShift, d.pf.RMax), scale(v>>d.pf.GShift, d.pf.GMax), scale(v>>d.pf.BShift, d.pf.BMax), 255}
}

func scale(v uint32, max uint16) byte {
	v &= uint32(max)
	if max == 255 {
		return byte(v)
	}
	return byte((v*255 + uint32(max)/2) / uint32(max))
}

// putRow converts n wire pixels from src into the framebuffer at (x, y).
func (d *Decoder) putRow(x, y int, src []byte, n int) {
	dst := d.fb.Pix[4*(y*d.fb.W+x):][:4*n]
	if d.native {
		copy(dst, src[:4*n])
		for i := 3; i < len(dst); i += 4 {
			dst[i] = 255
		}
		return
	}
	for i := 0; i < n; i++ {
		c := d.pixel(src[i*d.bpp:])
		copy(dst[4*i:4*i+4], c[:])
	}
}

// readPixel reads one wire pixel.
func (d *Decoder) readPixel(r io.Reader) ([4]byte, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:d.bpp]); err != nil {
		return [4]byte{}, unexpected(err)
	}
	return d.pixel(b[:]), nil
}

func (d *Decoder) rowBuf(n int) []byte {
	if cap(d.row) < n {
		d.row = make([]byte, n)
	}
	return d.row[:n]
}

// raw reads r's pixels row by row from src (RFC 6143 section 7.7.1).
func (d *Decoder) raw(src io.Reader, r image.Rectangle) error {
	row := d.rowBuf(r.Dx() * d.bpp)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if _, err := io.ReadFull(src, row); err != nil {
			return unexpected(err)
		}
		d.putRow(r.Min.X, y, row, r.Dx())
	}
	return nil
}

// rre decodes RFC 6143 section 7.7.3.
func (d *Decoder) rre(r image.Rectangle) error {
	n, err := d.r.u32()
	if err != nil {
		return err
	}
	bg, err := d.readPixel(d.r.r)
	if err != nil {
		return err
	}
	d.r.off += int64(d.bpp)
	d.fb.fill(r, bg)
	for i := uint32(0); i < n; i++ {
		c, err := d.readPixel(d.r.r)
		if err != nil {
			return err
		}
		d.r.off += int64(d.bpp)
		if err := d.r.full(d.r.b[:8]); err != nil {
			return unexpected(err)
		}
		b := d.r.b[:8]
		sx, sy := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		sr := image.Rect(sx, sy, sx+int(binary.BigEndian.Uint16(b[4:])), sy+int(binary.BigEndian.Uint16(b[6:]))).Add(r.Min)
		if !sr.In(r) {
			return fmt.Errorf("%w: RRE subrectangle %d %v outside %v", ErrBounds, i, sr, r)
		}
		d.fb.fill(sr, c)
	}
	return nil
}

// Hextile subencoding bits (RFC 6143 section 7.7.4).
const (
	hexRaw        = 1
	hexBackground = 2
	hexForeground = 4
	hexAnySubrect = 8
	hexColoured   = 16
)

func (d *Decoder) hextile(r image.Rectangle) error {
	var bg, fg [4]byte
	src := d.r
	for ty := r.Min.Y; ty < r.Max.Y; ty += 16 {
		for tx := r.Min.X; tx < r.Max.X; tx += 16 {
			t := image.Rect(tx, ty, min(tx+16, r.Max.X), min(ty+16, r.Max.Y))
			sub, err := src.u8()
			if err != nil {
				return err
			}
			if sub&hexRaw != 0 {
				off := src.off
				if err := d.raw(src.r, t); err != nil {
					return err
				}
				src.off = off + int64(t.Dx()*t.Dy()*d.bpp)
				continue
			}
			if sub&hexBackground != 0 {
				if bg, err = d.readPixel(src.r); err != nil {
					return err
				}
				src.off += int64(d.bpp)
			}
			d.fb.fill(t, bg)
			if sub&hexForeground != 0 {
				if fg, err = d.readPixel(src.r); err != nil {
					return err
				}
				src.off += int64(d.bpp)
			}
			if sub&hexAnySubrect == 0 {
				continue
			}
			n, err := src.u8()
			if err != nil {
				return err
			}
			for i := 0; i < int(n); i++ {
				c := fg
				if sub&hexColoured != 0 {
					if c, err = d.readPixel(src.r); err != nil {
						return err
					}
					src.off += int64(d.bpp)
				}
				xy, err := src.u8()
				if err != nil {
					return err
				}
				wh, err := src.u8()
				if err != nil {
					return err
				}
				x, y := t.Min.X+int(xy>>4), t.Min.Y+int(xy&15)
				sr := image.Rect(x, y, x+int(wh>>4)+1, y+int(wh&15)+1)
				if !sr.In(t) {
					return fmt.Errorf("%w: Hextile subrectangle %v outside tile %v", ErrBounds, sr, t)
				}
				d.fb.fill(sr, c)
			}
		}
	}
	return nil
}

// zstream is one zlib stream that persists across rectangles (RFC 6143
// sections 7.7.5 and 7.7.6, and Tight): each rectangle's compressed bytes
// continue the same deflate stream, ending on a sync flush.
type zstream struct {
	feed feed
	zr   io.ReadCloser
	br   *bufio.Reader
}

// feed gives the zlib reader the compressed bytes of the current
// rectangle: first what an earlier rectangle left unread, then at most n
// bytes of the connection. It is an io.ByteReader, so flate reads no
// further than it must.
type feed struct {
	r     *reader
	n     int64
	carry []byte
}

// maxCarry bounds the compressed bytes a rectangle may leave unread (a
// sync flush leaves a few).
const maxCarry = 64 << 10

func (f *feed) ReadByte() (byte, error) {
	if len(f.carry) > 0 {
		c := f.carry[0]
		f.carry = f.carry[1:]
		return c, nil
	}
	if f.n <= 0 {
		return 0, io.EOF
	}
	c, err := f.r.u8()
	if err != nil {
		return 0, err
	}
	f.n--
	return c, nil
}

func (f *feed) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(f.carry) > 0 {
		n := copy(p, f.carry)
		f.carry = f.carry[n:]
		return n, nil
	}
	if f.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.r.Read(p)
	f.r.off += int64(n)
	f.n -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// begin makes the next n bytes of the connection the stream's input and
// returns the reader of its output.
func (s *zstream) begin(r *reader, n int64) (*bufio.Reader, error) {
	s.feed.r, s.feed.n = r, n
	if s.zr == nil {
		zr, err := zlib.NewReader(&s.feed)
		if err != nil {
			return nil, fmt.Errorf("%w: zlib stream header: %v", ErrProtocol, err)
		}
		s.zr = zr
		s.br = bufio.NewReaderSize(zr, 16<<10)
	}
	return s.br, nil
}

// end keeps what the rectangle left unread for the next one.
func (s *zstream) end() error {
	if s.feed.n > 0 {
		if s.feed.n+int64(len(s.feed.carry)) > maxCarry {
			return fmt.Errorf("%w: %d compressed bytes left unread", ErrTooLarge, s.feed.n)
		}
		c := make([]byte, s.feed.n)
		if err := s.feed.r.full(c); err != nil {
			return unexpected(err)
		}
		s.feed.carry = append(s.feed.carry, c...)
		s.feed.n = 0
	}
	return nil
}

func (s *zstream) reset() {
	if s.zr != nil {
		s.zr.Close()
	}
	*s = zstream{}
}

func (d *Decoder) zlibRect(r image.Rectangle) error {
	n, err := d.r.u32()
	if err != nil {
		return err
	}
	br, err := d.zlibS.begin(d.r, int64(n))
	if err != nil {
		return err
	}
	if err := d.raw(br, r); err != nil {
		d.zlibS.reset()
		return fmt.Errorf("zlib data: %w", err)
	}
	return d.zlibS.end()
}

// cpixel returns the size of a ZRLE CPIXEL and where its bytes go in a
// wire pixel (RFC 6143 section 7.7.6).
func (d *Decoder) cpixel() (size, at int) {
	pf := d.pf
	if pf.TrueColour && pf.BPP == 32 && pf.Depth <= 24 {
		top := func(max uint16, shift uint8) int {
			w := 0
			for m := max; m != 0; m >>= 1 {
				w++
			}
			return int(shift) + w
		}
		hi := max(top(pf.RMax, pf.RShift), top(pf.GMax, pf.GShift), top(pf.BMax, pf.BShift))
		lo := min(int(pf.RShift), int(pf.GShift), int(pf.BShift))
		if hi <= 24 { // least significant three bytes
			if pf.BigEndian {
				return 3, 1
			}
			return 3, 0
		}
		if lo >= 8 { // most significant three bytes
			if pf.BigEndian {
				return 3, 0
			}
			return 3, 1
		}
	}
	return d.bpp, 0
}

func (d *Decoder) readCPixel(r io.Reader, size, at int) ([4]byte, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[at:at+size]); err != nil {
		return [4]byte{}, unexpected(err)
	}
	return d.pixel(b[:]), nil
}

func (d *Decoder) zrle(r image.Rectangle) error {
	n, err := d.r.u32()
	if err != nil {
		return err
	}
	br, err := d.zrleS.begin(d.r, int64(n))
	if err != nil {
		return err
	}
	if err := d.zrleTiles(br, r); err != nil {
		d.zrleS.reset()
		return fmt.Errorf("zlib data: %w", err)
	}
	return d.zrleS.end()
}

func (d *Decoder) zrleTiles(br *bufio.Reader, r image.Rectangle) error {
	cs, at := d.cpixel()
	var pal [128][4]byte
	for ty := r.Min.Y; ty < r.Max.Y; ty += 64 {
		for tx := r.Min.X; tx < r.Max.X; tx += 64 {
			t := image.Rect(tx, ty, min(tx+64, r.Max.X), min(ty+64, r.Max.Y))
			tw, th := t.Dx(), t.Dy()
			sub, err := br.ReadByte()
			if err != nil {
				return unexpected(err)
			}
			switch {
			case sub == 0:
				row := d.scratch(tw * cs)
				var px [4]byte
				for y := t.Min.Y; y < t.Max.Y; y++ {
					if _, err := io.ReadFull(br, row); err != nil {
						return unexpected(err)
					}
					dst := d.fb.Pix[4*(y*d.fb.W+t.Min.X):][:4*tw]
					for x := 0; x < tw; x++ {
						if cs == 3 && d.native {
							copy(dst[4*x:4*x+3], row[3*x:3*x+3])
							dst[4*x+3] = 255
							continue
						}
						copy(px[at:at+cs], row[x*cs:x*cs+cs])
						c := d.pixel(px[:])
						copy(dst[4*x:4*x+4], c[:])
					}
				}
			case sub == 1:
				c, err := d.readCPixel(br, cs, at)
				if err != nil {
					return err
				}
				d.fb.fill(t, c)
			case sub >= 2 && sub <= 16:
				ps := int(sub)
				for i := 0; i < ps; i++ {
					if pal[i], err = d.readCPixel(br, cs, at); err != nil {
						return err
					}
				}
				bits := 4
				if ps == 2 {
					bits = 1
				} else if ps <= 4 {
					bits = 2
				}
				for y := t.Min.Y; y < t.Max.Y; y++ {
					var cur byte
					left := 0
					for x := t.Min.X; x < t.Max.X; x++ {
						if left == 0 {
							if cur, err = br.ReadByte(); err != nil {
								return unexpected(err)
							}
							left = 8
						}
						left -= bits
						idx := int(cur>>left) & (1<<bits - 1)
						if idx >= ps {
							return fmt.Errorf("%w: ZRLE palette index %d of %d", ErrProtocol, idx, ps)
						}
						copy(d.fb.Pix[4*(y*d.fb.W+x):], pal[idx][:])
					}
				}
			case sub == 128 || sub >= 130:
				ps := int(sub) - 128
				for i := 0; i < ps; i++ {
					if pal[i], err = d.readCPixel(br, cs, at); err != nil {
						return err
					}
				}
				total, i := tw*th, 0
				for i < total {
					var c [4]byte
					run := 1
					if ps == 0 {
						if c, err = d.readCPixel(br, cs, at); err != nil {
							return err
						}
						if run, err = runLength(br, total-i); err != nil {
							return err
						}
					} else {
						idx, err := br.ReadByte()
						if err != nil {
							return unexpected(err)
						}
						if int(idx&127) >= ps {
							return fmt.Errorf("%w: ZRLE palette index %d of %d", ErrProtocol, idx&127, ps)
						}
						c = pal[idx&127]
						if idx&128 != 0 {
							if run, err = runLength(br, total-i); err != nil {
								return err
							}
						}
					}
					for ; run > 0; run-- {
						x, y := t.Min.X+i%tw, t.Min.Y+i/tw
						copy(d.fb.Pix[4*(y*d.fb.W+x):], c[:])
						i++
					}
				}
			default:
				return fmt.Errorf("%w: ZRLE subencoding %d", ErrProtocol, sub)
			}
		}
	}
	return nil
}

// runLength reads a ZRLE run length (bytes of 255 then one less than
// 255, plus one), at most left.
func runLength(br *bufio.Reader, left int) (int, error) {
	n := 1
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, unexpected(err)
		}
		n += int(b)
		if n > left {
			return 0, fmt.Errorf("%w: ZRLE run of %d pixels with %d left in the tile", ErrProtocol, n, left)
		}
		if b != 255 {
			return n, nil
		}
	}
}

// cursor decodes the Cursor pseudo-encoding (RFC 6143 section 7.8.1).
func (d *Decoder) cursor(r image.Rectangle) error {
	w, h := r.Dx(), r.Dy()
	if w > MaxCursor || h > MaxCursor {
		return fmt.Errorf("%w: cursor %dx%d exceeds %dx%d", ErrTooLarge, w, h, MaxCursor, MaxCursor)
	}
	c := &d.fb.Cursor
	c.W, c.H, c.HotX, c.HotY = w, h, r.Min.X, r.Min.Y
	c.RGBA = c.RGBA[:0]
	d.fb.CursorGen++
	if w == 0 || h == 0 {
		c.W, c.H = 0, 0
		return nil
	}
	pix := d.rowBuf(w * h * d.bpp)
	if err := d.r.full(pix); err != nil {
		return unexpected(err)
	}
	rgba := make([]byte, 4*w*h)
	for i := 0; i < w*h; i++ {
		p := d.pixel(pix[i*d.bpp:])
		copy(rgba[4*i:], p[:3])
	}
	mw := (w + 7) / 8
	mask := make([]byte, mw*h)
	if err := d.r.full(mask); err != nil {
		return unexpected(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask[y*mw+x/8]&(0x80>>(x%8)) != 0 {
				rgba[4*(y*w+x)+3] = 255
			}
		}
	}
	c.RGBA = rgba
	return nil
}

// Tight (the TightVNC encoding, documented in the RFB community
// specification): compression-control byte values.
const (
	tightFill  = 8
	tightJPEG  = 9
	tightMaxID = 7

	tightFilterCopy     = 0
	tightFilterPalette  = 1
	tightFilterGradient = 2

	tightMinToCompress = 12
	// tightMaxJPEG bounds a JPEG rectangle: the compact length holds 22
	// bits.
	tightMaxJPEG = 1 << 22
)

// tpixel reports whether Tight sends pixels as 3 bytes R, G, B.
func (d *Decoder) tpixel() bool {
	pf := d.pf
	return pf.TrueColour && pf.BPP == 32 && pf.Depth == 24 && pf.RMax == 255 && pf.GMax == 255 && pf.BMax == 255
}

func (d *Decoder) tpixelSize() int {
	if d.tpixel() {
		return 3
	}
	return d.bpp
}

func (d *Decoder) tpixelColour(p []byte) [4]byte {
	if d.tpixel() {
		return [4]byte{p[0], p[1], p[2], 255}
	}
	return d.pixel(p)
}

// compactLength reads Tight's 1 to 3 byte length.
func (d *Decoder) compactLength() (int, error) {
	n := 0
	for i := 0; i < 3; i++ {
		b, err := d.r.u8()
		if err != nil {
			return 0, err
		}
		if i == 2 {
			n |= int(b) << 14
			break
		}
		n |= int(b&127) << (7 * i)
		if b&128 == 0 {
			break
		}
	}
	return n, nil
}

func (d *Decoder) scratch(n int) []byte {
	if cap(d.tile) < n {
		d.tile = make([]byte, n)
	}
	return d.tile[:n]
}

func (d *Decoder) tight(r image.Rectangle) error {
	cc, err := d.r.u8()
	if err != nil {
		return err
	}
	for i := 0; i < 4; i++ {
		if cc&(1<<i) != 0 {
			d.tightS[i].reset()
		}
	}
	kind := cc >> 4
	ts := d.tpixelSize()
	switch {
	case kind == tightFill:
		var p [4]byte
		if err := d.r.full(p[:ts]); err != nil {
			return unexpected(err)
		}
		d.fb.fill(r, d.tpixelColour(p[:]))
		return nil
	case kind == tightJPEG:
		return d.tightJPEG(r)
	case kind > tightMaxID:
		return fmt.Errorf("%w: Tight compression type %d", ErrUnsupported, kind)
	}
	stream := int(kind & 3)
	filter := tightFilterCopy
	if kind&4 != 0 {
		f, err := d.r.u8()
		if err != nil {
			return err
		}
		filter = int(f)
	}
	w, h := r.Dx(), r.Dy()
	var pal [256][4]byte
	size := w * h * ts
	switch filter {
	case tightFilterCopy, tightFilterGradient:
	case tightFilterPalette:
		n, err := d.r.u8()
		if err != nil {
			return err
		}
		np := int(n) + 1
		var p [4]byte
		for i := 0; i < np; i++ {
			if err := d.r.full(p[:ts]); err != nil {
				return unexpected(err)
			}
			pal[i] = d.tpixelColour(p[:])
		}
		if np == 2 {
			size = (w + 7) / 8 * h
		} else {
			size = w * h
		}
		data, err := d.tightData(stream, size)
		if err != nil {
			return err
		}
		for y := 0; y < h; y++ {
			dst := d.fb.Pix[4*((r.Min.Y+y)*d.fb.W+r.Min.X):]
			for x := 0; x < w; x++ {
				var idx int
				if np == 2 {
					idx = int(data[y*((w+7)/8)+x/8]>>(7-x%8)) & 1
				} else {
					idx = int(data[y*w+x])
				}
				if idx >= np {
					return fmt.Errorf("%w: Tight palette index %d of %d", ErrProtocol, idx, np)
				}
				copy(dst[4*x:4*x+4], pal[idx][:])
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: Tight filter %d", ErrProtocol, filter)
	}
	data, err := d.tightData(stream, size)
	if err != nil {
		return err
	}
	if filter == tightFilterGradient {
		d.gradient(data, w, h, ts)
	}
	for y := 0; y < h; y++ {
		dst := d.fb.Pix[4*((r.Min.Y+y)*d.fb.W+r.Min.X):]
		row := data[y*w*ts:]
		for x := 0; x < w; x++ {
			c := d.tpixelColour(row[x*ts:])
			copy(dst[4*x:4*x+4], c[:])
		}
	}
	return nil
}

// tightData reads size bytes of basic-compression data: raw under 12
// bytes, else a compact length and zlib data of the given stream.
func (d *Decoder) tightData(stream, size int) ([]byte, error) {
	buf := d.scratch(size)
	if size < tightMinToCompress {
		if err := d.r.full(buf); err != nil {
			return nil, unexpected(err)
		}
		return buf, nil
	}
	n, err := d.compactLength()
	if err != nil {
		return nil, err
	}
	s := &d.tightS[stream]
	br, err := s.begin(d.r, int64(n))
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(br, buf); err != nil {
		s.reset()
		return nil, fmt.Errorf("zlib stream %d: %w", stream, unexpected(err))
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return buf, nil
}

// gradient undoes Tight's gradient filter in place: each channel was sent
// as the difference from left + above - above-left, clamped to the
// channel's range.
func (d *Decoder) gradient(data []byte, w, h, ts int) {
	if ts == 3 {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for c := 0; c < 3; c++ {
					var left, up, ul int
					if x > 0 {
						left = int(data[(y*w+x-1)*3+c])
					}
					if y > 0 {
						up = int(data[((y-1)*w+x)*3+c])
						if x > 0 {
							ul = int(data[((y-1)*w+x-1)*3+c])
						}
					}
					est := min(max(left+up-ul, 0), 255)
					i := (y*w+x)*3 + c
					data[i] = byte(est + int(data[i]))
				}
			}
		}
		return
	}
	// Other formats: channels of the wire pixel.
	pf := d.pf
	maxs := [3]int{int(pf.RMax), int(pf.GMax), int(pf.BMax)}
	shifts := [3]uint8{pf.RShift, pf.GShift, pf.BShift}
	get := func(i int) uint32 {
		p := data[i*ts:]
		switch ts {
		case 1:
			return uint32(p[0])
		case 2:
			if pf.BigEndian {
				return uint32(binary.BigEndian.Uint16(p))
			}
			return uint32(binary.LittleEndian.Uint16(p))
		}
		if pf.BigEndian {
			return binary.BigEndian.Uint32(p)
		}
		return binary.LittleEndian.Uint32(p)
	}
	put := func(i int, v uint32) {
		p := data[i*ts:]
		switch ts {
		case 1:
			p[0] = byte(v)
		case 2:
			if pf.BigEndian {
				binary.BigEndian.PutUint16(p, uint16(v))
			} else {
				binary.LittleEndian.PutUint16(p, uint16(v))
			}
		default:
			if pf.BigEndian {
				binary.BigEndian.PutUint32(p, v)
			} else {
				binary.LittleEndian.PutUint32(p, v)
			}
		}
	}
	ch := func(v uint32, c int) int { return int(v>>shifts[c]) & maxs[c] }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var out uint32
			diff := get(y*w + x)
			for c := 0; c < 3; c++ {
				var left, up, ul int
				if x > 0 {
					left = ch(get(y*w+x-1), c)
				}
				if y > 0 {
					up = ch(get((y-1)*w+x), c)
					if x > 0 {
						ul = ch(get((y-1)*w+x-1), c)
					}
				}
				est := min(max(left+up-ul, 0), maxs[c])
				v := (est + ch(diff, c)) & maxs[c]
				out |= uint32(v) << shifts[c]
			}
			put(y*w+x, out)
		}
	}
}

func (d *Decoder) tightJPEG(r image.Rectangle) error {
	n, err := d.compactLength()
	if err != nil {
		return err
	}
	if n > tightMaxJPEG {
		return fmt.Errorf("%w: JPEG of %d bytes", ErrTooLarge, n)
	}
	buf := d.scratch(n)
	if err := d.r.full(buf); err != nil {
		return unexpected(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("%w: Tight JPEG: %v", ErrProtocol, err)
	}
	if cfg.Width != r.Dx() || cfg.Height != r.Dy() {
		return fmt.Errorf("%w: Tight JPEG %dx%d in a %dx%d rectangle", ErrProtocol, cfg.Width, cfg.Height, r.Dx(), r.Dy())
	}
	img, err := jpeg.Decode(bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("%w: Tight JPEG: %v", ErrProtocol, err)
	}
	b := img.Bounds()
	for y := 0; y < r.Dy(); y++ {
		dst := d.fb.Pix[4*((r.Min.Y+y)*d.fb.W+r.Min.X):]
		for x := 0; x < r.Dx(); x++ {
			cr, cg, cb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = byte(cr>>8), byte(cg>>8), byte(cb>>8), 255
		}
	}
	return nil
}
