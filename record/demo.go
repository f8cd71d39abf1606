package record

import (
	"context"
	"fmt"
	"image"
	"time"
)

// The demo source: a synthetic desktop (background, taskbar with a clock,
// a terminal being typed into, a browser page that scrolls, a file manager
// window that gets dragged, a moving pointer, an app switch every 10 s).
// Everything is a function of the seed and the frame number: no wall
// clock, no global randomness, so two runs with the same options produce
// identical frames. Activities advance per frame (typing, scrolling and
// dragging are faster in real time at a higher rate); the tour's phases
// and the clock follow PTS.
//
// The tour cycles every 30 s: terminal in front and typing (0-10 s),
// browser in front and scrolling in bursts (10-20 s), file manager in
// front and dragged for 4 s (20-30 s), the pointer wandering throughout.
//
// Each frame repaints only the regions whose scene state changed and
// converts only those to YCbCr; the same regions, widened to even
// coordinates (whole chroma blocks) and clipped to the frame, are the
// frame's hints. Frame 0 has one hint, the whole frame; a frame where
// nothing moved has an empty, non-nil Hints.

// Demo scenarios (SourceOptions.Scenario).
const (
	ScenarioTour    = ""        // all activities, in 10 s phases
	ScenarioTyping  = "typing"  // the terminal only
	ScenarioPointer = "pointer" // the pointer only
	ScenarioDrag    = "drag"    // a window dragged back and forth
	ScenarioScroll  = "scroll"  // a page scrolling continuously
	ScenarioSwitch  = "switch"  // the front window changes every second
)

const (
	demoDefaultW, demoDefaultH = 1920, 1080
	demoDefaultFPS             = 15
	demoDefaultSeed            = 0x5eed2026
	taskbarH                   = 28
	titleH                     = 20
	lineH                      = 20 // browser text line pitch
	phaseSeconds               = 10 // tour: one app per phase
)

type demoColor struct{ r, g, b uint8 }

var (
	colTitleActive   = demoColor{46, 94, 186}
	colTitleInactive = demoColor{118, 122, 132}
	colTitleText     = demoColor{245, 245, 245}
	colBorder        = demoColor{32, 34, 40}
	colTermBG        = demoColor{24, 26, 30}
	colTermFG        = demoColor{200, 210, 200}
	colPageBG        = demoColor{250, 250, 248}
	colPageFG        = demoColor{40, 40, 46}
	colHeading       = demoColor{22, 66, 160}
	colFilesBG       = demoColor{236, 238, 242}
	colTaskbar       = demoColor{34, 37, 45}
	colButton        = demoColor{58, 62, 74}
	colButtonActive  = demoColor{88, 110, 160}
	colWhite         = demoColor{255, 255, 255}
	colBlack         = demoColor{0, 0, 0}
)

const (
	kindTerminal = iota
	kindBrowser
	kindFiles
)

type demoWindow struct {
	kind  int
	title string
	r     image.Rectangle // outer rectangle: border, title bar, content
}

func (w *demoWindow) content() image.Rectangle {
	return image.Rect(w.r.Min.X+1, w.r.Min.Y+titleH, w.r.Max.X-1, w.r.Max.Y-1)
}

func (w *demoWindow) titleBar() image.Rectangle {
	return image.Rect(w.r.Min.X, w.r.Min.Y, w.r.Max.X, w.r.Min.Y+titleH)
}

type demoSource struct {
	info     SourceInfo
	w, h     int
	scenario string
	seed     uint64
	n        int64 // frames produced

	fb, bg []byte // RGBA framebuffer and the cached desktop background
	stride int
	bounds image.Rectangle
	desk   image.Rectangle // above the taskbar
	img    *image.YCbCr

	wins  []*demoWindow // back to front
	order [3]*demoWindow
	term  demoTerm
	// browser
	scroll int
	// drag
	vx, vy int
	// pointer
	ptr, ptrTarget image.Point
	ptrWait        int
	ptrRng         demoRand
	clockSec       int64

	dirty []image.Rectangle
	hints []image.Rectangle
}

func newDemo(opts SourceOptions) (*demoSource, error) {
	w, h := opts.Width, opts.Height
	if w == 0 && h == 0 {
		w, h = demoDefaultW, demoDefaultH
	}
	if err := checkSize(w, h); err != nil {
		return nil, fmt.Errorf("demo: size: %w", err)
	}
	fps := opts.FPS
	if fps == 0 {
		fps = demoDefaultFPS
	}
	num, den, err := rationalFPS(fps)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	switch opts.Scenario {
	case ScenarioTour, ScenarioTyping, ScenarioPointer, ScenarioDrag, ScenarioScroll, ScenarioSwitch:
	default:
		return nil, fmt.Errorf("%w: demo scenario %q (want typing, pointer, drag, scroll, switch or empty)", ErrBadOption, opts.Scenario)
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = demoDefaultSeed
	}
	name := "demo"
	if opts.Scenario != "" {
		name = "demo:" + opts.Scenario
	}
	d := &demoSource{
		info:     SourceInfo{Width: w, Height: h, FPS: float64(num) / float64(den), FPSNum: num, FPSDen: den, Name: name},
		w:        w,
		h:        h,
		scenario: opts.Scenario,
		seed:     seed,
		stride:   4 * w,
		bounds:   image.Rect(0, 0, w, h),
		img:      image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		ptrRng:   demoRand{seed ^ 0x1},
	}
	d.fb = make([]byte, 4*w*h)
	d.bg = make([]byte, 4*w*h)
	d.layout()
	return d, nil
}

// layout places the taskbar and the windows relative to the screen size.
func (d *demoSource) layout() {
	w, h := d.w, d.h
	tb := taskbarH
	if h < 4*taskbarH {
		tb = h / 8
	}
	d.desk = image.Rect(0, 0, w, h-tb)
	dh := d.desk.Dy()
	rel := func(x0, y0, x1, y1 int) image.Rectangle { // percent of the desk
		return image.Rect(w*x0/100, dh*y0/100, w*x1/100, dh*y1/100)
	}
	term := &demoWindow{kind: kindTerminal, title: "Terminal - ops@bastion", r: rel(4, 5, 54, 62)}
	browser := &demoWindow{kind: kindBrowser, title: "Runbook - Browser", r: rel(30, 10, 92, 86)}
	files := &demoWindow{kind: kindFiles, title: "Files - /srv/recordings", r: rel(12, 40, 50, 94)}
	d.order = [3]*demoWindow{term, browser, files}
	switch d.scenario {
	case ScenarioScroll:
		d.wins = []*demoWindow{term, files, browser}
	case ScenarioDrag:
		d.wins = []*demoWindow{term, browser, files}
	default:
		d.wins = []*demoWindow{files, browser, term}
	}
	d.term.init(term, d.seed)
	d.vx, d.vy = max(2, w/240), max(1, h/400)
	d.ptr = image.Pt(w*2/3, dh/2)
	d.ptrTarget = d.ptr

	// background: a diagonal gradient with soft seeded bands
	phase := int(d.seed % 97)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			band := ((x+2*y+phase)/64)%2 == 0
			c := demoColor{uint8(28 + 50*x/w), uint8(70 + 60*y/h), uint8(120 + 60*(x+y)/(w+h))}
			if band {
				c.g += 6
				c.b += 6
			}
			o := y*d.stride + 4*x
			d.bg[o], d.bg[o+1], d.bg[o+2], d.bg[o+3] = c.r, c.g, c.b, 255
		}
	}
}

func (d *demoSource) Info() SourceInfo { return d.info }

func (d *demoSource) Close() error { return nil }

// Next advances the scene by one frame. Frame.Img and Frame.Hints are
// reused by the next call.
func (d *demoSource) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	d.dirty = d.dirty[:0]
	pts := framePTS(d.n, d.info.FPSNum, d.info.FPSDen)
	if d.n == 0 {
		d.clockSec = int64(pts / time.Second)
		d.dirty = append(d.dirty, d.bounds)
	} else {
		d.step(pts)
	}
	d.hints = mergeHints(d.hints[:0], d.dirty, d.bounds)
	for _, r := range d.hints {
		d.paint(r)
		RGBToYCbCr(d.img, d.fb, d.stride, FormatRGBA, r)
	}
	d.n++
	return Frame{Img: d.img, Hints: d.hints, PTS: pts}, nil
}

func (d *demoSource) mark(r image.Rectangle) {
	r = r.Intersect(d.bounds)
	if !r.Empty() {
		d.dirty = append(d.dirty, r)
	}
}

// step advances the scene state to the frame at pts, marking what changes.
func (d *demoSource) step(pts time.Duration) {
	sec := int64(pts / time.Second)
	fpsRound := max(1, (d.info.FPSNum+d.info.FPSDen/2)/d.info.FPSDen)
	switch d.scenario {
	case ScenarioTyping:
		d.term.step(d)
	case ScenarioPointer:
		d.movePointer()
	case ScenarioDrag:
		d.drag()
	case ScenarioScroll:
		d.scrollBy(max(1, d.h/180))
	case ScenarioSwitch:
		if d.n%int64(fpsRound) == 0 {
			d.bringToFront(d.order[(d.n/int64(fpsRound))%3])
		}
	default:
		if sec != d.clockSec {
			d.clockSec = sec
			d.mark(d.clockRect())
		}
		prevPhase := int64(framePTS(d.n-1, d.info.FPSNum, d.info.FPSDen)/time.Second) / phaseSeconds
		phase := int64(pts/time.Second) / phaseSeconds
		if phase != prevPhase {
			d.bringToFront(d.order[phase%3])
		}
		inPhase := d.n - phaseStartFrame(phase, d.info.FPSNum, d.info.FPSDen)
		switch d.wins[len(d.wins)-1].kind {
		case kindTerminal:
			d.term.step(d)
			d.movePointer()
		case kindBrowser:
			// scroll in bursts of two seconds with a one-second pause
			if (inPhase/int64(fpsRound))%3 != 2 {
				d.scrollBy(max(1, d.h/180))
			}
			d.movePointer()
		case kindFiles:
			// drag for the middle four seconds of the phase
			if s := inPhase / int64(fpsRound); s >= 3 && s < 7 {
				d.drag()
			} else {
				d.movePointer()
			}
		}
	}
}

// phaseStartFrame is the first frame whose PTS is in the phase.
func phaseStartFrame(phase int64, num, den int) int64 {
	// frames n with n*den/num >= phase*10 s  =>  n >= ceil(phase*10*num/den)
	t := phase * phaseSeconds * int64(num)
	return (t + int64(den) - 1) / int64(den)
}

// front is the frontmost window.
func (d *demoSource) front() *demoWindow { return d.wins[len(d.wins)-1] }

func (d *demoSource) bringToFront(w *demoWindow) {
	old := d.front()
	if old == w {
		return
	}
	for i, x := range d.wins {
		if x == w {
			copy(d.wins[i:], d.wins[i+1:])
			d.wins[len(d.wins)-1] = w
			break
		}
	}
	d.mark(w.r.Intersect(d.desk))
	d.mark(old.titleBar().Intersect(d.desk))
	d.mark(d.taskbarButtons())
}

func (d *demoSource) scrollBy(px int) {
	b := d.order[1]
	d.scroll += px
	d.mark(b.content().Intersect(b.r).Intersect(d.desk))
}

// drag moves the file manager window, bouncing off the desk edges, with
// the pointer holding its title bar.
func (d *demoSource) drag() {
	f := d.order[2]
	old := f.r
	if f.r.Dx() >= d.desk.Dx() {
		d.vx = 0
	} else if f.r.Min.X+d.vx < 0 || f.r.Max.X+d.vx > d.desk.Max.X {
		d.vx = -d.vx
	}
	if f.r.Dy() >= d.desk.Dy() {
		d.vy = 0
	} else if f.r.Min.Y+d.vy < 0 || f.r.Max.Y+d.vy > d.desk.Max.Y {
		d.vy = -d.vy
	}
	f.r = f.r.Add(image.Pt(d.vx, d.vy))
	if f.r != old {
		d.mark(old.Intersect(d.desk))
		d.mark(f.r.Intersect(d.desk))
	}
	grip := f.r.Min.Add(image.Pt(min(60, f.r.Dx()/2), titleH/2))
	d.setPointer(grip)
	d.ptrTarget = grip
}

// movePointer glides the pointer towards a target, then pauses and picks
// a new one.
func (d *demoSource) movePointer() {
	if d.ptr == d.ptrTarget {
		if d.ptrWait > 0 {
			d.ptrWait--
			return
		}
		d.ptrTarget = image.Pt(d.ptrRng.intn(d.w), d.ptrRng.intn(d.h))
		d.ptrWait = d.ptrRng.intn(20)
	}
	dx, dy := d.ptrTarget.X-d.ptr.X, d.ptrTarget.Y-d.ptr.Y
	step := func(v int) int { // ease out, at most 24 px per frame
		s := v / 5
		if s == 0 {
			s = v
		}
		return max(-24, min(24, s))
	}
	d.setPointer(d.ptr.Add(image.Pt(step(dx), step(dy))))
}

func (d *demoSource) setPointer(p image.Point) {
	if p == d.ptr {
		return
	}
	d.mark(d.pointerRect())
	d.ptr = p
	d.mark(d.pointerRect())
}

func (d *demoSource) pointerRect() image.Rectangle {
	return image.Rect(d.ptr.X, d.ptr.Y, d.ptr.X+pointerW, d.ptr.Y+pointerH)
}

func (d *demoSource) taskbar() image.Rectangle {
	return image.Rect(0, d.desk.Max.Y, d.w, d.h)
}

func (d *demoSource) clockRect() image.Rectangle {
	tb := d.taskbar()
	return image.Rect(tb.Max.X-8*glyphW-8, tb.Min.Y, tb.Max.X-8, tb.Max.Y)
}

func (d *demoSource) taskbarButtons() image.Rectangle {
	tb := d.taskbar()
	return image.Rect(tb.Min.X+40, tb.Min.Y, tb.Min.X+40+3*140, tb.Max.Y)
}

// mergeHints appends to dst the rectangles of rs widened to even
// coordinates (whole chroma blocks), clipped to bounds, with overlapping or
// touching rectangles merged when their union adds at most 1/16 to the
// area they cover.
func mergeHints(dst, rs []image.Rectangle, bounds image.Rectangle) []image.Rectangle {
	for _, r := range rs {
		r.Min.X &^= 1
		r.Min.Y &^= 1
		r.Max.X = (r.Max.X + 1) &^ 1
		r.Max.Y = (r.Max.Y + 1) &^ 1
		r = r.Intersect(bounds)
		if r.Empty() {
			continue
		}
		dst = append(dst, r)
	}
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(dst); i++ {
			for j := i + 1; j < len(dst); j++ {
				a, b := dst[i], dst[j]
				u := a.Union(b)
				touch := a.Min.X <= b.Max.X && b.Min.X <= a.Max.X && a.Min.Y <= b.Max.Y && b.Min.Y <= a.Max.Y
				covered := rectArea(a) + rectArea(b) - rectArea(a.Intersect(b))
				if !touch || rectArea(u) > covered+covered/16 {
					continue
				}
				dst[i] = u
				dst = append(dst[:j], dst[j+1:]...)
				merged = true
				j--
			}
		}
	}
	return dst
}

func rectArea(r image.Rectangle) int { return r.Dx() * r.Dy() }
