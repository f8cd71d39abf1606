package record

// The vnc source: reckit's RFB client (record/rfb) as a Source, for
// "vnc://host:port" and "vnc+unix:///path", and the same framebuffer
// pacing for sessions relayed by rfb.ProxySession.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/reckit/reckit/record/rfb"
)

// vncDefaultFPS is the frame rate of a vnc source without SourceOptions.FPS.
const vncDefaultFPS = 15

// vncTimeout bounds dialing, the handshake and the wait for the first
// update.
const vncTimeout = 15 * time.Second

func init() {
	RegisterSource("vnc", func(rest string, opts SourceOptions) (Source, error) {
		return openVNC("tcp", rest, opts)
	})
	RegisterSource("vnc+unix", func(rest string, opts SourceOptions) (Source, error) {
		return openVNC("unix", rest, opts)
	})
}

// vncAddress turns the part of a spec after "vnc:" or "vnc+unix:" into a
// dial address: "//host:port" (port 5900 by default; a port under 100 is a
// display number, 5900+N), "//[::1]:5901", or for unix "///path/to/socket".
func vncAddress(network, rest string) (string, error) {
	scheme := "vnc"
	if network == "unix" {
		scheme = "vnc+unix"
	}
	if network == "unix" {
		u, err := url.Parse(scheme + ":" + rest)
		if err != nil || u.Path == "" || u.Host != "" {
			return "", fmt.Errorf("%w: %q: want vnc+unix:///path/to/socket", ErrBadOption, scheme+":"+rest)
		}
		return u.Path, nil
	}
	u, err := url.Parse(scheme + ":" + rest)
	if err != nil || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return "", fmt.Errorf("%w: %q: want vnc://host[:port]", ErrBadOption, scheme+":"+rest)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "localhost"
	}
	p := 5900
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return "", fmt.Errorf("%w: %q: bad port", ErrBadOption, scheme+":"+rest)
		}
		p = n
		if n < 100 {
			p = 5900 + n
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

func openVNC(network, rest string, opts SourceOptions) (Source, error) {
	addr, err := vncAddress(network, rest)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout(network, addr, vncTimeout)
	if err != nil {
		return nil, fmt.Errorf("record: vnc: %w", err)
	}
	name := "vnc://" + addr
	if network == "unix" {
		name = "vnc+unix://" + addr
	}
	src, err := NewVNCSource(conn, name, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return src, nil
}

// NewVNCSource runs the RFB handshake on conn and returns a source of its
// screen. The source owns conn: Close closes it. On error the caller
// closes conn. With opts.HideCursor the client announces the Cursor
// pseudo-encoding (so the server stops drawing the cursor) and never draws
// it; otherwise the server draws the cursor into the framebuffer.
func NewVNCSource(conn net.Conn, name string, opts SourceOptions) (Source, error) {
	enc := []int32{rfb.EncTight, rfb.EncZRLE, rfb.EncHextile, rfb.EncZlib, rfb.EncRRE, rfb.EncCopyRect, rfb.EncRaw,
		rfb.EncExtendedDesktopSize, rfb.EncDesktopSize, rfb.EncLastRect, rfb.EncDesktopName}
	if opts.HideCursor {
		enc = append(enc, rfb.EncCursor)
	}
	return newVNCSource(conn, name, opts, enc)
}

func newVNCSource(conn net.Conn, name string, opts SourceOptions, enc []int32) (*fbSource, error) {
	conn.SetDeadline(time.Now().Add(vncTimeout))
	c, err := rfb.NewClient(conn, rfb.Config{Password: opts.Password, Encodings: enc, TLS: opts.TLSConfig})
	if err != nil {
		return nil, fmt.Errorf("record: vnc: %w", err)
	}
	conn.SetDeadline(time.Time{})
	c.FB.Lock()
	w, h := c.FB.W, c.FB.H
	c.FB.Unlock()
	if err := checkSize(w, h); err != nil {
		c.Close()
		return nil, err
	}
	run := func() error {
		for {
			if _, err := c.ReadMessage(); err != nil {
				return err
			}
		}
	}
	return newFBSource(name, c.FB, opts.FPS, false, run, func() { c.Close() })
}

// NewVNCProxySource records the session p relays: it starts p.Run and
// returns frames of the server's screen as the viewer sees it, with the
// cursor drawn at the viewer's pointer unless opts.HideCursor. Next
// returns io.EOF when either side disconnects. Close ends the session
// (closing both connections) and waits for it.
func NewVNCProxySource(p *rfb.ProxySession, name string, opts SourceOptions) (Source, error) {
	fb := p.Framebuffer()
	fb.Lock()
	w, h := fb.W, fb.H
	fb.Unlock()
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	return newFBSource(name, fb, opts.FPS, !opts.HideCursor, p.Run, func() { p.Close() })
}

// fbSource paces frames of an rfb.Framebuffer by the wall clock.
type fbSource struct {
	info   SourceInfo
	fb     *rfb.Framebuffer
	cursor bool
	stop   func()

	updated chan struct{}
	done    chan struct{}
	runErr  error
	closing sync.Once
	closed  bool

	img       *image.YCbCr
	start     time.Time
	tick      int64
	started   bool
	curRect   image.Rectangle // where the cursor was drawn, even-aligned
	cursorGen int
	scratch   []byte
}

// newFBSource starts run in a goroutine (it returns when the connection
// fails or is closed by stop).
func newFBSource(name string, fb *rfb.Framebuffer, fps float64, cursor bool, run func() error, stop func()) (*fbSource, error) {
	if fps == 0 {
		fps = vncDefaultFPS
	}
	num, den, err := rationalFPS(fps)
	if err != nil {
		stop()
		return nil, err
	}
	fb.Lock()
	w, h := fb.W, fb.H
	fb.MaxPixels = MaxPixels // a resize beyond the encoder's limit fails at once
	fb.Unlock()
	s := &fbSource{
		info:    SourceInfo{Width: w, Height: h, FPS: float64(num) / float64(den), FPSNum: num, FPSDen: den, Name: name},
		fb:      fb,
		cursor:  cursor,
		stop:    stop,
		updated: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.runErr = s.watch(run)
	}()
	return s, nil
}

// watch runs run while a second goroutine signals updated when the
// framebuffer has seen an update.
func (s *fbSource) watch(run func() error) error {
	stopPoll := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-t.C:
				s.fb.Lock()
				n := s.fb.Updates
				s.fb.Unlock()
				if n > 0 {
					select {
					case s.updated <- struct{}{}:
					default:
					}
					return
				}
			}
		}
	}()
	err := run()
	close(stopPoll)
	wg.Wait()
	return err
}

func (s *fbSource) Info() SourceInfo { return s.info }

// endErr turns the end of the connection into io.EOF or an error.
func (s *fbSource) endErr() error {
	err := s.runErr
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return io.EOF
	}
	return fmt.Errorf("record: vnc: %w", err)
}

// Next waits for the next tick of the frame clock and returns the screen
// as it is then, with the rectangles changed since the previous frame as
// hints; an idle screen repeats the last frame with empty hints. The first
// frame waits for the server's first update. A disconnect returns io.EOF,
// a protocol error an error.
func (s *fbSource) Next(ctx context.Context) (Frame, error) {
	if s.closed {
		return Frame{}, io.EOF
	}
	if !s.started {
		t := time.NewTimer(vncTimeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-s.done:
			return Frame{}, s.endErr()
		case <-t.C:
			return Frame{}, fmt.Errorf("record: vnc: no framebuffer update within %v", vncTimeout)
		case <-s.updated:
		}
		s.started = true
		s.start = time.Now()
		s.tick = 0
	} else {
		// The next tick, skipping ticks the caller was too slow for.
		el := time.Since(s.start)
		n := int64(el) * int64(s.info.FPSNum) / (int64(time.Second) * int64(s.info.FPSDen))
		s.tick = max(s.tick+1, n)
		at := s.start.Add(framePTS(s.tick, s.info.FPSNum, s.info.FPSDen))
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return Frame{}, ctx.Err()
			case <-s.done:
				t.Stop()
				return Frame{}, s.endErr()
			case <-t.C:
			}
		}
	}
	select {
	case <-s.done:
		return Frame{}, s.endErr()
	default:
	}
	f, err := s.frame()
	if err != nil {
		return Frame{}, err
	}
	f.PTS = framePTS(s.tick, s.info.FPSNum, s.info.FPSDen)
	return f, nil
}

// frame converts what changed.
func (s *fbSource) frame() (Frame, error) {
	fb := s.fb
	fb.Lock()
	defer fb.Unlock()
	fb.SyncPointer()
	damage := fb.TakeDamage()
	full := damage == nil
	if s.img == nil || s.img.Rect.Dx() != fb.W || s.img.Rect.Dy() != fb.H {
		if err := checkSize(fb.W, fb.H); err != nil {
			return Frame{}, fmt.Errorf("record: vnc: new desktop size: %w", err)
		}
		s.img = image.NewYCbCr(image.Rect(0, 0, fb.W, fb.H), image.YCbCrSubsampleRatio420)
		s.info.Width, s.info.Height = fb.W, fb.H
		s.curRect = image.Rectangle{}
		full = true
	}
	if full {
		RGBToYCbCr(s.img, fb.Pix, 4*fb.W, FormatRGBA, s.img.Rect)
		damage = nil
	} else {
		for _, r := range damage {
			RGBToYCbCr(s.img, fb.Pix, 4*fb.W, FormatRGBA, r)
		}
	}
	if s.cursor {
		cr := s.cursorRect()
		if full || fb.CursorGen != s.cursorGen || touches(damage, cr) || touches(damage, s.curRect) {
			if !full && !s.curRect.Empty() {
				RGBToYCbCr(s.img, fb.Pix, 4*fb.W, FormatRGBA, s.curRect)
				damage = append(damage, s.curRect)
			}
			if !cr.Empty() {
				s.drawCursor(cr)
				if !full {
					damage = append(damage, cr)
				}
			}
			s.curRect, s.cursorGen = cr, fb.CursorGen
		}
	}
	if !full && damage == nil {
		damage = []image.Rectangle{}
	}
	return Frame{Img: s.img, Hints: damage}, nil
}

func touches(rs []image.Rectangle, r image.Rectangle) bool {
	if r.Empty() {
		return false
	}
	for _, d := range rs {
		if d.Overlaps(r) {
			return true
		}
	}
	return false
}

// cursorRect is where the cursor is drawn, widened to the chroma grid and
// clipped to the screen; empty without a shape.
func (s *fbSource) cursorRect() image.Rectangle {
	c := s.fb.Cursor
	if c.W == 0 || c.H == 0 || len(c.RGBA) != 4*c.W*c.H {
		return image.Rectangle{}
	}
	r := image.Rect(c.X-c.HotX, c.Y-c.HotY, c.X-c.HotX+c.W, c.Y-c.HotY+c.H)
	r.Min.X &^= 1
	r.Min.Y &^= 1
	r.Max.X = (r.Max.X + 1) &^ 1
	r.Max.Y = (r.Max.Y + 1) &^ 1
	return r.Intersect(s.fb.Bounds())
}

// drawCursor composes the cursor over the framebuffer pixels of r and
// converts the result into the frame.
func (s *fbSource) drawCursor(r image.Rectangle) {
	fb, c := s.fb, s.fb.Cursor
	w, h := r.Dx(), r.Dy()
	if cap(s.scratch) < 4*w*h {
		s.scratch = make([]byte, 4*w*h)
	}
	buf := s.scratch[:4*w*h]
	for y := 0; y < h; y++ {
		copy(buf[4*w*y:4*w*(y+1)], fb.Pix[4*((r.Min.Y+y)*fb.W+r.Min.X):])
	}
	ox, oy := c.X-c.HotX, c.Y-c.HotY
	for y := 0; y < h; y++ {
		cy := r.Min.Y + y - oy
		if cy < 0 || cy >= c.H {
			continue
		}
		for x := 0; x < w; x++ {
			cx := r.Min.X + x - ox
			if cx < 0 || cx >= c.W {
				continue
			}
			p := c.RGBA[4*(cy*c.W+cx):]
			if p[3] != 0 {
				copy(buf[4*(y*w+x):4*(y*w+x)+3], p[:3])
			}
		}
	}
	sub := s.img.SubImage(r).(*image.YCbCr)
	RGBToYCbCr(sub, buf, 4*w, FormatRGBA, r)
}

// Close stops the connection and waits for its goroutines. It is
// idempotent.
func (s *fbSource) Close() error {
	s.closing.Do(func() {
		s.closed = true
		s.stop()
		<-s.done
	})
	return nil
}
