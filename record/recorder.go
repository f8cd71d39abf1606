package record

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/vp8enc"
)

// Encoder compresses frames to VP8. The pure-Go vp8enc.Encoder is the
// default; a libvpx binding (build tag libvpx) satisfies it too.
type Encoder interface {
	Encode(img *image.YCbCr, hints []image.Rectangle, forceKey bool) (frame []byte, key bool, err error)
}

// EncoderFactory makes an encoder for one frame size.
type EncoderFactory func(width, height, quality int) (Encoder, error)

// PureGo is the default EncoderFactory: reckit's own VP8 encoder.
func PureGo(width, height, quality int) (Encoder, error) {
	return vp8enc.New(width, height, vp8enc.Options{Quality: quality})
}

// RecordOptions configure Record.
type RecordOptions struct {
	Encoder          EncoderFactory // default PureGo
	Quality          int            // 1..100, 0 = the encoder's default
	KeyframeInterval time.Duration  // default 10 s
	Duration         time.Duration  // stop after this much media time (0 = until the end)
	Start            time.Time      // the wall-clock start, written as DateUTC
	Title            string
	Tags             []mux.SimpleTag
	// Live selects the live layout even on a seekable output.
	Live bool
	// Progress is called after every frame.
	Progress func(Stats)
}

// Stats is what a recording did.
type Stats struct {
	Frames     int64         `json:"frames"`
	Keyframes  int64         `json:"keyframes"`
	Bytes      int64         `json:"bytes"`
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"duration_ms"`
	Width      int           `json:"width"`
	Height     int           `json:"height"`
	Resizes    int           `json:"resolution_changes"`
	StopReason string        `json:"stop_reason"` // end-of-input, duration, signal, error
}

// Record reads frames from src, encodes them and writes one WebM to out
// until the end of input, opts.Duration of media time, or ctx is
// cancelled. It always finalizes the output (Duration, Cues) before it
// returns, so a stopped recording is complete: when the source fails, the
// frames before the failure are kept and the error is returned with the
// stats. A resolution change continues in the same file with a key frame
// at the new size. The caller closes src and out.
func Record(ctx context.Context, src Source, out io.Writer, opts RecordOptions) (Stats, error) {
	if opts.Encoder == nil {
		opts.Encoder = PureGo
	}
	if opts.KeyframeInterval <= 0 {
		opts.KeyframeInterval = 10 * time.Second
	}
	var (
		st       Stats
		w        *mux.Writer
		enc      Encoder
		encW     int
		encH     int
		lastKey  time.Duration
		firstPTS time.Duration
		lastPTS  time.Duration = -1
		srcErr   error
	)
	info := src.Info()
	frameDur := time.Duration(0)
	if info.FPS > 0 {
		frameDur = time.Duration(float64(time.Second) / info.FPS)
	}
	finish := func(reason string) (Stats, error) {
		st.StopReason = reason
		if w == nil {
			if srcErr != nil {
				return st, srcErr
			}
			return st, errors.New("record: no frame to record")
		}
		if err := w.Close(); err != nil {
			if srcErr != nil {
				return st, fmt.Errorf("%w (and finalizing failed: %v)", srcErr, err)
			}
			return st, err
		}
		st.Bytes = w.Size()
		st.Duration = w.Duration()
		st.DurationMS = st.Duration.Milliseconds()
		return st, srcErr
	}
	for {
		if ctx.Err() != nil {
			return finish("signal")
		}
		f, err := src.Next(ctx)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return finish("end-of-input")
			case ctx.Err() != nil:
				return finish("signal")
			}
			srcErr = err
			return finish("error")
		}
		if w != nil && opts.Duration > 0 && f.PTS-firstPTS >= opts.Duration {
			return finish("duration")
		}
		b := f.Img.Rect
		force := false
		if enc == nil || b.Dx() != encW || b.Dy() != encH {
			if enc != nil {
				st.Resizes++
			}
			enc, err = opts.Encoder(b.Dx(), b.Dy(), opts.Quality)
			if err != nil {
				srcErr = fmt.Errorf("record: frame %d: %w", st.Frames, err)
				return finish("error")
			}
			encW, encH, force = b.Dx(), b.Dy(), true
		}
		if w == nil {
			firstPTS = f.PTS
			wo := mux.WriterOptions{Width: encW, Height: encH, FrameDuration: frameDur, Title: opts.Title,
				DateUTC: opts.Start, Tags: opts.Tags, Live: opts.Live}
			if w, err = mux.NewWriter(out, wo); err != nil {
				return st, err
			}
		}
		pts := f.PTS - firstPTS
		if pts <= lastPTS {
			// Two frames in one millisecond tick: keep the order.
			pts = lastPTS + time.Millisecond
		}
		if pts-lastKey >= opts.KeyframeInterval {
			force = true
		}
		data, key, err := enc.Encode(f.Img, f.Hints, force)
		if err != nil {
			srcErr = fmt.Errorf("record: encode frame %d: %w", st.Frames, err)
			return finish("error")
		}
		if err := w.WriteFrame(pts, key, data); err != nil {
			srcErr = err
			return finish("error")
		}
		lastPTS = pts
		if key {
			lastKey = pts
			st.Keyframes++
		}
		st.Frames++
		st.Width, st.Height = encW, encH
		if opts.Progress != nil {
			st.Bytes = w.Size()
			st.Duration = w.Duration()
			opts.Progress(st)
		}
	}
}

// WithFPS overrides a source's frame rate: frame n gets PTS n/fps.
func WithFPS(src Source, fps float64) Source { return &fpsSource{Source: src, fps: fps} }

type fpsSource struct {
	Source
	fps float64
	n   int64
}

func (s *fpsSource) Info() SourceInfo {
	i := s.Source.Info()
	i.FPS = s.fps
	return i
}

func (s *fpsSource) Next(ctx context.Context) (Frame, error) {
	f, err := s.Source.Next(ctx)
	if err == nil {
		f.PTS = time.Duration(float64(s.n) * float64(time.Second) / s.fps)
		s.n++
	}
	return f, err
}

// Paced delivers src's frames no faster than their PTS on the wall clock
// (now is the clock; sleep waits and returns early when ctx ends): a file
// or the demo source then behaves like a live screen, for realtime tests
// and benchmarks.
func Paced(src Source, now func() time.Time) Source {
	return &pacedSource{Source: src, now: now}
}

type pacedSource struct {
	Source
	now   func() time.Time
	start time.Time
	first time.Duration
	began bool
}

func (s *pacedSource) Next(ctx context.Context) (Frame, error) {
	f, err := s.Source.Next(ctx)
	if err != nil {
		return f, err
	}
	if !s.began {
		s.start, s.first, s.began = s.now(), f.PTS, true
		return f, nil
	}
	if wait := s.start.Add(f.PTS - s.first).Sub(s.now()); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Frame{}, ctx.Err()
		case <-t.C:
		}
	}
	return f, nil
}
