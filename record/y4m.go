package record

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"
	"time"
)

// YUV4MPEG2 ("y4m") input. A stream is a header line
//
//	YUV4MPEG2 W<width> H<height> [F<num>:<den>] [I<p|t|b|m>] [A<n>:<d>] [C<space>] [X<comment>]...
//
// followed by frames, each a line "FRAME[ params]" and the planes Y, Cb, Cr.
// Concatenated streams are accepted: a header where a FRAME line is
// expected starts a new stream whose size and rate may differ.

const (
	y4mMagic      = "YUV4MPEG2"
	y4mMaxLine    = 4096     // header and frame lines longer than this are errors
	y4mDefaultNum = 25       // the rate when F is absent
	y4mChunk      = 64 << 10 // first read buffer; it doubles as frame data arrives
)

// y4m colour spaces that are read.
const (
	y4m420 = iota
	y4m444
	y4mMono
)

// Y4MSource reads a YUV4MPEG2 stream. Frames of 4:2:0 streams (420jpeg,
// 420mpeg2, 420paldv, 420; the chroma siting is not resampled) are
// returned as stored; 4:4:4 is averaged down to 4:2:0 per 2x2 block and
// mono gets neutral chroma (128). Streams that ffmpeg marks full range
// (XCOLORRANGE=FULL) are scaled to the limited range. Hints are always nil.
type Y4MSource struct {
	br   *bufio.Reader
	name string
	off  int64 // bytes consumed from the input
	// current stream
	w, h, num, den int
	space          int
	fullRange      bool          // XCOLORRANGE=FULL: scale samples to limited range
	frameSize      int           // bytes of plane data per frame
	streamFrame    int64         // frames read in the current stream
	ptsBase        time.Duration // PTS of the first frame of the current stream
	frame          int           // frames read from the whole input
	buf            []byte
	img            *image.YCbCr
	err            error // sticky
	pending        bool  // a new header was read but no frame returned yet
}

// NewY4MSource reads the first stream header from r and returns a source
// for it. name is reported in SourceInfo.Name. The caller closes r (Close
// does not). Errors are *StreamError values.
func NewY4MSource(r io.Reader, name string) (*Y4MSource, error) {
	s := &Y4MSource{br: bufio.NewReaderSize(r, 64<<10), name: name}
	line, err := s.readLine()
	if err != nil {
		if err == io.EOF {
			return nil, s.headerErr(0, "empty input, want a YUV4MPEG2 header", ErrBadHeader)
		}
		return nil, err
	}
	if err := s.parseHeader(line, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// Info reports the geometry and rate of the current stream: after Next
// returns the first frame of a new concatenated stream, the new one.
func (s *Y4MSource) Info() SourceInfo {
	return SourceInfo{Width: s.w, Height: s.h, FPS: float64(s.num) / float64(s.den), FPSNum: s.num, FPSDen: s.den, Name: s.name}
}

// Close does nothing: the reader belongs to the caller.
func (s *Y4MSource) Close() error { return nil }

// Next returns the next frame, io.EOF after the last one, or a
// *StreamError naming the frame number and byte offset of the first bad
// frame (the frames before it are returned first). Errors are sticky.
func (s *Y4MSource) Next(ctx context.Context) (Frame, error) {
	if s.err != nil {
		return Frame{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	f, err := s.next()
	if err != nil {
		s.err = err
	}
	return f, err
}

func (s *Y4MSource) next() (Frame, error) {
	for {
		start := s.off
		line, err := s.readLine()
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		if err != nil {
			return Frame{}, err
		}
		if bytes.HasPrefix(line, []byte(y4mMagic)) {
			if err := s.parseHeader(line, start); err != nil {
				return Frame{}, err
			}
			continue
		}
		if !bytes.HasPrefix(line, []byte("FRAME")) || (len(line) > 5 && line[5] != ' ') {
			return Frame{}, s.frameErr(start, fmt.Sprintf("want FRAME or YUV4MPEG2, got %q", y4mClip(line, 16)), ErrBadFrame)
		}
		if err := s.readPlanes(start); err != nil {
			return Frame{}, err
		}
		pts := s.ptsBase + framePTS(s.streamFrame, s.num, s.den)
		s.streamFrame++
		s.frame++
		return Frame{Img: s.img, PTS: pts}, nil
	}
}

// readLine returns the next line without its '\n'. io.EOF means the input
// ended cleanly before the line; a line cut by the end of input is an
// error.
func (s *Y4MSource) readLine() ([]byte, error) {
	start := s.off
	line, err := s.br.ReadSlice('\n')
	s.off += int64(len(line))
	switch {
	case err == nil:
		if len(line) > y4mMaxLine {
			return nil, s.lineErr(start, fmt.Sprintf("line longer than %d bytes", y4mMaxLine), ErrBadFrame)
		}
		return line[:len(line)-1], nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, s.lineErr(start, fmt.Sprintf("line longer than %d bytes", y4mMaxLine), ErrBadFrame)
	case err == io.EOF:
		if len(line) == 0 {
			return nil, io.EOF
		}
		return nil, s.lineErr(start, fmt.Sprintf("input ends inside a line (%q)", y4mClip(line, 16)), ErrShortFrame)
	default:
		return nil, fmt.Errorf("y4m: read at byte %d: %w", start, err)
	}
}

// lineErr attributes a line error to a frame or, before the first
// header has been parsed, to the header (then always ErrBadHeader).
func (s *Y4MSource) lineErr(off int64, msg string, sentinel error) error {
	if s.w == 0 {
		return s.headerErr(off, msg, ErrBadHeader)
	}
	return s.frameErr(off, msg, sentinel)
}

func (s *Y4MSource) headerErr(off int64, msg string, sentinel error) error {
	return &StreamError{Format: "y4m", Frame: -1, Offset: off, Msg: msg, Err: sentinel}
}

func (s *Y4MSource) frameErr(off int64, msg string, sentinel error) error {
	return &StreamError{Format: "y4m", Frame: s.frame, Offset: off, Msg: msg, Err: sentinel}
}

// parseHeader reads a stream header line (without '\n') starting at off.
func (s *Y4MSource) parseHeader(line []byte, off int64) error {
	fields := bytes.Split(line, []byte(" "))
	if string(fields[0]) != y4mMagic {
		return s.headerErr(off, fmt.Sprintf("not a YUV4MPEG2 header: %q", y4mClip(line, 16)), ErrBadHeader)
	}
	w, h, num, den, space, full := 0, 0, y4mDefaultNum, 1, y4m420, false
	for _, f := range fields[1:] {
		if len(f) == 0 {
			continue // tolerate doubled spaces
		}
		v := string(f[1:])
		var err error
		switch f[0] {
		case 'W':
			w, err = strconv.Atoi(v)
		case 'H':
			h, err = strconv.Atoi(v)
		case 'F':
			num, den, err = parseRatio(v)
			if err == nil && (num <= 0 || den <= 0) {
				err = errors.New("not positive")
			}
		case 'C':
			switch v {
			case "420jpeg", "420mpeg2", "420paldv", "420":
				space = y4m420
			case "444":
				space = y4m444
			case "mono":
				space = y4mMono
			default:
				return s.headerErr(off, fmt.Sprintf("unsupported colour space %q (want 420jpeg, 420mpeg2, 420paldv, 420, 444 or mono)", y4mClip(f[1:], 32)), ErrUnsupported)
			}
		case 'X':
			// ffmpeg's extension: full-range samples are scaled to the
			// limited range VP8 expects
			switch v {
			case "COLORRANGE=FULL":
				full = true
			case "COLORRANGE=LIMITED":
				full = false
			}
		default:
			// I (interlacing), A (aspect ratio) and unknown fields do not
			// change the planes
		}
		if err != nil {
			return s.headerErr(off, fmt.Sprintf("bad header field %q", y4mClip(f, 32)), ErrBadHeader)
		}
	}
	if w <= 0 || h <= 0 {
		return s.headerErr(off, fmt.Sprintf("missing or bad size W%d H%d", w, h), ErrBadHeader)
	}
	if w > MaxWidth || h > MaxHeight || w*h > MaxPixels {
		return s.headerErr(off, fmt.Sprintf("size %dx%d exceeds 4096x2304", w, h), ErrTooLarge)
	}
	if s.w != 0 {
		// the next stream starts where this one ended
		s.ptsBase += framePTS(s.streamFrame, s.num, s.den)
	}
	s.w, s.h, s.num, s.den, s.space, s.fullRange = w, h, num, den, space, full
	s.streamFrame = 0
	cw, ch := (w+1)/2, (h+1)/2
	switch space {
	case y4m420:
		s.frameSize = w*h + 2*cw*ch
	case y4m444:
		s.frameSize = 3 * w * h
	case y4mMono:
		s.frameSize = w * h
	}
	s.img = nil // allocated once the first frame's data has arrived
	return nil
}

// parseRatio parses "n:d" with 32-bit parts.
func parseRatio(v string) (int, int, error) {
	ns, ds, ok := strings.Cut(v, ":")
	if !ok {
		return 0, 0, errors.New("no colon")
	}
	n, err := strconv.ParseInt(ns, 10, 32)
	if err != nil {
		return 0, 0, err
	}
	d, err := strconv.ParseInt(ds, 10, 32)
	if err != nil {
		return 0, 0, err
	}
	return int(n), int(d), nil
}

// readPlanes reads one frame's planes. The buffer grows only as data
// arrives, so a header claiming a huge size followed by little data
// allocates little; in steady state nothing is allocated.
func (s *Y4MSource) readPlanes(start int64) error {
	got := 0
	for got < s.frameSize {
		if got == len(s.buf) {
			grow := min(s.frameSize-len(s.buf), max(len(s.buf), y4mChunk))
			if cap(s.buf) >= len(s.buf)+grow {
				s.buf = s.buf[:len(s.buf)+grow]
			} else {
				nb := make([]byte, len(s.buf)+grow)
				copy(nb, s.buf[:got])
				s.buf = nb
			}
		}
		end := min(len(s.buf), s.frameSize)
		n, err := io.ReadFull(s.br, s.buf[got:end])
		got += n
		s.off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return s.frameErr(start, fmt.Sprintf("short frame (got %d of %d bytes)", got, s.frameSize), ErrShortFrame)
		}
		if err != nil {
			return fmt.Errorf("y4m: frame %d at byte %d: %w", s.frame, start, err)
		}
	}
	data := s.buf[:s.frameSize]
	w, h := s.w, s.h
	cw, ch := (w+1)/2, (h+1)/2
	switch s.space {
	case y4m420:
		// The image aliases the read buffer: no copy.
		if s.img == nil || &s.img.Y[0] != &data[0] {
			s.img = &image.YCbCr{
				Y: data[: w*h : w*h], Cb: data[w*h : w*h+cw*ch : w*h+cw*ch], Cr: data[w*h+cw*ch : s.frameSize : s.frameSize],
				YStride: w, CStride: cw, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h),
			}
		}
	case y4m444:
		if s.img == nil {
			s.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		}
		copy(s.img.Y, data[:w*h])
		downsample444(s.img.Cb, data[w*h:2*w*h], w, h)
		downsample444(s.img.Cr, data[2*w*h:], w, h)
	case y4mMono:
		if s.img == nil {
			s.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		}
		copy(s.img.Y, data)
		for i := range s.img.Cb {
			s.img.Cb[i] = 128
			s.img.Cr[i] = 128
		}
	}
	if s.fullRange {
		for i, v := range s.img.Y {
			s.img.Y[i] = fullToLimitedY[v]
		}
		if s.space != y4mMono {
			for i, v := range s.img.Cb {
				s.img.Cb[i] = fullToLimitedC[v]
			}
			for i, v := range s.img.Cr {
				s.img.Cr[i] = fullToLimitedC[v]
			}
		}
	}
	return nil
}

// Full (0..255) to limited range (Y 16..235, Cb/Cr 16..240, BT.601).
var fullToLimitedY, fullToLimitedC = rangeLUTs()

func rangeLUTs() (y, c [256]uint8) {
	for v := 0; v < 256; v++ {
		y[v] = uint8(16 + (v*219+127)/255)
		d := (v - 128) * 224
		if d >= 0 {
			c[v] = uint8(128 + (d+127)/255)
		} else {
			c[v] = uint8(128 - (-d+127)/255)
		}
	}
	return y, c
}

// downsample444 averages each 2x2 block of a full-size w x h plane into a
// (w+1)/2 x (h+1)/2 plane (edge blocks average the samples they have).
func downsample444(dst, src []byte, w, h int) {
	cw := (w + 1) / 2
	for cy := 0; cy < (h+1)/2; cy++ {
		r0 := src[2*cy*w : 2*cy*w+w]
		r1 := r0
		if 2*cy+1 < h {
			r1 = src[(2*cy+1)*w : (2*cy+1)*w+w]
		}
		d := dst[cy*cw : cy*cw+cw]
		for cx := range d {
			x0, x1 := 2*cx, 2*cx+1
			if x1 >= w {
				x1 = x0
			}
			d[cx] = uint8((int(r0[x0]) + int(r0[x1]) + int(r1[x0]) + int(r1[x1]) + 2) >> 2)
		}
	}
}

// clip shortens b for an error message.
func y4mClip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
