package record

// The X11 source: "x11:DISPLAY" captures the root window of an X server.
//
// Frames are paced by the wall clock at the requested rate. Changed areas
// come from the DAMAGE extension (a NonEmpty damage object on the root,
// its region fetched with XFIXES after each notification), so an idle
// screen costs one QueryPointer round trip per frame and a frame's work is
// proportional to what changed. Pixels are read with MIT-SHM GetImage into
// a System V segment when the display is local and the server accepts the
// segment, else with core GetImage. The cursor image comes from XFIXES
// (GetCursorImage, premultiplied ARGB) and is blended into the captured
// pixels; RANDR screen-change events make the source continue at the new
// size. Every extension is optional: without DAMAGE each frame is a full
// capture, without XFIXES there is no cursor, without RANDR a size change
// is noticed only when a capture fails.
//
// Connecting uses github.com/jezek/xgb, which reads the X authority file
// itself (XAUTHORITY, else ~/.Xauthority) when the server asks for a
// cookie; the DISPLAY string always comes from the spec.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
)

// ErrX11 is wrapped by the X11 source's errors about the X server: a
// connection that fails or breaks, a request the server refuses, a visual
// the source cannot read.
var ErrX11 = errors.New("record: x11")

// X11Options configure OpenX11.
type X11Options struct {
	// FPS is the capture rate; 0 selects 15.
	FPS float64
	// NoCursor leaves the pointer out of the frames.
	NoCursor bool
	// NoSHM forces core GetImage even on a local display (for tests and
	// for servers whose MIT-SHM misbehaves).
	NoSHM bool
}

// X11Stats counts what an X11 source did, for tests and benchmarks.
type X11Stats struct {
	Frames        int64 // frames returned
	Skipped       int64 // frame slots skipped because Next was called late
	FullCaptures  int64 // frames captured whole (first frame, resizes, no DAMAGE)
	Captures      int64 // GetImage requests
	CapturedBytes int64 // pixel bytes read from the server
	SHM           bool  // captures go through MIT-SHM
	Damage        bool  // the DAMAGE extension is in use
	Cursor        bool  // the cursor is drawn in
	RandR         bool  // RANDR screen changes are followed
}

const (
	x11DefaultFPS = 15
	// x11MaxHintRects: more damage rectangles than this are merged on a
	// 16x16 grid (the encoder's macroblocks).
	x11MaxHintRects = 64
	// x11MaxCaptureRects: more hint rectangles than this are read with one
	// GetImage of their bounding box instead of one request each.
	x11MaxCaptureRects = 8
	// x11MaxCursor bounds the cursor image drawn in (X cursors are at
	// most 64x64 in practice).
	x11MaxCursor = 256
)

var silenceXGB sync.Once

// init registers "x11:DISPLAY" with OpenSource. SourceOptions.FPS sets
// the rate (default 15) and SourceOptions.HideCursor leaves the pointer
// out (the CLI's --cursor=false); the other options do not apply.
func init() {
	RegisterSource("x11", func(rest string, opts SourceOptions) (Source, error) {
		return OpenX11(rest, X11Options{FPS: opts.FPS, NoCursor: opts.HideCursor})
	})
}

// X11Source captures an X11 screen. Create it with OpenX11 (or
// OpenSource("x11:DISPLAY", ...)); the caller closes it.
type X11Source struct {
	display string
	opts    X11Options
	conn    *xgb.Conn
	root    xproto.Window
	format  PixelFormat
	bpp     int // bits per pixel of ZPixmap images
	pad     int // scanline pad of ZPixmap images, in bits
	depth   byte

	info   SourceInfo
	img    *image.YCbCr
	hints  []image.Rectangle
	rects  []image.Rectangle // scratch: this frame's changed rectangles
	period time.Duration

	// DAMAGE
	damage   damage.Damage
	region   xfixes.Region
	damaged  bool // a DamageNotify arrived since the last fetch
	resized  bool // a RANDR screen change arrived
	hasRandR bool

	// MIT-SHM
	seg    shm.Seg
	shmMem *sysvShm
	shmCap int // bytes of the segment

	// Cursor
	cursorOn    bool
	cursorDirty bool
	cursor      []uint32 // premultiplied ARGB, cursorW x cursorH
	cursorW     int
	cursorH     int
	cursorHotX  int
	cursorHotY  int
	cursorAt    image.Point     // screen position of the image's top-left pixel
	cursorRect  image.Rectangle // where it was drawn in the last frame (clipped)

	t0      time.Time
	n       int64 // next frame slot
	first   bool  // the next capture is a full one
	wasFull bool  // the last capture was a full one
	closed  bool
	stats   X11Stats
}

// x11Setup serializes connection setup: xgb's extension Init functions
// write package-level tables that every connection's reader reads.
var x11Setup sync.Mutex

// OpenX11 connects to the X server named by display (":99", ":99.0",
// "host:0", "/tmp/.X11-unix/X99") and prepares to capture the root window
// of its screen. The caller closes the source, which closes the
// connection.
func OpenX11(display string, opts X11Options) (*X11Source, error) {
	x11Setup.Lock()
	defer x11Setup.Unlock()
	if display == "" {
		return nil, fmt.Errorf("%w: x11: want x11:DISPLAY, e.g. x11::0", ErrBadOption)
	}
	fps := opts.FPS
	if fps == 0 {
		fps = x11DefaultFPS
	}
	num, den, err := rationalFPS(fps)
	if err != nil {
		return nil, err
	}
	// xgb logs to stderr through a package logger; a library must not
	// print, so it is silenced once for the process.
	silenceXGB.Do(func() { xgb.Logger.SetOutput(io.Discard) })
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("%w: connect to display %q: %w", ErrX11, display, err)
	}
	s := &X11Source{
		display: display,
		opts:    opts,
		conn:    conn,
		first:   true,
		hints:   make([]image.Rectangle, 0, x11MaxHintRects),
		info: SourceInfo{FPS: float64(num) / float64(den), FPSNum: num, FPSDen: den,
			Name: "x11:" + display},
	}
	s.period = framePTS(1, num, den)
	if err := s.setup(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// setup reads the screen's format and size and selects the extensions.
func (s *X11Source) setup() error {
	c := s.conn
	setup := xproto.Setup(c)
	if c.DefaultScreen < 0 || c.DefaultScreen >= len(setup.Roots) {
		return fmt.Errorf("%w: display %q has no screen %d", ErrX11, s.display, c.DefaultScreen)
	}
	scr := setup.Roots[c.DefaultScreen]
	s.root = scr.Root
	s.depth = scr.RootDepth
	if err := s.readFormat(setup, &scr); err != nil {
		return err
	}
	if err := s.resize(); err != nil {
		return err
	}
	// DAMAGE needs XFIXES for its region.
	if xfixes.Init(c) == nil {
		if _, err := xfixes.QueryVersion(c, 5, 0).Reply(); err == nil {
			s.initDamage()
			if !s.opts.NoCursor {
				if xfixes.SelectCursorInputChecked(c, s.root, xfixes.CursorNotifyMaskDisplayCursor).Check() == nil {
					s.cursorOn, s.cursorDirty = true, true
				}
			}
		}
	}
	if randr.Init(c) == nil {
		if _, err := randr.QueryVersion(c, 1, 2).Reply(); err == nil {
			s.hasRandR = randr.SelectInputChecked(c, s.root, randr.NotifyMaskScreenChange).Check() == nil
		}
	}
	if !s.opts.NoSHM && sysvShmSupported && s.isLocal() && shm.Init(c) == nil {
		if _, err := shm.QueryVersion(c).Reply(); err == nil {
			if seg, err := shm.NewSegId(c); err == nil {
				s.seg = seg
				s.ensureSHM() // failure leaves shmMem nil: GetImage it is
			}
		}
	}
	s.stats.Damage, s.stats.Cursor, s.stats.RandR = s.damage != 0, s.cursorOn, s.hasRandR
	return nil
}

func (s *X11Source) initDamage() {
	c := s.conn
	if damage.Init(c) != nil {
		return
	}
	if _, err := damage.QueryVersion(c, 1, 1).Reply(); err != nil {
		return
	}
	region, err := xfixes.NewRegionId(c)
	if err != nil {
		return
	}
	if xfixes.CreateRegionChecked(c, region, nil).Check() != nil {
		return
	}
	d, err := damage.NewDamageId(c)
	if err != nil {
		xfixes.DestroyRegion(c, region)
		return
	}
	if damage.CreateChecked(c, d, xproto.Drawable(s.root), damage.ReportLevelNonEmpty).Check() != nil {
		xfixes.DestroyRegion(c, region)
		return
	}
	s.damage, s.region = d, region
}

// isLocal reports whether the display is reached through a Unix socket,
// the only case where the server can see our shared memory.
func (s *X11Source) isLocal() bool {
	d := s.display
	if strings.HasPrefix(d, "/") {
		return true
	}
	i := strings.LastIndex(d, ":")
	if i < 0 {
		return false
	}
	host := d[:i]
	if j := strings.LastIndex(host, "/"); j >= 0 {
		if proto := host[:j]; proto != "unix" && proto != "" {
			return false
		}
		host = host[j+1:]
	}
	return host == "" || host == "unix"
}

// readFormat derives the PixelFormat of ZPixmap images of the root depth.
func (s *X11Source) readFormat(setup *xproto.SetupInfo, scr *xproto.ScreenInfo) error {
	for _, f := range setup.PixmapFormats {
		if f.Depth == scr.RootDepth {
			s.bpp, s.pad = int(f.BitsPerPixel), int(f.ScanlinePad)
		}
	}
	if s.bpp != 16 && s.bpp != 24 && s.bpp != 32 || s.pad%8 != 0 || s.pad == 0 {
		return fmt.Errorf("%w: %w: depth %d with %d bits per pixel", ErrX11, ErrUnsupported, scr.RootDepth, s.bpp)
	}
	var vis *xproto.VisualInfo
	for i := range scr.AllowedDepths {
		d := &scr.AllowedDepths[i]
		for j := range d.Visuals {
			if d.Visuals[j].VisualId == scr.RootVisual {
				vis = &d.Visuals[j]
			}
		}
	}
	if vis == nil || (vis.Class != xproto.VisualClassTrueColor && vis.Class != xproto.VisualClassDirectColor) {
		return fmt.Errorf("%w: %w: the root visual is not true colour", ErrX11, ErrUnsupported)
	}
	ch := func(mask uint32) (uint, uint32) {
		if mask == 0 {
			return 0, 0
		}
		sh := uint(bits.TrailingZeros32(mask))
		return sh, mask >> sh
	}
	f := PixelFormat{BytesPerPixel: s.bpp / 8, BigEndian: setup.ImageByteOrder == xproto.ImageOrderMSBFirst}
	f.RShift, f.RMax = ch(vis.RedMask)
	f.GShift, f.GMax = ch(vis.GreenMask)
	f.BShift, f.BMax = ch(vis.BlueMask)
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w: %w: visual masks %#x %#x %#x: %w", ErrX11, ErrUnsupported, vis.RedMask, vis.GreenMask, vis.BlueMask, err)
	}
	s.format = f
	return nil
}

// stride is the byte length of one scanline of a w-pixel ZPixmap image.
func (s *X11Source) stride(w int) int {
	return (w*s.bpp + s.pad - 1) / s.pad * s.pad / 8
}

// resize reads the root window's size and, when it differs from the
// current picture, allocates a picture of the new size. It reports
// whether the size changed.
func (s *X11Source) resize() error {
	g, err := xproto.GetGeometry(s.conn, xproto.Drawable(s.root)).Reply()
	if err != nil {
		return fmt.Errorf("%w: root window geometry: %w", ErrX11, err)
	}
	w, h := int(g.Width), int(g.Height)
	if s.img != nil && w == s.info.Width && h == s.info.Height {
		return nil
	}
	if err := checkSize(w, h); err != nil {
		return err
	}
	s.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	s.info.Width, s.info.Height = w, h
	s.first = true // the next frame is a full capture
	if s.shmMem != nil {
		s.ensureSHM()
	}
	return nil
}

// ensureSHM makes the shared segment large enough for a full-screen
// capture, replacing it when the screen grew. On any failure it falls
// back to GetImage for good.
func (s *X11Source) ensureSHM() {
	need := s.stride(s.info.Width) * s.info.Height
	if s.shmMem != nil && s.shmCap >= need {
		return
	}
	if s.shmMem != nil {
		shm.Detach(s.conn, s.seg)
		s.shmMem.detach()
		s.shmMem = nil
	}
	m, err := newSysvShm(need)
	if err != nil {
		return
	}
	if err := shm.AttachChecked(s.conn, s.seg, uint32(m.id), false).Check(); err != nil {
		m.detach()
		return
	}
	m.markRemoved()
	s.shmMem, s.shmCap = m, need
	s.stats.SHM = true
}

// Info reports the current size and rate.
func (s *X11Source) Info() SourceInfo { return s.info }

// Stats reports what the source did so far.
func (s *X11Source) Stats() X11Stats { return s.stats }

// Next waits for the next frame slot and captures the screen. ctx is
// checked while waiting; X requests themselves are not interruptible (a
// dead server ends them with an error, a hung one blocks them). Frames are
// paced by the wall clock: when Next is called late, the missed slots are
// skipped and PTS stays the wall-clock time since the first frame. It
// returns ctx.Err() when ctx ends while waiting. Img and Hints are reused
// by the following call; Hints is nil for a full capture (the first
// frame, after a size change, or without DAMAGE) and empty when nothing
// changed.
func (s *X11Source) Next(ctx context.Context) (Frame, error) {
	if s.closed {
		return Frame{}, fmt.Errorf("%w: source is closed", ErrX11)
	}
	if err := s.wait(ctx); err != nil {
		return Frame{}, err
	}
	pts := framePTS(s.n, s.info.FPSNum, s.info.FPSDen)
	s.n++
	if err := s.capture(); err != nil {
		return Frame{}, err
	}
	s.stats.Frames++
	f := Frame{Img: s.img, Hints: s.hints, PTS: pts}
	if s.wasFull {
		f.Hints = nil // unknown: everything may have changed
	}
	return f, nil
}

// wait sleeps until slot s.n, or moves s.n forward when that slot is
// already past.
func (s *X11Source) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if s.t0.IsZero() {
		s.t0 = now
		return nil
	}
	target := s.t0.Add(framePTS(s.n, s.info.FPSNum, s.info.FPSDen))
	if d := target.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		return nil
	}
	// Late: take the slot the clock is in now.
	elapsed := now.Sub(s.t0)
	slot := int64(elapsed.Seconds() * float64(s.info.FPSNum) / float64(s.info.FPSDen))
	if slot > s.n {
		s.stats.Skipped += slot - s.n
		s.n = slot
	}
	return nil
}

// drainEvents handles the queued events: DAMAGE and cursor notifications
// and RANDR screen changes.
func (s *X11Source) drainEvents() {
	for {
		ev, xerr := s.conn.PollForEvent()
		if ev == nil && xerr == nil {
			return
		}
		switch ev.(type) {
		case damage.NotifyEvent:
			s.damaged = true
		case xfixes.CursorNotifyEvent:
			s.cursorDirty = true
		case randr.ScreenChangeNotifyEvent:
			s.resized = true
		}
		// X errors of unchecked requests are not fatal: a failed request
		// shows up again as a failed reply where it matters.
	}
}

// capture brings s.img up to date and fills s.hints.
func (s *X11Source) capture() error {
	s.drainEvents()
	if s.resized || s.damage == 0 && !s.hasRandR {
		s.resized = false
		if err := s.resize(); err != nil {
			return err
		}
	}
	err := s.captureOnce()
	var xe xgb.Error
	if errors.As(err, &xe) {
		// A capture outside the screen: the screen may have shrunk before
		// its RANDR event arrived. Re-read the size and capture whole.
		if rerr := s.resize(); rerr != nil {
			return rerr
		}
		s.first = true
		err = s.captureOnce()
	}
	return err
}

func (s *X11Source) captureOnce() error {
	c := s.conn
	full := s.first || s.damage == 0
	s.first, s.wasFull = false, full
	screen := s.img.Rect
	s.rects = s.rects[:0]
	if s.damage != 0 {
		switch {
		case full:
			// Forget pending damage: everything is read now.
			damage.Subtract(c, s.damage, 0, 0)
			s.damaged = false
		case s.damaged:
			s.damaged = false
			damage.Subtract(c, s.damage, 0, s.region)
			reply, err := xfixes.FetchRegion(c, s.region).Reply()
			if err != nil {
				return s.replyErr("fetch damage region", err)
			}
			for _, r := range reply.Rectangles {
				rr := image.Rect(int(r.X), int(r.Y), int(r.X)+int(r.Width), int(r.Y)+int(r.Height)).Intersect(screen)
				if !rr.Empty() {
					s.rects = append(s.rects, rr)
				}
			}
		}
	}
	if s.cursorOn {
		if err := s.updateCursor(full); err != nil {
			return err
		}
	}
	if full {
		s.hints = s.hints[:0]
		s.stats.FullCaptures++
		return s.captureRect(screen, nil)
	}
	s.hints = coalesceRects(s.hints[:0], s.rects, screen, x11MaxHintRects)
	if len(s.hints) == 0 {
		return nil
	}
	if len(s.hints) <= x11MaxCaptureRects {
		for _, h := range s.hints {
			if err := s.captureRect(alignEven(h, screen), nil); err != nil {
				return err
			}
		}
		return nil
	}
	var bbox image.Rectangle
	for _, h := range s.hints {
		bbox = bbox.Union(h)
	}
	return s.captureRect(alignEven(bbox, screen), s.hints)
}

// updateCursor reads the pointer position (and the cursor image after a
// change) and adds the cursor's old and new rectangles to s.rects when it
// moved or changed, or its rectangle when something under it changed.
func (s *X11Source) updateCursor(full bool) error {
	c := s.conn
	p, err := xproto.QueryPointer(c, s.root).Reply()
	if err != nil {
		return s.replyErr("query pointer", err)
	}
	// A cursor change the server made before answering is queued by now
	// (xgb delivers events and replies in order): the image drawn at the
	// new position is the one shown there.
	s.drainEvents()
	if s.cursorDirty {
		s.cursorDirty = false
		ci, err := xfixes.GetCursorImage(c).Reply()
		if err != nil {
			return s.replyErr("cursor image", err)
		}
		w, h := int(ci.Width), int(ci.Height)
		if w > x11MaxCursor || h > x11MaxCursor || len(ci.CursorImage) < w*h {
			w, h = 0, 0
		}
		s.cursor = append(s.cursor[:0], ci.CursorImage[:w*h]...)
		s.cursorW, s.cursorH = w, h
		s.cursorHotX, s.cursorHotY = int(ci.Xhot), int(ci.Yhot)
		s.rects = append(s.rects, s.cursorRect) // redraw where the old image was
		s.cursorRect = image.Rectangle{}        // force the new one in below
	}
	var r image.Rectangle
	if p.SameScreen && s.cursorW > 0 {
		x, y := int(p.RootX)-s.cursorHotX, int(p.RootY)-s.cursorHotY
		r = image.Rect(x, y, x+s.cursorW, y+s.cursorH).Intersect(s.img.Rect)
		s.cursorAt = image.Pt(x, y)
	}
	if full {
		s.cursorRect = r
		return nil
	}
	if r != s.cursorRect {
		s.rects = append(s.rects, s.cursorRect, r)
		s.cursorRect = r
		return nil
	}
	for _, d := range s.rects {
		if d.Overlaps(r) {
			s.rects = append(s.rects, r)
			break
		}
	}
	return nil
}

// captureRect reads rectangle r of the screen and converts it into s.img:
// all of r when only is nil, else the parts of r inside the rectangles of
// only. The cursor is blended into the pixels read.
func (s *X11Source) captureRect(r image.Rectangle, only []image.Rectangle) error {
	if r.Empty() {
		return nil
	}
	data, stride, err := s.getImage(r)
	if err != nil {
		return err
	}
	if s.cursorOn && s.cursorRect.Overlaps(r) {
		s.blendCursor(data, stride, r)
	}
	dst := s.img.SubImage(r).(*image.YCbCr)
	if only == nil {
		RGBToYCbCr(dst, data, stride, s.format, r)
		return nil
	}
	for _, o := range only {
		RGBToYCbCr(dst, data, stride, s.format, o)
	}
	return nil
}

// getImage reads rectangle r of the root window as a ZPixmap. The bytes
// are valid until the next call.
func (s *X11Source) getImage(r image.Rectangle) ([]byte, int, error) {
	c := s.conn
	stride := s.stride(r.Dx())
	need := stride * r.Dy()
	s.stats.Captures++
	s.stats.CapturedBytes += int64(need)
	if s.shmMem != nil && need <= s.shmCap {
		reply, err := shm.GetImage(c, xproto.Drawable(s.root), int16(r.Min.X), int16(r.Min.Y),
			uint16(r.Dx()), uint16(r.Dy()), 0xffffffff, xproto.ImageFormatZPixmap, s.seg, 0).Reply()
		if err != nil {
			return nil, 0, s.replyErr("shm get image", err)
		}
		if int(reply.Size) < need {
			return nil, 0, fmt.Errorf("%w: shm get image: %d bytes for %v, want %d", ErrX11, reply.Size, r, need)
		}
		return s.shmMem.mem[:need], stride, nil
	}
	reply, err := xproto.GetImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(s.root), int16(r.Min.X), int16(r.Min.Y),
		uint16(r.Dx()), uint16(r.Dy()), 0xffffffff).Reply()
	if err != nil {
		return nil, 0, s.replyErr("get image", err)
	}
	if len(reply.Data) < need {
		return nil, 0, fmt.Errorf("%w: get image: %d bytes for %v, want %d", ErrX11, len(reply.Data), r, need)
	}
	return reply.Data, stride, nil
}

// replyErr wraps a failed reply. X protocol errors stay reachable with
// errors.As (capture retries after a size change); a closed connection
// becomes ErrX11 wrapping io.ErrUnexpectedEOF.
func (s *X11Source) replyErr(what string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s on %q: %w", ErrX11, what, s.display, err)
}

// blendCursor draws the cursor over data, the pixels of rectangle r
// (premultiplied alpha: out = cursor + (1 - alpha) * screen).
func (s *X11Source) blendCursor(data []byte, stride int, r image.Rectangle) {
	cr := s.cursorRect.Intersect(r)
	ox, oy := s.cursorAt.X, s.cursorAt.Y
	f := s.format
	bpp := f.BytesPerPixel
	for y := cr.Min.Y; y < cr.Max.Y; y++ {
		row := data[(y-r.Min.Y)*stride:]
		crow := s.cursor[(y-oy)*s.cursorW:]
		for x := cr.Min.X; x < cr.Max.X; x++ {
			argb := crow[x-ox]
			a := argb >> 24
			if a == 0 && argb&0xffffff == 0 {
				continue
			}
			p := row[(x-r.Min.X)*bpp:][:bpp]
			sr, sg, sb := pixelGet(f, p)
			inv := 255 - a
			nr := min(255, (argb>>16)&0xff+(sr*inv+127)/255)
			ng := min(255, (argb>>8)&0xff+(sg*inv+127)/255)
			nb := min(255, argb&0xff+(sb*inv+127)/255)
			pixelPut(f, p, nr, ng, nb)
		}
	}
}

// pixelGet reads one pixel's channels scaled to 0..255.
func pixelGet(f PixelFormat, p []byte) (r, g, b uint32) {
	var v uint32
	if f.BigEndian {
		for _, c := range p {
			v = v<<8 | uint32(c)
		}
	} else {
		for i := len(p) - 1; i >= 0; i-- {
			v = v<<8 | uint32(p[i])
		}
	}
	sc := func(shift uint, max uint32) uint32 { return ((v>>shift)&max*255 + max/2) / max }
	return sc(f.RShift, f.RMax), sc(f.GShift, f.GMax), sc(f.BShift, f.BMax)
}

// pixelPut writes channels given in 0..255 into one pixel, keeping the bits
// outside the channels.
func pixelPut(f PixelFormat, p []byte, r, g, b uint32) {
	var v uint32
	if f.BigEndian {
		for _, c := range p {
			v = v<<8 | uint32(c)
		}
	} else {
		for i := len(p) - 1; i >= 0; i-- {
			v = v<<8 | uint32(p[i])
		}
	}
	set := func(c uint32, shift uint, max uint32) {
		v = v&^(max<<shift) | ((c*max+127)/255)<<shift
	}
	set(r, f.RShift, f.RMax)
	set(g, f.GShift, f.GMax)
	set(b, f.BShift, f.BMax)
	if f.BigEndian {
		for i := len(p) - 1; i >= 0; i-- {
			p[i] = byte(v)
			v >>= 8
		}
	} else {
		for i := range p {
			p[i] = byte(v)
			v >>= 8
		}
	}
}

// Close stops capturing, releases the shared memory and closes the
// connection (xgb's goroutines end with it). It is idempotent.
func (s *X11Source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	c := s.conn
	if s.shmMem != nil {
		// Detach on the server first, with a round trip, so it no longer
		// maps the segment when we remove it.
		shm.DetachChecked(c, s.seg).Check()
		s.shmMem.detach()
		s.shmMem = nil
	}
	if s.damage != 0 {
		damage.Destroy(c, s.damage)
		xfixes.DestroyRegion(c, s.region)
	}
	c.Close()
	// Wait for xgb's reader goroutine to end: it reads xgb's global event
	// tables, which the next connection's extension Init writes. Draining
	// the event queue until it is closed orders the two (the race detector
	// proves it is needed when sources are opened one after another).
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if ev, err := c.WaitForEvent(); ev == nil && err == nil {
				return
			}
		}
	}()
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
	}
	return nil
}

// alignEven widens r to even coordinates (whole 4:2:0 chroma blocks) and
// clips it to bounds.
func alignEven(r, bounds image.Rectangle) image.Rectangle {
	r.Min.X &^= 1
	r.Min.Y &^= 1
	r.Max.X = (r.Max.X + 1) &^ 1
	r.Max.Y = (r.Max.Y + 1) &^ 1
	return r.Intersect(bounds)
}

// coalesceRects appends to dst the rectangles of rects clipped to bounds,
// without empty ones and without those inside another; when more than max
// remain, it appends instead the 16x16 grid cells they touch, as
// horizontal runs merged with identical runs on the rows below (at most
// one rectangle per run, so never more than the grid has cells).
func coalesceRects(dst, rects []image.Rectangle, bounds image.Rectangle, max int) []image.Rectangle {
	start := len(dst)
	if len(rects) > max {
		dst = append(dst, rects...) // X regions are disjoint: nothing to drop
		return gridRects(dst, start, bounds)
	}
outer:
	for i, r := range rects {
		r = r.Intersect(bounds)
		if r.Empty() {
			continue
		}
		for j, o := range rects {
			if j != i && r.In(o.Intersect(bounds)) && (r != o.Intersect(bounds) || j < i) {
				continue outer
			}
		}
		dst = append(dst, r)
	}
	if len(dst)-start <= max {
		return dst
	}
	return gridRects(dst, start, bounds)
}

// gridRects replaces dst[start:] by the 16x16 cells of bounds they touch,
// as horizontal runs, each merged with identical runs on the rows below.
func gridRects(dst []image.Rectangle, start int, bounds image.Rectangle) []image.Rectangle {
	const cell = 16
	gw := (bounds.Dx() + cell - 1) / cell
	gh := (bounds.Dy() + cell - 1) / cell
	grid := make([]bool, gw*gh)
	for _, r := range dst[start:] {
		r = r.Intersect(bounds)
		if r.Empty() {
			continue
		}
		x0, y0 := (r.Min.X-bounds.Min.X)/cell, (r.Min.Y-bounds.Min.Y)/cell
		x1, y1 := (r.Max.X-bounds.Min.X+cell-1)/cell, (r.Max.Y-bounds.Min.Y+cell-1)/cell
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				grid[y*gw+x] = true
			}
		}
	}
	dst = dst[:start]
	type run struct{ x0, x1, y0 int }
	var open []run // runs of the previous row, still growing downwards
	flush := func(ru run, y1 int) {
		r := image.Rect(bounds.Min.X+ru.x0*cell, bounds.Min.Y+ru.y0*cell,
			bounds.Min.X+ru.x1*cell, bounds.Min.Y+y1*cell)
		dst = append(dst, r.Intersect(bounds))
	}
	for y := 0; y <= gh; y++ {
		var cur []run
		if y < gh {
			for x := 0; x < gw; {
				if !grid[y*gw+x] {
					x++
					continue
				}
				x0 := x
				for x < gw && grid[y*gw+x] {
					x++
				}
				cur = append(cur, run{x0, x, y})
			}
		}
		// Continue the open runs that have an identical run on this row.
		next := cur[:0:0]
		for _, c := range cur {
			for i, o := range open {
				if o.x0 == c.x0 && o.x1 == c.x1 {
					c.y0 = o.y0
					open[i].x1 = -1 // consumed
					break
				}
			}
			next = append(next, c)
		}
		for _, o := range open {
			if o.x1 >= 0 {
				flush(o, y)
			}
		}
		open = next
	}
	return dst
}
