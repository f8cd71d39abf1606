// Package vp8bench measures VP8 encoders on the same frames: CPU and wall
// time per frame, bytes per frame and PSNR, with key frames and inter
// frames counted apart, and finds the setting of one encoder that matches
// another's PSNR. It drives `make bench-vp8` (scripts/bench-vp8.sh and the
// command in cmd/vp8bench), which compares reckit's pure-Go encoder with
// libvpx.
//
// Frames are held in memory (a Clip): at most MaxFrames of them, so that
// every encoder sees exactly the same input and the input's production is
// never timed. CPU time is the process's (getrusage RUSAGE_SELF), read
// around each Encode call, so an encoder that spreads work over several
// threads is charged for all of them; wall time is reported beside it.
package vp8bench

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"runtime"
	"time"
)

// MaxFrames caps the frames of a Clip (a 1080p frame takes 3 MB).
const MaxFrames = 600

var (
	// ErrClip reports a clip that cannot be measured: no frames, too many,
	// or frames of different sizes.
	ErrClip = errors.New("vp8bench: invalid clip")
	// ErrNoMatch reports that no level of the searched range came within
	// the tolerance of the target PSNR. Match still returns the nearest.
	ErrNoMatch = errors.New("vp8bench: no level matches the target PSNR")
	// ErrNoCPUTime reports a platform without getrusage.
	ErrNoCPUTime = errors.New("vp8bench: process CPU time is not available on this platform")
)

// Frame is one input frame.
type Frame struct {
	Img *image.YCbCr
	// Hints are the changed rectangles since the previous frame, nil when
	// unknown (see record.Frame).
	Hints []image.Rectangle
	// Key asks the encoder for a key frame. The first frame is always one.
	Key bool
}

// Clip is a sequence of frames of one size.
type Clip struct {
	Name   string
	Frames []Frame
}

// Size returns the clip's frame size.
func (c *Clip) Size() (w, h int) {
	if len(c.Frames) == 0 {
		return 0, 0
	}
	r := c.Frames[0].Img.Rect
	return r.Dx(), r.Dy()
}

func (c *Clip) check() error {
	if len(c.Frames) == 0 || len(c.Frames) > MaxFrames {
		return fmt.Errorf("%w: %q has %d frames (want 1..%d)", ErrClip, c.Name, len(c.Frames), MaxFrames)
	}
	w, h := c.Size()
	for i, f := range c.Frames {
		if f.Img == nil || f.Img.Rect.Dx() != w || f.Img.Rect.Dy() != h {
			return fmt.Errorf("%w: %q frame %d is not %dx%d", ErrClip, c.Name, i, w, h)
		}
	}
	return nil
}

// CopyFrame returns a copy of img (tightly packed, Rect at the origin) and
// of hints, for a Clip built from a source that reuses its buffers.
func CopyFrame(img *image.YCbCr, hints []image.Rectangle) Frame {
	r := img.Rect
	c := image.NewYCbCr(image.Rect(0, 0, r.Dx(), r.Dy()), image.YCbCrSubsampleRatio420)
	copyPlanes(c, img)
	var h []image.Rectangle
	if hints != nil {
		h = make([]image.Rectangle, len(hints))
		for i, x := range hints {
			h[i] = x.Sub(r.Min)
		}
	}
	return Frame{Img: c, Hints: h}
}

func copyPlanes(dst, src *image.YCbCr) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	p := src.Rect.Min
	for y := 0; y < h; y++ {
		o := src.YOffset(p.X, p.Y+y)
		copy(dst.Y[y*dst.YStride:y*dst.YStride+w], src.Y[o:o+w])
	}
	for y := 0; y < ch; y++ {
		o := src.COffset(p.X, p.Y+2*y)
		copy(dst.Cb[y*dst.CStride:y*dst.CStride+cw], src.Cb[o:o+cw])
		copy(dst.Cr[y*dst.CStride:y*dst.CStride+cw], src.Cr[o:o+cw])
	}
}

// ReadRawClip reads n frames of raw planar 4:2:0 video (ffmpeg's
// -f rawvideo -pix_fmt yuv420p) of size w x h from r. Hints are nil: the
// encoders find the changes themselves.
func ReadRawClip(name string, r io.Reader, w, h, n int) (*Clip, error) {
	if n < 1 || n > MaxFrames || w < 1 || h < 1 || w > 4096 || h > 4096 {
		return nil, fmt.Errorf("%w: %q: %d frames of %dx%d", ErrClip, name, n, w, h)
	}
	c := &Clip{Name: name}
	cw, ch := (w+1)/2, (h+1)/2
	for i := 0; i < n; i++ {
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		for _, p := range [][]byte{img.Y[:w*h], img.Cb[:cw*ch], img.Cr[:cw*ch]} {
			if _, err := io.ReadFull(r, p); err != nil {
				return nil, fmt.Errorf("vp8bench: %s frame %d: %w", name, i, err)
			}
		}
		c.Frames = append(c.Frames, Frame{Img: img})
	}
	return c, nil
}

// Encoder is an encoder under test. Reconstruction returns what a decoder
// shows for the last encoded frame; it is called outside the timed part.
type Encoder interface {
	Encode(img *image.YCbCr, hints []image.Rectangle, forceKey bool) (frame []byte, key bool, err error)
	Reconstruction() (*image.YCbCr, error)
	Close() error
}

// OpenFunc opens an encoder for w x h frames at a level: an encoder
// specific setting (reckit's quality, libvpx's quantizer).
type OpenFunc func(w, h, level int) (Encoder, error)

// Stats sum a class of frames (key or inter).
type Stats struct {
	Frames  int
	CPU     time.Duration // process CPU time spent in Encode
	Wall    time.Duration // wall time spent in Encode
	Bytes   int64
	SSE     float64 // squared error over Y, Cb and Cr
	Samples float64 // samples compared
}

func (s *Stats) add(o Stats) {
	s.Frames += o.Frames
	s.CPU += o.CPU
	s.Wall += o.Wall
	s.Bytes += o.Bytes
	s.SSE += o.SSE
	s.Samples += o.Samples
}

// CPUPerFrame is the mean CPU time per frame in milliseconds.
func (s Stats) CPUPerFrame() float64 { return perFrame(s, float64(s.CPU)/1e6) }

// WallPerFrame is the mean wall time per frame in milliseconds.
func (s Stats) WallPerFrame() float64 { return perFrame(s, float64(s.Wall)/1e6) }

// BytesPerFrame is the mean frame size in bytes.
func (s Stats) BytesPerFrame() float64 { return perFrame(s, float64(s.Bytes)) }

func perFrame(s Stats, v float64) float64 {
	if s.Frames == 0 {
		return 0
	}
	return v / float64(s.Frames)
}

// PSNR is 10·log10(255²/MSE) over every sample of every frame of the
// class (Y, Cb and Cr together, so luma weighs 4 times each chroma
// plane), or MaxPSNR when the frames are identical to the input.
func (s Stats) PSNR() float64 { return psnr(s.SSE, s.Samples) }

// MaxPSNR stands for the PSNR of an exact copy.
const MaxPSNR = 99.0

func psnr(sse, n float64) float64 {
	if n == 0 {
		return 0
	}
	if sse == 0 {
		return MaxPSNR
	}
	return min(MaxPSNR, 10*math.Log10(255*255*n/sse))
}

// Result is one encoder's run over a clip.
type Result struct {
	Clip  string
	Level int
	Key   Stats
	Inter Stats
}

// All sums key and inter frames.
func (r Result) All() Stats {
	s := r.Key
	s.add(r.Inter)
	return s
}

// Measure encodes every frame of clip with a new encoder at level, timing
// each Encode, and compares each reconstruction with its input.
func Measure(clip *Clip, open OpenFunc, level int) (Result, error) {
	res := Result{Clip: clip.Name, Level: level}
	if err := clip.check(); err != nil {
		return res, err
	}
	w, h := clip.Size()
	enc, err := open(w, h, level)
	if err != nil {
		return res, err
	}
	defer enc.Close()
	runtime.GC()
	for i, f := range clip.Frames {
		cpu0, err := cpuTime()
		if err != nil {
			return res, err
		}
		t0 := time.Now()
		data, key, err := enc.Encode(f.Img, f.Hints, f.Key)
		wall := time.Since(t0)
		cpu1, _ := cpuTime()
		if err != nil {
			return res, fmt.Errorf("vp8bench: %s frame %d: %w", clip.Name, i, err)
		}
		rec, err := enc.Reconstruction()
		if err != nil {
			return res, fmt.Errorf("vp8bench: %s frame %d: %w", clip.Name, i, err)
		}
		sse, n := SSE(f.Img, rec)
		s := Stats{Frames: 1, CPU: cpu1 - cpu0, Wall: wall, Bytes: int64(len(data)), SSE: sse, Samples: n}
		if key {
			res.Key.add(s)
		} else {
			res.Inter.add(s)
		}
	}
	return res, nil
}

// SSE returns the summed squared error between the visible 4:2:0 planes
// of a and b and the number of samples compared. Both must be the same
// size.
func SSE(a, b *image.YCbCr) (sse, samples float64) {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	var sum uint64
	for y := 0; y < h; y++ {
		oa := a.YOffset(a.Rect.Min.X, a.Rect.Min.Y+y)
		ob := b.YOffset(b.Rect.Min.X, b.Rect.Min.Y+y)
		sum += rowSSE(a.Y[oa:oa+w], b.Y[ob:ob+w])
	}
	for y := 0; y < ch; y++ {
		oa := a.COffset(a.Rect.Min.X, a.Rect.Min.Y+2*y)
		ob := b.COffset(b.Rect.Min.X, b.Rect.Min.Y+2*y)
		sum += rowSSE(a.Cb[oa:oa+cw], b.Cb[ob:ob+cw])
		sum += rowSSE(a.Cr[oa:oa+cw], b.Cr[ob:ob+cw])
	}
	return float64(sum), float64(w*h + 2*cw*ch)
}

func rowSSE(a, b []byte) uint64 {
	b = b[:len(a)]
	var s uint64
	for i, x := range a {
		d := int(x) - int(b[i])
		s += uint64(d * d)
	}
	return s
}

// Match searches level lo..hi of open for the result whose PSNR over all
// frames is nearest to target, assuming PSNR falls as the level rises
// (a quantizer; for a quality, negate it in open). It returns the nearest
// result and, when it is more than tol dB away, ErrNoMatch with it.
func Match(clip *Clip, open OpenFunc, lo, hi int, target, tol float64) (Result, error) {
	seen := map[int]Result{}
	run := func(level int) (Result, error) {
		if r, ok := seen[level]; ok {
			return r, nil
		}
		r, err := Measure(clip, open, level)
		if err == nil {
			seen[level] = r
		}
		return r, err
	}
	// Find the first level whose PSNR is at or below target.
	a, b := lo, hi
	for a < b {
		mid := (a + b) / 2
		r, err := run(mid)
		if err != nil {
			return r, err
		}
		if r.All().PSNR() > target {
			a = mid + 1
		} else {
			b = mid
		}
	}
	best, err := run(a)
	if err != nil {
		return best, err
	}
	if a > lo {
		r, err := run(a - 1)
		if err != nil {
			return r, err
		}
		if math.Abs(r.All().PSNR()-target) < math.Abs(best.All().PSNR()-target) {
			best = r
		}
	}
	if d := best.All().PSNR() - target; math.Abs(d) > tol {
		return best, fmt.Errorf("%w: %s: nearest level %d is %+.2f dB off %.2f dB", ErrNoMatch, clip.Name, best.Level, d, target)
	}
	return best, nil
}

// Best measures clip runs times at level and returns the run with the
// least CPU time over all frames, the least disturbed by other load on the
// machine. Size and PSNR do not vary between runs of a deterministic
// encoder.
func Best(clip *Clip, open OpenFunc, level, runs int) (Result, error) {
	var best Result
	for i := 0; i < max(runs, 1); i++ {
		r, err := Measure(clip, open, level)
		if err != nil {
			return r, err
		}
		if i == 0 || r.All().CPU < best.All().CPU {
			best = r
		}
	}
	return best, nil
}
