package rfb

import (
	"errors"
	"github.com/reckit/reckit/internal/testx"
	"io"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// encodingCases force one encoding at a time (the server may always fall
// back to Raw). Cursor keeps the server from drawing the cursor into the
// framebuffer, so it can be compared with an X11 screenshot.
var encodingCases = []struct {
	name string
	enc  []int32
}{
	{"raw", []int32{EncRaw}},
	{"copyrect", []int32{EncCopyRect, EncRaw}},
	{"rre", []int32{EncRRE}},
	{"hextile", []int32{EncHextile}},
	{"zlib", []int32{EncZlib}},
	{"zrle", []int32{EncZRLE}},
	{"tight", []int32{EncTight}},
	{"all", DefaultEncodings},
}

// pseudo are added to every case.
var pseudo = []int32{EncCursor, EncDesktopSize, EncExtendedDesktopSize, EncLastRect}

// session is a client reading messages in the background.
type session struct {
	c    *Client
	done chan error
}

func dialSession(t *testing.T, network, addr string, cfg Config) *session {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := NewClient(conn, cfg)
	if err != nil {
		conn.Close()
		t.Fatalf("NewClient(%s) = %v", addr, err)
	}
	conn.SetDeadline(time.Time{})
	s := &session{c: c, done: make(chan error, 1)}
	go func() {
		for {
			if _, err := c.ReadMessage(); err != nil {
				s.done <- err
				return
			}
		}
	}()
	t.Cleanup(func() { s.close(t) })
	return s
}

func (s *session) close(t *testing.T) {
	s.c.Close()
	if err := <-s.done; err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
		t.Errorf("ReadMessage after Close = %v, want a closed-connection error", err)
	}
	s.done <- nil
}

// matchScreen waits until the framebuffer equals the X display.
func matchScreen(t *testing.T, xs *testx.XServer, s *session) {
	t.Helper()
	var n int
	var msg string
	ok := testx.WaitFor(t, 8*time.Second, func() bool {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("connection ended: %v", err)
		default:
		}
		w, h, pix := xs.Screenshot(t)
		n, msg = diffFB(s.c.FB, w, h, pix)
		return n == 0
	})
	if !ok {
		t.Errorf("decoded framebuffer differs from the X11 screenshot in %d pixels (%s)", n, msg)
	}
}

const colourLine = `for i in $(seq 0 255); do printf "\e[48;5;${i}m \e[0m"; done; echo; ls -l --color=always /usr/bin | head -40`

func TestXvncEncodings(t *testing.T) {
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "640x480", "-depth", "24", "-SecurityTypes", "None")
	xs.Xterm(t)
	for i, tc := range encodingCases {
		if tc.name == "zlib" {
			continue // TigerVNC has no Zlib encoder: x11vnc covers it
		}
		t.Run(tc.name, func(t *testing.T) {
			s := dialSession(t, "unix", xs.Sock, Config{Encodings: append(append([]int32{}, tc.enc...), pseudo...)})
			matchScreen(t, xs, s)
			line := colourLine
			if i%2 == 1 {
				line = "seq 1 60"
			}
			xs.Run(t, "xdotool", "xdotool", "type", "--delay", "2", line+"\n")
			if tc.name == "copyrect" {
				// Moving a window makes the X server copy its pixels:
				// TigerVNC sends that as CopyRect.
				xs.Run(t, "xdotool", "xdotool", "search", "--class", "xterm", "windowmove", "30", "20")
				time.Sleep(200 * time.Millisecond)
				xs.Run(t, "xdotool", "xdotool", "search", "--class", "xterm", "windowmove", "0", "0")
			}
			time.Sleep(300 * time.Millisecond)
			matchScreen(t, xs, s)
			checkUsed(t, s, tc.enc[0])
		})
	}
}

func TestX11vncEncodings(t *testing.T) {
	testx.NeedTool(t, "x11vnc", "x11vnc")
	xs := testx.StartX(t, "Xvfb", "xvfb", "-screen", "0", "640x480x24")
	xs.Xterm(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("x11vnc", "-display", xs.Display, "-rfbport", itoa(port), "-localhost", "-nopw", "-forever",
		"-shared", "-cursor", "none", "-nocursorshape", "-nocursorpos", "-noncache", "-noxdamage", "-q", "-wait", "10", "-defer", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	if !testx.WaitFor(t, 15*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("x11vnc did not listen on %s", addr)
	}
	for i, tc := range encodingCases {
		if tc.name == "copyrect" {
			continue // x11vnc sends CopyRect only with -scrollcopyrect heuristics
		}
		t.Run(tc.name, func(t *testing.T) {
			s := dialSession(t, "tcp", addr, Config{Encodings: append(append([]int32{}, tc.enc...), pseudo...)})
			matchScreen(t, xs, s)
			line := colourLine
			if i%2 == 1 {
				line = "seq 1 60"
			}
			xs.Run(t, "xdotool", "xdotool", "type", "--delay", "2", line+"\n")
			time.Sleep(300 * time.Millisecond)
			matchScreen(t, xs, s)
			checkUsed(t, s, tc.enc[0])
		})
	}
}

// checkUsed fails unless the session decoded rectangles of enc.
func checkUsed(t *testing.T, s *session, enc int32) {
	t.Helper()
	counts := s.c.EncodingCounts()
	t.Logf("rectangles per encoding: %v", counts)
	if counts[enc] == 0 {
		t.Errorf("EncodingCounts()[%s] = 0, want > 0 (the forced encoding was never used)", EncodingName(enc))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
