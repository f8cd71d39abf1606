//go:build linux

package record

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTool fails the test when a peer program is missing, naming the
// Debian package that provides it.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (scripts/install-peers)", name, pkg)
	}
	return p
}

// xserver is a real X server started for one test.
type xserver struct {
	display string // ":N"
	cmd     *exec.Cmd
}

// startX starts Xvfb (or Xvnc when vnc is set) on a free display picked by
// the server itself (-displayfd) and stops it when the test ends.
func startX(t testing.TB, vnc bool, w, h int) *xserver {
	t.Helper()
	var args []string
	var bin string
	if vnc {
		bin = needTool(t, "Xvnc", "tigervnc-standalone-server")
		args = []string{"-displayfd", "3", "-geometry", fmt.Sprintf("%dx%d", w, h), "-depth", "24",
			"-SecurityTypes", "None", "-rfbport", "-1", "-nolisten", "tcp", "-noreset"}
	} else {
		bin = needTool(t, "Xvfb", "xvfb")
		args = []string{"-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp", "-noreset"}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{pw}
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		pw.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	pw.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(pr).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("%s -displayfd wrote %q: %v\n%s", bin, s, err, logBuf.String())
		}
		return &xserver{display: ":" + strconv.Itoa(n), cmd: cmd}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not report its display in 10s\n%s", bin, logBuf.String())
	}
	return nil
}

// run runs an X client against the server and fails the test if it fails.
func (x *xserver) run(t testing.TB, name, pkg string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTool(t, name, pkg), args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// xterm starts an xterm at the top left and waits until it is mapped; the
// pointer is moved into it so that typed keys reach it (no window manager:
// the focus follows the pointer).
func (x *xserver) xterm(t testing.TB, geometry string) {
	t.Helper()
	cmd := exec.Command(needTool(t, "xterm", "xterm"), "-geometry", geometry+"+0+0", "-bg", "white", "-fg", "black")
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	x.run(t, "xdotool", "xdotool", "search", "--sync", "--onlyvisible", "--class", "xterm")
	x.run(t, "xdotool", "xdotool", "mousemove", "40", "40")
	time.Sleep(300 * time.Millisecond) // let xterm draw its prompt
}

// grabReference takes a screenshot with ffmpeg's x11grab (without the
// pointer) and converts it with RGBToYCbCr.
func (x *xserver) grabReference(t testing.TB, w, h int) *image.YCbCr {
	t.Helper()
	ff := needTool(t, "ffmpeg", "ffmpeg")
	out, err := exec.Command(ff, "-v", "error", "-f", "x11grab", "-draw_mouse", "0", "-video_size", fmt.Sprintf("%dx%d", w, h),
		"-i", x.display, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr0", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg x11grab: %v", err)
	}
	if len(out) != w*h*4 {
		t.Fatalf("ffmpeg x11grab: %d bytes, want %d", len(out), w*h*4)
	}
	ref := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	RGBToYCbCr(ref, out, w*4, FormatBGRA, ref.Rect)
	return ref
}

// diffOutside counts the samples of a and b that differ outside rectangle
// skip (widened to whole chroma blocks).
func diffOutside(a, b *image.YCbCr, skip image.Rectangle) (n int, first image.Point) {
	skip = alignEven(skip, a.Rect)
	first = image.Pt(-1, -1)
	for y := 0; y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			if image.Pt(x, y).In(skip) {
				continue
			}
			ya, yb := a.Y[a.YOffset(x, y)], b.Y[b.YOffset(x, y)]
			ca, cb := a.COffset(x, y), b.COffset(x, y)
			if ya != yb || a.Cb[ca] != b.Cb[cb] || a.Cr[ca] != b.Cr[cb] {
				if n == 0 {
					first = image.Pt(x, y)
				}
				n++
			}
		}
	}
	return n, first
}

func cloneYCbCr(m *image.YCbCr) *image.YCbCr {
	c := *m
	c.Y = append([]byte(nil), m.Y...)
	c.Cb = append([]byte(nil), m.Cb...)
	c.Cr = append([]byte(nil), m.Cr...)
	return &c
}

func TestX11PixelExact(t *testing.T) {
	const w, h = 640, 480
	x := startX(t, false, w, h)
	x.xterm(t, "60x10")
	x.run(t, "xdotool", "xdotool", "type", "--delay", "5", "pixels")
	x.run(t, "xdotool", "xdotool", "mousemove", "300", "300") // over the root window
	time.Sleep(200 * time.Millisecond)
	ref := x.grabReference(t, w, h)
	tests := []struct {
		name     string
		opts     X11Options
		wantSHM  bool
		noCursor bool
	}{
		{"shm with cursor", X11Options{}, true, false},
		{"getimage with cursor", X11Options{NoSHM: true}, false, false},
		{"shm without cursor", X11Options{NoCursor: true}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenX11(x.display, tc.opts)
			if err != nil {
				t.Fatalf("OpenX11(%q) = %v", x.display, err)
			}
			defer s.Close()
			f, err := s.Next(context.Background())
			if err != nil {
				t.Fatalf("Next() = %v", err)
			}
			if got := f.Img.Rect; got != image.Rect(0, 0, w, h) {
				t.Fatalf("Next().Img.Rect = %v, want 640x480", got)
			}
			if f.Hints != nil {
				t.Errorf("first frame hints = %v, want nil (full frame)", f.Hints)
			}
			if st := s.Stats(); st.SHM != tc.wantSHM || !st.Damage || st.Cursor == tc.noCursor {
				t.Errorf("Stats() = %+v, want SHM %v, Damage true, Cursor %v", st, tc.wantSHM, !tc.noCursor)
			}
			n, at := diffOutside(f.Img, ref, s.cursorRect)
			if n != 0 {
				t.Errorf("frame vs x11grab: %d samples differ outside the cursor %v, first at %v", n, s.cursorRect, at)
			}
			inside, _ := diffOutside(f.Img, ref, image.Rectangle{})
			switch {
			case tc.noCursor && inside != 0:
				t.Errorf("without cursor: %d samples differ from x11grab, want 0", inside)
			case !tc.noCursor && (s.cursorRect.Empty() || inside == 0):
				t.Errorf("with cursor at %v: %d samples differ from x11grab, want the cursor drawn in", s.cursorRect, inside)
			}
		})
	}
}

func TestX11DamageHints(t *testing.T) {
	const w, h = 640, 480
	x := startX(t, false, w, h)
	x.xterm(t, "40x8")
	s, err := OpenX11(x.display, X11Options{FPS: 30})
	if err != nil {
		t.Fatalf("OpenX11(%q) = %v", x.display, err)
	}
	defer s.Close()
	ctx := context.Background()
	// Wait for an idle frame: nothing changed, hints empty but not nil.
	var f Frame
	idle := false
	for i := 0; i < 60 && !idle; i++ {
		if f, err = s.Next(ctx); err != nil {
			t.Fatalf("Next() = %v", err)
		}
		idle = f.Hints != nil && len(f.Hints) == 0
	}
	if !idle {
		t.Fatalf("no idle frame in 2s, last hints %v", f.Hints)
	}
	before := cloneYCbCr(f.Img)
	x.run(t, "xdotool", "xdotool", "type", "W")
	var hints []image.Rectangle
	for i := 0; i < 60; i++ {
		if f, err = s.Next(ctx); err != nil {
			t.Fatalf("Next() = %v", err)
		}
		if len(f.Hints) > 0 {
			hints = append(hints, f.Hints...)
		} else if hints != nil {
			break // the change is complete
		}
	}
	if len(hints) == 0 {
		t.Fatal("typing a character gave no hints in 2s")
	}
	var union image.Rectangle
	area := 0
	for _, r := range hints {
		union = union.Union(r)
		area += r.Dx() * r.Dy()
	}
	if area > w*h/50 {
		t.Errorf("hints after typing one character = %v (%d pixels), want under 2%% of the screen", hints, area)
	}
	// Every changed pixel lies in a hint (widened to chroma blocks).
	changed := 0
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			if before.Y[before.YOffset(xx, y)] == f.Img.Y[f.Img.YOffset(xx, y)] {
				continue
			}
			changed++
			in := false
			for _, r := range hints {
				if image.Pt(xx, y).In(alignEven(r, f.Img.Rect)) {
					in = true
				}
			}
			if !in {
				t.Fatalf("pixel (%d,%d) changed outside the hints %v", xx, y, hints)
			}
		}
	}
	if changed == 0 {
		t.Errorf("typing W changed no pixel (hints %v)", hints)
	}
	t.Logf("typing one character: %d changed pixels, hints %v (%d pixels)", changed, hints, area)
}

func TestX11CursorMoveHints(t *testing.T) {
	const w, h = 640, 480
	x := startX(t, false, w, h)
	x.xterm(t, "10x3") // a small xterm at the top left: an I-beam pointer over it
	x.run(t, "xdotool", "xdotool", "mousemove", "100", "100")
	s, err := OpenX11(x.display, X11Options{FPS: 30})
	if err != nil {
		t.Fatalf("OpenX11(%q) = %v", x.display, err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Next(ctx); err != nil {
		t.Fatalf("Next() = %v", err)
	}
	old := s.cursorRect
	if old.Empty() || !image.Pt(100, 100).In(old.Inset(-16)) {
		t.Fatalf("cursor rectangle = %v, want one near (100,100)", old)
	}
	for _, tc := range []struct {
		to       image.Point
		newShape bool // the pointer enters or leaves the xterm
	}{{image.Pt(400, 300), false}, {image.Pt(2, 2), true}, {image.Pt(639, 479), true}, {image.Pt(320, 0), false}} {
		to := tc.to
		t.Run(fmt.Sprint(to), func(t *testing.T) {
			old := s.cursorRect
			oldShape := fmt.Sprint(s.cursor)
			x.run(t, "xdotool", "xdotool", "mousemove", strconv.Itoa(to.X), strconv.Itoa(to.Y))
			var hints []image.Rectangle
			var f Frame
			for i := 0; i < 30 && s.cursorRect == old; i++ {
				if f, err = s.Next(ctx); err != nil {
					t.Fatalf("Next() = %v", err)
				}
				hints = append(hints, f.Hints...)
			}
			// Let the screen settle (the xterm redraws its text cursor
			// when the pointer gives it the focus).
			for i := 0; i < 30 && len(f.Hints) > 0; i++ {
				if f, err = s.Next(ctx); err != nil {
					t.Fatalf("Next() = %v", err)
				}
				hints = append(hints, f.Hints...)
			}
			cur := s.cursorRect
			if cur == old || cur.Empty() {
				t.Fatalf("cursor rectangle = %v after moving the pointer from %v to %v", cur, old, to)
			}
			if shape := fmt.Sprint(s.cursor); (shape != oldShape) != tc.newShape {
				t.Errorf("cursor image changed = %v after moving to %v, want %v", shape != oldShape, to, tc.newShape)
			}
			covered := func(r image.Rectangle) bool {
				for _, h := range hints {
					if r.In(h) {
						return true
					}
				}
				return false
			}
			if !covered(old) || !covered(cur) {
				t.Errorf("hints after a pointer move = %v, want the old %v and new %v cursor rectangles", hints, old, cur)
			}
			area := 0
			for _, r := range hints {
				area += r.Dx() * r.Dy()
			}
			if max := 3 * 32 * 32; area > max {
				t.Errorf("hints after a pointer move = %v (%d pixels), want at most %d", hints, area, max)
			}
			// The old cursor is gone: the frame equals a screenshot
			// outside the new one, which is drawn in.
			ref := x.grabReference(t, w, h)
			if n, at := diffOutside(f.Img, ref, cur); n != 0 {
				t.Errorf("frame after a pointer move: %d samples differ from x11grab outside the cursor %v, first at %v", n, cur, at)
			}
			if n, _ := diffOutside(f.Img, ref, image.Rectangle{}); n == 0 {
				t.Errorf("frame after a pointer move equals x11grab without pointer: cursor %v not drawn", cur)
			}
		})
	}
}

// ffprobeFrames returns the size of every decoded frame of a file.
func ffprobeFrames(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command(needTool(t, "ffprobe", "ffmpeg"), "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=width,height", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return strings.Fields(string(out))
}

func TestX11RecordTyping(t *testing.T) {
	x := startX(t, false, 640, 480)
	x.xterm(t, "80x24")
	before := runtime.NumGoroutine()
	src, err := OpenSource("x11:"+x.display, SourceOptions{FPS: 15, Frames: 30})
	if err != nil {
		t.Fatalf("OpenSource(x11:%s) = %v", x.display, err)
	}
	typing := exec.Command(needTool(t, "xdotool", "xdotool"), "type", "--delay", "40", "echo recorded by reckit x11")
	typing.Env = append(os.Environ(), "DISPLAY="+x.display)
	if err := typing.Start(); err != nil {
		t.Fatal(err)
	}
	defer typing.Wait()
	path := filepath.Join(t.TempDir(), "x11.webm")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := Record(context.Background(), src, out, RecordOptions{})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Record() = %v", err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if st.Frames != 30 || st.Width != 640 || st.Height != 480 {
		t.Errorf("Record() stats = %+v, want 30 frames of 640x480", st)
	}
	// 30 frames at 15 fps are paced by the wall clock: about 2 s.
	if elapsed < 1900*time.Millisecond || elapsed > 4*time.Second {
		t.Errorf("recording 30 frames at 15 fps took %v, want about 2s", elapsed)
	}
	frames := ffprobeFrames(t, path)
	if len(frames) != 30 {
		t.Errorf("ffprobe decoded %d frames, want 30", len(frames))
	}
	for i, f := range frames {
		if f != "640,480" {
			t.Fatalf("ffprobe frame %d size = %s, want 640,480", i, f)
		}
	}
	// No goroutine outlives Close (xgb's end with the connection).
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines after Close = %d, want at most %d", n, before)
	}
}

func TestX11ResizeXvnc(t *testing.T) {
	// Xvfb cannot change its screen size (its RANDR has one fixed mode),
	// TigerVNC's Xvnc can.
	x := startX(t, true, 1024, 768)
	needTool(t, "xrandr", "x11-xserver-utils")
	src, err := OpenSource("x11:"+x.display, SourceOptions{FPS: 15, Frames: 24})
	if err != nil {
		t.Fatalf("OpenSource(x11:%s) = %v", x.display, err)
	}
	defer src.Close()
	if got := src.Info(); got.Width != 1024 || got.Height != 768 {
		t.Fatalf("Info() = %dx%d, want 1024x768", got.Width, got.Height)
	}
	done := resizeLater(x.display, 600*time.Millisecond, "800x600")
	path := filepath.Join(t.TempDir(), "resize.webm")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Record(context.Background(), src, out, RecordOptions{})
	out.Close()
	if xerr := <-done; xerr != nil {
		t.Fatal(xerr)
	}
	if err != nil {
		t.Fatalf("Record() = %v", err)
	}
	if st.Frames != 24 || st.Resizes != 1 || st.Width != 800 || st.Height != 600 {
		t.Errorf("Record() stats = %+v, want 24 frames, 1 resize, ending at 800x600", st)
	}
	frames := ffprobeFrames(t, path)
	counts := map[string]int{}
	for _, f := range frames {
		counts[f]++
	}
	if len(frames) != 24 || counts["1024,768"] == 0 || counts["800,600"] == 0 || counts["1024,768"]+counts["800,600"] != 24 {
		t.Errorf("ffprobe frame sizes = %v over %d frames, want 24 frames at 1024x768 then 800x600", counts, len(frames))
	}
}

func TestX11ServerGone(t *testing.T) {
	x := startX(t, false, 320, 240)
	s, err := OpenX11(x.display, X11Options{FPS: 30})
	if err != nil {
		t.Fatalf("OpenX11(%q) = %v", x.display, err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Next(ctx); err != nil {
		t.Fatalf("Next() = %v", err)
	}
	x.cmd.Process.Kill()
	x.cmd.Wait()
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 30 && err == nil; i++ {
			_, err = s.Next(ctx)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrX11) {
			t.Errorf("Next() after the X server died = %v, want an error wrapping ErrX11", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next() hangs after the X server died")
	}
}

func TestOpenX11Errors(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want error
	}{
		{"empty display", "x11:", ErrBadOption},
		{"no server", "x11::4095", ErrX11},
		{"bad display", "x11:nocolon", ErrX11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSource(tc.spec, SourceOptions{})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("OpenSource(%q) = %v, want %v", tc.spec, err, tc.want)
			}
		})
	}
}

func TestX11IsLocal(t *testing.T) {
	tests := []struct {
		display string
		want    bool
	}{
		{":0", true},
		{":99.0", true},
		{"unix:1", true},
		{"unix/:1", true},
		{"/tmp/.X11-unix/X3", true},
		{"localhost:10.0", false},
		{"tcp/host:1", false},
		{"host:0", false},
	}
	for _, tc := range tests {
		t.Run(tc.display, func(t *testing.T) {
			if got := (&X11Source{display: tc.display}).isLocal(); got != tc.want {
				t.Errorf("isLocal(%q) = %v, want %v", tc.display, got, tc.want)
			}
		})
	}
}

func TestCoalesceRects(t *testing.T) {
	b := image.Rect(0, 0, 64, 48)
	many := func(n int) []image.Rectangle {
		var rs []image.Rectangle
		for i := 0; i < n; i++ {
			rs = append(rs, image.Rect(i%8*8, i/8*3, i%8*8+1, i/8*3+1))
		}
		return rs
	}
	tests := []struct {
		name  string
		rects []image.Rectangle
		max   int
		want  []image.Rectangle
	}{
		{"none", nil, 4, nil},
		{"clipped and empty dropped", []image.Rectangle{image.Rect(-5, -5, 3, 3), image.Rect(70, 0, 80, 5), {}}, 4,
			[]image.Rectangle{image.Rect(0, 0, 3, 3)}},
		{"inside another dropped", []image.Rectangle{image.Rect(2, 2, 4, 4), image.Rect(0, 0, 10, 10), image.Rect(0, 0, 10, 10)}, 4,
			[]image.Rectangle{image.Rect(0, 0, 10, 10)}},
		{"over max: grid runs", many(16), 4,
			// Rows 0..5 (cells 0..15 in y) hold points in every 16-pixel
			// column: one run across the width, all rows merged.
			[]image.Rectangle{image.Rect(0, 0, 64, 16)}},
		{"grid keeps separate runs", []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(40, 0, 41, 1), image.Rect(0, 20, 1, 21)}, 2,
			[]image.Rectangle{image.Rect(32, 0, 48, 16), image.Rect(0, 0, 16, 32)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := coalesceRects(nil, tc.rects, b, tc.max)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("coalesceRects(%v, max %d) = %v, want %v", tc.rects, tc.max, got, tc.want)
			}
		})
	}
}

func TestPixelGetPut(t *testing.T) {
	rgb565 := PixelFormat{BytesPerPixel: 2, RShift: 11, GShift: 5, BShift: 0, RMax: 31, GMax: 63, BMax: 31}
	tests := []struct {
		name    string
		f       PixelFormat
		r, g, b uint32
		want    []byte
	}{
		{"bgrx", FormatBGRA, 0x12, 0x34, 0x56, []byte{0x56, 0x34, 0x12, 0xaa}},
		{"rgb565 white", rgb565, 255, 255, 255, []byte{0xff, 0xff}},
		{"rgb565 red", rgb565, 255, 0, 0, []byte{0x00, 0xf8}},
		{"big-endian xrgb", PixelFormat{BytesPerPixel: 4, BigEndian: true, RShift: 16, GShift: 8, BShift: 0, RMax: 255, GMax: 255, BMax: 255},
			1, 2, 3, []byte{0xaa, 1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := make([]byte, tc.f.BytesPerPixel)
			for i := range p {
				p[i] = 0xaa
			}
			if tc.f.BytesPerPixel == 2 {
				p[0], p[1] = 0, 0
			}
			pixelPut(tc.f, p, tc.r, tc.g, tc.b)
			if !bytes.Equal(p, tc.want) {
				t.Errorf("pixelPut(%d,%d,%d) = % x, want % x", tc.r, tc.g, tc.b, p, tc.want)
			}
			r, g, b := pixelGet(tc.f, p)
			if r != tc.r || g != tc.g || b != tc.b {
				t.Errorf("pixelGet(% x) = %d,%d,%d, want %d,%d,%d", p, r, g, b, tc.r, tc.g, tc.b)
			}
		})
	}
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user+system CPU time of another process, from
// /proc/PID/stat (in clock ticks of 10 ms).
func procCPU(t testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkX11Typing1080p records a 1920x1080 Xvfb screen at 15 fps while
// xdotool types into a large xterm, and reports the CPU time per frame of
// capture (Next) and of the pure-Go encoder, and the X server's CPU time.
// Run with -benchtime=60x (4 s of wall clock).
func BenchmarkX11Typing1080p(b *testing.B) {
	x := startX(b, false, 1920, 1080)
	x.xterm(b, "200x60")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog 0123456789 ", 40)
	typing := exec.Command(needTool(b, "xdotool", "xdotool"), "type", "--delay", "25", text)
	typing.Env = append(os.Environ(), "DISPLAY="+x.display)
	if err := typing.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { typing.Process.Kill(); typing.Wait() }()
	s, err := OpenX11(x.display, X11Options{FPS: 15})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	enc, err := PureGo(1920, 1080, 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The first (full) frame is not typical: take it outside the timing.
	f, err := s.Next(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := enc.Encode(f.Img, f.Hints, true); err != nil {
		b.Fatal(err)
	}
	var capCPU, encCPU time.Duration
	var hintArea, bytesOut int64
	srv0 := procCPU(b, x.cmd.Process.Pid)
	skipped0 := s.Stats().Skipped
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := cpuTime(b)
		f, err := s.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c1 := cpuTime(b)
		data, _, err := enc.Encode(f.Img, f.Hints, false)
		if err != nil {
			b.Fatal(err)
		}
		c2 := cpuTime(b)
		capCPU += c1 - c0
		encCPU += c2 - c1
		bytesOut += int64(len(data))
		for _, h := range f.Hints {
			hintArea += int64(h.Dx() * h.Dy())
		}
	}
	b.StopTimer()
	srv := procCPU(b, x.cmd.Process.Pid) - srv0
	n := float64(b.N)
	st := s.Stats()
	b.ReportMetric(float64(capCPU.Microseconds())/n/1000, "capture-cpu-ms/frame")
	b.ReportMetric(float64(encCPU.Microseconds())/n/1000, "encode-cpu-ms/frame")
	b.ReportMetric(float64(srv.Microseconds())/n/1000, "xserver-cpu-ms/frame")
	b.ReportMetric(float64(hintArea)/n, "hint-px/frame")
	b.ReportMetric(float64(bytesOut)/n, "bytes/frame")
	b.ReportMetric(float64(st.Skipped-skipped0), "skipped-slots")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkX11FullCapture1080p measures a whole-screen capture and
// conversion (first frame, resize, or a screen without DAMAGE), through
// MIT-SHM and through core GetImage.
func BenchmarkX11FullCapture1080p(b *testing.B) {
	x := startX(b, false, 1920, 1080)
	for _, tc := range []struct {
		name string
		opts X11Options
	}{
		{"shm", X11Options{FPS: 1000, NoCursor: true}},
		{"getimage", X11Options{FPS: 1000, NoCursor: true, NoSHM: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := OpenX11(x.display, tc.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			c0 := cpuTime(b)
			for i := 0; i < b.N; i++ {
				s.first = true
				if _, err := s.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-c0).Microseconds())/float64(b.N)/1000, "cpu-ms/frame")
		})
	}
}

// TestX11ResizeNewPart: recording a directory, an xrandr resize of the
// screen starts a new part at the new size (the recorder issue's rule).
func TestX11ResizeNewPart(t *testing.T) {
	x := startX(t, true, 1024, 768)
	needTool(t, "xrandr", "x11-xserver-utils")
	src, err := OpenSource("x11:"+x.display, SourceOptions{FPS: 15, Frames: 24})
	if err != nil {
		t.Fatalf("OpenSource(x11:%s) = %v", x.display, err)
	}
	defer src.Close()
	done := resizeLater(x.display, 600*time.Millisecond, "800x600")
	res, err := RecordSession(context.Background(), src, SessionOptions{Root: t.TempDir(), Device: "x11", User: "u",
		SessionID: "resize", Source: "x11:" + x.display, Realtime: true,
		FreeSpace: func(string) (int64, error) { return 1 << 40, nil }})
	if xerr := <-done; xerr != nil {
		t.Fatal(xerr)
	}
	if err != nil {
		t.Fatalf("RecordSession() = %v", err)
	}
	parts := res.Manifest.Parts
	if len(parts) != 2 || parts[0].Width != 1024 || parts[0].Height != 768 ||
		parts[1].Width != 800 || parts[1].Height != 600 || parts[1].SplitReason != "resolution" {
		t.Fatalf("parts = %+v, want 1024x768 then 800x600 (resolution)", parts)
	}
	if n := parts[0].Frames + parts[1].Frames + res.Dropped; n != 24 {
		t.Errorf("%d + %d frames + %d dropped, want 24", parts[0].Frames, parts[1].Frames, res.Dropped)
	}
	for _, p := range parts {
		frames := ffprobeFrames(t, filepath.Join(res.Dir, p.Name))
		want := fmt.Sprintf("%d,%d", p.Width, p.Height)
		for _, f := range frames {
			if f != want {
				t.Fatalf("%s: a frame of %s, want all %s", p.Name, f, want)
			}
		}
		if int64(len(frames)) != p.Frames {
			t.Errorf("%s: ffprobe %d frames, manifest %d", p.Name, len(frames), p.Frames)
		}
	}
}

// resizeLater runs xrandr -s SIZE on display after delay; the channel
// gets its error.
func resizeLater(display string, delay time.Duration, size string) <-chan error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(delay)
		cmd := exec.Command("xrandr", "-s", size)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("xrandr -s %s: %v: %s", size, err, out)
		}
		done <- err
	}()
	return done
}
