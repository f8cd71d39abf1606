package rfb

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

// TestProxyTigerVNCViewer relays TigerVNC's viewer (on an Xvfb display)
// to Xvnc with a VNC password through a ProxySession: the password is
// relayed untouched (inside TLS where TLS is used), typing in the viewer
// reaches the server's xterm, and the proxy's decoded framebuffer equals
// the server's screen. The TLS cases terminate TLS at the proxy: the
// viewer trusts the proxy's CA (X509CA) and asks for X509Vnc only, and
// the proxy verifies Xvnc's certificate in turn.
func TestProxyTigerVNCViewer(t *testing.T) {
	tests := []proxyViewerCase{
		// The viewer's automatic selection may ask for Tight JPEG: lossy.
		{name: "default", wantBPP: 32, tol: 1, wantEnc: []int32{EncTight, EncZRLE, EncHextile}},
		{name: "tight lossless", viewerArgs: []string{"-AutoSelect=0", "-PreferredEncoding=Tight", "-NoJPEG"}, wantBPP: 32, wantEnc: []int32{EncTight}},
		{name: "zrle 8-bit colour", viewerArgs: []string{"-AutoSelect=0", "-PreferredEncoding=ZRLE", "-FullColor=0", "-LowColorLevel=2"}, wantBPP: 8, tol: 20, wantEnc: []int32{EncZRLE}},
		{name: "hextile", viewerArgs: []string{"-AutoSelect=0", "-PreferredEncoding=Hextile"}, wantBPP: 32, wantEnc: []int32{EncHextile}},
		{name: "tls both sides x509vnc", serverTypes: "X509Vnc", viewerTLS: true, serverTLS: true,
			viewerArgs: []string{"-SecurityTypes", "X509Vnc", "-AutoSelect=0", "-PreferredEncoding=ZRLE"}, wantBPP: 32, wantEnc: []int32{EncZRLE},
			wantViewer: SecX509Vnc, wantServer: SecX509Vnc},
		{name: "tls viewer side, server vncauth", viewerTLS: true,
			viewerArgs: []string{"-SecurityTypes", "X509Vnc", "-AutoSelect=0", "-PreferredEncoding=Tight", "-NoJPEG"}, wantBPP: 32, wantEnc: []int32{EncTight},
			wantViewer: SecX509Vnc, wantServer: SecVNCAuth},
		// A viewer that will not do TLS gets nothing else from the proxy.
		{name: "tls proxy refuses a plain viewer", viewerTLS: true, viewerArgs: []string{"-SecurityTypes", "VncAuth,None"},
			wantErr: "proxy handshake (viewer) security type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxyViewer(t, tc)
		})
	}
}

// proxyViewerCase is one TigerVNC viewer session through the proxy.
type proxyViewerCase struct {
	name       string
	viewerArgs []string
	wantBPP    uint8   // the pixel format the viewer asked for
	tol        float64 // mean channel difference allowed (0: exact)
	wantEnc    []int32 // one of these must have been used
	// serverTypes is Xvnc's -SecurityTypes ("" is VncAuth); viewerTLS
	// and serverTLS give the proxy a certificate for viewers and a CA for
	// Xvnc's certificate.
	serverTypes          string
	viewerTLS, serverTLS bool
	// wantViewer and wantServer are the security on each side; 0 is
	// SecVNCAuth.
	wantViewer, wantServer uint32
	// wantErr: the handshake fails with this in the error.
	wantErr string
}

func proxyViewer(t *testing.T, tc proxyViewerCase) {
	pw := testx.VNCPasswordFile(t, "proxy-pw")
	pki := testx.NewTLS(t)
	types := tc.serverTypes
	if types == "" {
		types = "VncAuth"
	}
	server := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "640x480", "-depth", "24",
		"-SecurityTypes", types, "-PasswordFile", pw, "-X509Cert", pki.CertFile, "-X509Key", pki.KeyFile)
	server.Xterm(t)
	viewerX := testx.StartX(t, "Xvfb", "xvfb", "-screen", "0", "800x600x24")
	var cfg ProxyConfig
	if tc.viewerTLS {
		cfg.ViewerTLS = pki.ServerConfig()
	}
	if tc.serverTLS {
		cfg.ServerTLS = pki.ClientConfig("localhost")
	}

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
		p := NewProxySessionConfig(vc, sc, cfg)
		if err := p.Handshake(); err != nil {
			p.Close()
			sessions <- result{nil, err}
			return
		}
		sessions <- result{p, nil}
		runDone <- p.Run()
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	// The viewer keeps what it learns of certificates under $HOME/.vnc.
	t.Setenv("HOME", t.TempDir())
	args := append([]string{"-PasswordFile", pw, "-geometry", "640x480+0+0", "-RemoteResize=0", "-X509CA", pki.CAFile}, tc.viewerArgs...)
	viewer := viewerX.Start(t, "tigervnc-viewer", "xtigervncviewer", append(args, "127.0.0.1::"+itoa(port))...)
	var p *ProxySession
	select {
	case r := <-sessions:
		if tc.wantErr != "" {
			if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
				t.Fatalf("proxy handshake = %v, want an error containing %q", r.err, tc.wantErr)
			}
			return
		}
		if r.err != nil {
			t.Fatalf("proxy handshake: %v", r.err)
		}
		p = r.p
	case <-time.After(20 * time.Second):
		t.Fatal("the viewer did not connect through the proxy within 20 s")
	}
	wantViewer, wantServer := tc.wantViewer, tc.wantServer
	if wantViewer == 0 {
		wantViewer = SecVNCAuth
	}
	if wantServer == 0 {
		wantServer = SecVNCAuth
	}
	if p.ViewerSecurity != wantViewer || p.ServerSecurity != wantServer || p.Version != "3.8" {
		t.Errorf("security viewer %s server %s version %s, want %s, %s, 3.8", SecurityName(p.ViewerSecurity), SecurityName(p.ServerSecurity), p.Version,
			SecurityName(wantViewer), SecurityName(wantServer))
	}
	if _, isTLS := p.viewer.(*tls.Conn); isTLS != tc.viewerTLS {
		t.Errorf("viewer connection is TLS: %v, want %v", isTLS, tc.viewerTLS)
	}
	if _, isTLS := p.server.(*tls.Conn); isTLS != tc.serverTLS {
		t.Errorf("server connection is TLS: %v, want %v", isTLS, tc.serverTLS)
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
		if tc.tol > 0 {
			mean = meanDiff(p.Framebuffer(), w, h, pix)
			return mean <= tc.tol
		}
		n, msg = diffFB(p.Framebuffer(), w, h, pix)
		return n == 0
	}) {
		if tc.tol > 0 {
			t.Errorf("proxy framebuffer differs from the server's screen by %.1f on average, want <= %.1f", mean, tc.tol)
		} else {
			t.Errorf("proxy framebuffer differs from the server's screen in %d pixels (%s)", n, msg)
		}
	}
	counts := p.dec.EncodingCounts()
	t.Logf("rectangles per encoding through the proxy: %v", counts)
	used := 0
	for _, e := range tc.wantEnc {
		used += counts[e]
	}
	if used == 0 {
		t.Errorf("EncodingCounts() = %v, want one of %v in use", counts, tc.wantEnc)
	}
	// The viewer going away ends the session cleanly.
	viewer.Process.Kill()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run after the viewer quit = %v, want nil", err)
		}
		if p.dec.pf.BPP != tc.wantBPP {
			t.Errorf("decoder pixel format %+v, want the viewer's %d bits per pixel", p.dec.pf, tc.wantBPP)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the viewer quit")
	}
}

// TestProxyRefusesUnrelayableSecurity: a server offering only VeNCrypt,
// to a proxy without a CA for it, is refused with a reason the viewer can
// show.
func TestProxyRefusesUnrelayableSecurity(t *testing.T) {
	certs := testx.NewTLS(t)
	cert, key := certs.CertFile, certs.KeyFile
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
	if err := <-errc; !errors.Is(err, ErrNeedServerTLS) {
		t.Errorf("Handshake() = %v, want ErrNeedServerTLS", err)
	}
}
