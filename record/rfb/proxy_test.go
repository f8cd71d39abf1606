package rfb

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

// TestProxyTigerVNCViewer relays TigerVNC's viewer (on an Xvfb display)
// to Xvnc with a VNC password through a ProxySession: the password is
// relayed untouched, typing in the viewer reaches the server's xterm, and
// the proxy's decoded framebuffer equals the server's screen.
func TestProxyTigerVNCViewer(t *testing.T) {
	tests := []struct {
		name       string
		viewerArgs []string
		wantBPP    uint8   // the pixel format the viewer asked for
		tol        float64 // mean channel difference allowed (0: exact)
		wantEnc    []int32 // one of these must have been used
	}{
		// The viewer's automatic selection may ask for Tight JPEG: lossy.
		{"default", nil, 32, 1, []int32{EncTight, EncZRLE, EncHextile}},
		{"tight lossless", []string{"-AutoSelect=0", "-PreferredEncoding=Tight", "-NoJPEG"}, 32, 0, []int32{EncTight}},
		{"zrle 8-bit colour", []string{"-AutoSelect=0", "-PreferredEncoding=ZRLE", "-FullColor=0", "-LowColorLevel=2"}, 8, 20, []int32{EncZRLE}},
		{"hextile", []string{"-AutoSelect=0", "-PreferredEncoding=Hextile"}, 32, 0, []int32{EncHextile}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxyViewer(t, tc.viewerArgs, tc.wantBPP, tc.tol, tc.wantEnc)
		})
	}
}

func proxyViewer(t *testing.T, viewerArgs []string, wantBPP uint8, tol float64, wantEnc []int32) {
	pw := vncPasswordFile(t, "proxy-pw")
	server := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "640x480", "-depth", "24",
		"-SecurityTypes", "VncAuth", "-PasswordFile", pw)
	server.Xterm(t)
	viewerX := testx.StartX(t, "Xvfb", "xvfb", "-screen", "0", "800x600x24")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		p   *ProxySession
		err error
	}
	sessions := make(chan result, 1)
	runDone := make(chan error, 1)
	go func() {
		vc, err := ln.Accept()
		if err != nil {
			sessions <- result{nil, err}
			return
		}
		sc, err := net.Dial("unix", server.Sock)
		if err != nil {
			vc.Close()
			sessions <- result{nil, err}
			return
		}
		p := NewProxySession(vc, sc)
		if err := p.Handshake(); err != nil {
			p.Close()
			sessions <- result{nil, err}
			return
		}
		sessions <- result{p, nil}
		runDone <- p.Run()
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	args := append([]string{"-PasswordFile", pw, "-geometry", "640x480+0+0", "-RemoteResize=0"}, viewerArgs...)
	viewer := viewerX.Start(t, "tigervnc-viewer", "xtigervncviewer", append(args, "127.0.0.1::"+itoa(port))...)
	var p *ProxySession
	select {
	case r := <-sessions:
		if r.err != nil {
			t.Fatalf("proxy handshake: %v", r.err)
		}
		p = r.p
	case <-time.After(20 * time.Second):
		t.Fatal("the viewer did not connect through the proxy within 20 s")
	}
	if p.Security != SecVNCAuth || p.Version != "3.8" {
		t.Errorf("relayed security %d version %s, want %d 3.8", p.Security, p.Version, SecVNCAuth)
	}
	// Type into the viewer: the keys travel viewer -> proxy -> Xvnc.
	marker := filepath.Join(t.TempDir(), "typed-through-proxy")
	time.Sleep(1500 * time.Millisecond)
	viewerX.Run(t, "xdotool", "xdotool", "search", "--sync", "--name", "TigerVNC", "windowfocus", "--sync")
	viewerX.Run(t, "xdotool", "xdotool", "mousemove", "100", "100")
	time.Sleep(300 * time.Millisecond)
	viewerX.Run(t, "xdotool", "xdotool", "type", "--delay", "20", "touch "+marker+"\n")
	if !testx.WaitFor(t, 10*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		dumpPNG(t, server, "server")
		dumpPNG(t, viewerX, "viewer")
		t.Fatalf("typing in the viewer did not reach the server: %s not created", marker)
	}
	var n int
	var msg string
	var mean float64
	if !testx.WaitFor(t, 8*time.Second, func() bool {
		w, h, pix := server.Screenshot(t)
		if tol > 0 {
			mean = meanDiff(p.Framebuffer(), w, h, pix)
			return mean <= tol
		}
		n, msg = diffFB(p.Framebuffer(), w, h, pix)
		return n == 0
	}) {
		if tol > 0 {
			t.Errorf("proxy framebuffer differs from the server's screen by %.1f on average, want <= %.1f", mean, tol)
		} else {
			t.Errorf("proxy framebuffer differs from the server's screen in %d pixels (%s)", n, msg)
		}
	}
	counts := p.dec.EncodingCounts()
	t.Logf("rectangles per encoding through the proxy: %v", counts)
	used := 0
	for _, e := range wantEnc {
		used += counts[e]
	}
	if used == 0 {
		t.Errorf("EncodingCounts() = %v, want one of %v in use", counts, wantEnc)
	}
	// The viewer going away ends the session cleanly.
	viewer.Process.Kill()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run after the viewer quit = %v, want nil", err)
		}
		if p.dec.pf.BPP != wantBPP {
			t.Errorf("decoder pixel format %+v, want the viewer's %d bits per pixel", p.dec.pf, wantBPP)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the viewer quit")
	}
}

// TestProxyRefusesUnrelayableSecurity: a server offering only VeNCrypt
// is refused with a reason the viewer can show.
func TestProxyRefusesUnrelayableSecurity(t *testing.T) {
	cert, key, _ := selfSigned(t)
	server := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "320x240", "-depth", "24",
		"-SecurityTypes", "X509None", "-X509Cert", cert, "-X509Key", key)
	vc, pc := net.Pipe()
	sc, err := net.Dial("unix", server.Sock)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxySession(pc, sc)
	defer p.Close()
	errc := make(chan error, 1)
	go func() { errc <- p.Handshake() }()
	// The viewer side: a client that would do None.
	c, cerr := NewClient(vc, Config{})
	if c != nil {
		c.Close()
	}
	if !errors.Is(cerr, ErrProtocol) {
		t.Errorf("viewer NewClient through the proxy = %v, want the proxy's refusal (ErrProtocol)", cerr)
	}
	if err := <-errc; !errors.Is(err, ErrUnsupported) {
		t.Errorf("Handshake() = %v, want ErrUnsupported", err)
	}
}
