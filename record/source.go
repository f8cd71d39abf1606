// Package record captures frames from a source (the built-in demo desktop,
// YUV4MPEG2 or raw RGB streams, X11, VNC), encodes them as VP8 and writes
// them as WebM recordings in a recording directory.
//
// This file defines the Source contract shared by every capture source.
// Sources never print, exit or read the environment; the caller owns every
// reader it passes in (SourceOptions.Stdin is never closed by a source).
package record

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// Sentinel errors of the sources. Errors returned by sources wrap one of
// these (test with errors.Is); stream errors are *StreamError values.
var (
	// ErrUnknownSource: the source spec names no known scheme.
	ErrUnknownSource = errors.New("record: unknown source")
	// ErrBadOption: a SourceOptions field is missing or out of range.
	ErrBadOption = errors.New("record: bad source option")
	// ErrBadHeader: a stream header (y4m) is malformed.
	ErrBadHeader = errors.New("record: bad stream header")
	// ErrUnsupported: the stream uses a valid but unsupported format.
	ErrUnsupported = errors.New("record: unsupported stream format")
	// ErrTooLarge: the picture is larger than MaxWidth x MaxHeight.
	ErrTooLarge = errors.New("record: picture too large")
	// ErrShortFrame: the input ended inside a frame.
	ErrShortFrame = errors.New("record: short frame")
	// ErrBadFrame: a frame header is malformed.
	ErrBadFrame = errors.New("record: bad frame header")
)

// Picture size limits applied to every source before any allocation.
// A picture may be at most MaxWidth or MaxHeight pixels along either side
// and at most MaxPixels pixels in total (4096x2304, or 2304x4096 for a
// portrait screen).
const (
	MaxWidth  = 4096
	MaxHeight = 4096
	MaxPixels = 4096 * 2304
)

// Frame is one captured picture in 4:2:0 (BT.601 limited range, as VP8
// expects).
//
// Img and Hints may be reused by the source on the next call to Next: the
// caller must copy or encode them before calling Next again, and must not
// modify them.
type Frame struct {
	// Img is the picture, Info().Width x Info().Height at the time Next
	// returned, with Rect.Min at (0,0) and SubsampleRatio420.
	Img *image.YCbCr
	// Hints are the rectangles changed since the previous frame. nil means
	// unknown (the whole frame may have changed); an empty non-nil slice
	// means nothing changed. A chroma sample changes only if its 2x2 luma
	// block intersects a hint.
	Hints []image.Rectangle
	// PTS is the presentation time from the start of the source.
	PTS time.Duration
}

// SourceInfo describes the current geometry and rate of a source.
type SourceInfo struct {
	Width, Height int
	// FPS is FPSNum/FPSDen frames per second.
	FPS            float64
	FPSNum, FPSDen int
	// Name identifies the source, e.g. "demo" or "y4m:-".
	Name string
}

// Source produces frames.
//
// Info reports the current geometry and rate; it may change mid-stream (a
// concatenated y4m stream): Next then returns frames of the new size and
// Info reflects it from that frame on. Next returns io.EOF at the end of
// the input; it checks ctx between frames, but a read blocked on a pipe is
// only interrupted by closing the pipe. Close releases what the source
// opened (files, never SourceOptions.Stdin) and is idempotent.
type Source interface {
	Info() SourceInfo
	Next(ctx context.Context) (Frame, error)
	Close() error
}

// SourceOptions configures OpenSource.
type SourceOptions struct {
	// Stdin is read for the "-" paths; sources never touch os.Stdin.
	Stdin io.Reader
	// Width, Height: raw: required; demo: default 1920x1080.
	Width, Height int
	// PixFmt: raw: rgba (default), bgra or rgb24.
	PixFmt string
	// FPS: raw: required; demo: default 15. y4m takes its rate from the
	// stream header.
	FPS float64
	// Scenario: demo only: "" (the full desktop tour) or one of typing,
	// pointer, drag, scroll, switch.
	Scenario string
	// Seed: demo only; 0 selects the fixed default seed.
	Seed int64
	// Frames, if positive, ends every source with io.EOF after that many
	// frames (the demo otherwise runs forever).
	Frames int
	// Password: vnc only: the VNC Authentication password (nil: none).
	Password []byte
	// HideCursor: vnc only: record without the mouse cursor.
	HideCursor bool
	// TLSConfig: vnc only: enables VeNCrypt X509None and X509Vnc.
	TLSConfig *tls.Config
}

// OpenerFunc opens a source for the part of a spec after "scheme:".
type OpenerFunc func(rest string, opts SourceOptions) (Source, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]OpenerFunc{}
)

// RegisterSource makes OpenSource accept "scheme:..." specs (and the bare
// "scheme"), for sources that live in other files or packages (x11, vnc).
// It is meant to be called from init functions; it panics on a duplicate
// or built-in scheme.
func RegisterSource(scheme string, open OpenerFunc) {
	openersMu.Lock()
	defer openersMu.Unlock()
	switch scheme {
	case "demo", "y4m", "raw":
		panic("record: RegisterSource: built-in scheme " + scheme)
	}
	if _, dup := openers[scheme]; dup {
		panic("record: RegisterSource: duplicate scheme " + scheme)
	}
	openers[scheme] = open
}

// OpenSource opens the source named by spec: "demo", "y4m:PATH", "y4m:-",
// "raw:PATH" or "raw:-" ("-" reads opts.Stdin), or a scheme added with
// RegisterSource. Unknown schemes return an error wrapping ErrUnknownSource.
// The caller closes the returned Source.
func OpenSource(spec string, opts SourceOptions) (Source, error) {
	if opts.Frames < 0 {
		return nil, fmt.Errorf("%w: frames %d is negative", ErrBadOption, opts.Frames)
	}
	scheme, rest, hasRest := strings.Cut(spec, ":")
	var (
		src Source
		err error
	)
	switch scheme {
	case "demo":
		if hasRest {
			return nil, fmt.Errorf("%w: %q: demo takes no argument", ErrUnknownSource, spec)
		}
		d, err := newDemo(opts)
		if err != nil {
			return nil, err
		}
		src = d
	case "y4m", "raw":
		if !hasRest || rest == "" {
			return nil, fmt.Errorf("%w: %q: want %s:PATH or %s:-", ErrBadOption, spec, scheme, scheme)
		}
		var (
			r      io.Reader
			closer io.Closer
		)
		if rest == "-" {
			if opts.Stdin == nil {
				return nil, fmt.Errorf("%w: %q: no standard input given", ErrBadOption, spec)
			}
			r = opts.Stdin
		} else {
			f, err := os.Open(rest)
			if err != nil {
				return nil, fmt.Errorf("record: open source: %w", err)
			}
			r, closer = f, f
		}
		if scheme == "y4m" {
			src, err = NewY4MSource(r, spec)
		} else {
			src, err = NewRawSource(r, spec, opts)
		}
		if err != nil {
			if closer != nil {
				closer.Close()
			}
			return nil, err
		}
		if closer != nil {
			src = &closingSource{Source: src, c: closer}
		}
	default:
		openersMu.RLock()
		open, ok := openers[scheme]
		openersMu.RUnlock()
		if !ok {
			return nil, fmt.Errorf("%w: %q (want demo, y4m:PATH, raw:PATH)", ErrUnknownSource, spec)
		}
		src, err = open(rest, opts)
		if err != nil {
			return nil, err
		}
	}
	if opts.Frames > 0 {
		src = &limitSource{Source: src, left: opts.Frames}
	}
	return src, nil
}

// closingSource closes the file OpenSource opened for a source.
type closingSource struct {
	Source
	c      io.Closer
	closed bool
}

func (s *closingSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.Source.Close()
	if cerr := s.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// limitSource ends a source after a number of frames.
type limitSource struct {
	Source
	left int
}

func (s *limitSource) Next(ctx context.Context) (Frame, error) {
	if s.left <= 0 {
		return Frame{}, io.EOF
	}
	f, err := s.Source.Next(ctx)
	if err == nil {
		s.left--
	}
	return f, err
}

// StreamError reports a malformed or truncated input stream, naming the
// frame (counted from 0 over the whole input, concatenated streams
// included; -1 for a stream header) and the byte offset where that frame
// or header starts. It unwraps to one of the package's sentinel errors.
type StreamError struct {
	Format string // "y4m" or "raw"
	Frame  int    // 0-based frame number, or -1 for a header
	Offset int64  // byte offset of the frame or header in the input
	Msg    string // what is wrong, e.g. "short frame (got 1000 of 460800 bytes)"
	Err    error  // sentinel, e.g. ErrShortFrame
}

func (e *StreamError) Error() string {
	if e.Frame < 0 {
		return fmt.Sprintf("%s: header at byte %d: %s", e.Format, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: frame %d at byte %d: %s", e.Format, e.Frame, e.Offset, e.Msg)
}

func (e *StreamError) Unwrap() error { return e.Err }

// checkSize validates a picture size against the package limits.
func checkSize(w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: %dx%d", ErrBadOption, w, h)
	}
	if w > MaxWidth || h > MaxHeight || w*h > MaxPixels {
		return fmt.Errorf("%w: %dx%d exceeds %dx%d", ErrTooLarge, w, h, 4096, 2304)
	}
	return nil
}

// rationalFPS turns a frame rate into a fraction: integers as n/1, the
// NTSC rates as n*1000/1001, anything else to a millisecond-ish precision.
func rationalFPS(fps float64) (num, den int, err error) {
	if math.IsNaN(fps) || fps <= 0 || fps > 1000 {
		return 0, 0, fmt.Errorf("%w: frame rate %v (want 0 < fps <= 1000)", ErrBadOption, fps)
	}
	if r := math.Round(fps); math.Abs(fps-r) < 1e-9 {
		return int(r), 1, nil
	}
	if k := math.Round(fps * 1.001); math.Abs(fps-k/1.001) < 0.001 {
		return int(k) * 1000, 1001, nil // 29.97 means 30000/1001
	}
	n := int(math.Round(fps * 1000))
	if n == 0 {
		n = 1
	}
	g := gcdInt(n, 1000)
	return n / g, 1000 / g, nil
}

func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// framePTS is n*den/num seconds without overflow for num, den < 2^31 and
// n < 2^31.
func framePTS(n int64, num, den int) time.Duration {
	t := n * int64(den)
	sec := t / int64(num)
	rem := t % int64(num)
	return time.Duration(sec)*time.Second + time.Duration(rem*int64(time.Second)/int64(num))
}
