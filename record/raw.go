package record

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"io"
)

// RawSource reads headerless packed RGB frames (rgba, bgra or rgb24) of a
// fixed size at a fixed rate, e.g. the output of
// `ffmpeg -f rawvideo -pix_fmt rgba`. Hints are always nil.
type RawSource struct {
	r         *bufio.Reader
	info      SourceInfo
	format    PixelFormat
	frameSize int
	buf       []byte
	img       *image.YCbCr
	frame     int
	off       int64
	err       error // sticky
}

// NewRawSource returns a source reading frames from r. opts.Width,
// opts.Height and opts.FPS are required; opts.PixFmt is rgba, bgra or
// rgb24 ("" means rgba). name is reported in SourceInfo.Name. The caller
// closes r (Close does not).
func NewRawSource(r io.Reader, name string, opts SourceOptions) (*RawSource, error) {
	if err := checkSize(opts.Width, opts.Height); err != nil {
		return nil, fmt.Errorf("raw: size: %w", err)
	}
	pix := opts.PixFmt
	if pix == "" {
		pix = "rgba"
	}
	format, err := ParsePixelFormat(pix)
	if err != nil {
		return nil, fmt.Errorf("raw: %w", err)
	}
	num, den, err := rationalFPS(opts.FPS)
	if err != nil {
		return nil, fmt.Errorf("raw: %w", err)
	}
	return &RawSource{
		r:         bufio.NewReaderSize(r, 64<<10),
		info:      SourceInfo{Width: opts.Width, Height: opts.Height, FPS: float64(num) / float64(den), FPSNum: num, FPSDen: den, Name: name},
		format:    format,
		frameSize: opts.Width * opts.Height * format.BytesPerPixel,
	}, nil
}

// Info reports the fixed geometry and rate.
func (s *RawSource) Info() SourceInfo { return s.info }

// Close does nothing: the reader belongs to the caller.
func (s *RawSource) Close() error { return nil }

// Next returns the next frame converted to 4:2:0, io.EOF when the input
// ends at a frame boundary, or a *StreamError wrapping ErrShortFrame when
// it ends inside a frame. Errors are sticky.
func (s *RawSource) Next(ctx context.Context) (Frame, error) {
	if s.err != nil {
		return Frame{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if s.buf == nil {
		s.buf = make([]byte, s.frameSize) // size from the options, capped by checkSize
	}
	n, err := io.ReadFull(s.r, s.buf)
	start := s.off
	s.off += int64(n)
	switch {
	case err == io.EOF:
		s.err = io.EOF
		return Frame{}, io.EOF
	case err == io.ErrUnexpectedEOF:
		s.err = &StreamError{Format: "raw", Frame: s.frame, Offset: start, Msg: fmt.Sprintf("short frame (got %d of %d bytes)", n, s.frameSize), Err: ErrShortFrame}
		return Frame{}, s.err
	case err != nil:
		s.err = fmt.Errorf("raw: frame %d at byte %d: %w", s.frame, start, err)
		return Frame{}, s.err
	}
	w, h := s.info.Width, s.info.Height
	if s.img == nil {
		s.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	RGBToYCbCr(s.img, s.buf, w*s.format.BytesPerPixel, s.format, s.img.Rect)
	pts := framePTS(int64(s.frame), s.info.FPSNum, s.info.FPSDen)
	s.frame++
	return Frame{Img: s.img, PTS: pts}, nil
}
