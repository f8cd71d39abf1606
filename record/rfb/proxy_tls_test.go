package rfb

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

// tcpPair returns the two ends of a loopback TCP connection (buffered by
// the kernel, unlike net.Pipe, as the proxy's real connections are).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// fakeServer is a test-side RFB server built from the RFC's message
// layouts: it speaks protocol 3.minor, offers types, runs VNC
// Authentication against password and VeNCrypt with the one subtype sub
// (as a TLS server with tlsCfg), sends ServerInit for a 16x8 screen in
// NativeFormat, answers every FramebufferUpdateRequest with a Raw update
// of the whole screen in colour, and reports the keys it receives.
type fakeServer struct {
	minor    int
	types    []byte
	sub      uint32
	password string
	tlsCfg   *tls.Config
	colour   [3]byte

	keys    chan uint32
	usedTLS chan bool
	done    chan error
}

func (s *fakeServer) serve(conn net.Conn) {
	s.keys = make(chan uint32, 16)
	s.usedTLS = make(chan bool, 1)
	s.done = make(chan error, 1)
	go func() { s.done <- s.run(conn) }()
}

func (s *fakeServer) run(conn net.Conn) error {
	r := newReader(conn)
	fmt.Fprintf(conn, "RFB 003.%03d\n", s.minor)
	var v [12]byte
	if err := r.full(v[:]); err != nil {
		return fmt.Errorf("version: %w", err)
	}
	var sec uint32
	if s.minor == 3 {
		sec = uint32(s.types[0])
		conn.Write(binary.BigEndian.AppendUint32(nil, sec))
	} else {
		conn.Write(append([]byte{byte(len(s.types))}, s.types...))
		b, err := r.u8()
		if err != nil {
			return fmt.Errorf("security type: %w", err)
		}
		if bytes.IndexByte(s.types, b) < 0 {
			return fmt.Errorf("client chose %d, not offered", b)
		}
		sec = uint32(b)
	}
	auth := sec == SecVNCAuth
	if sec == SecVeNCrypt {
		tc, err := vencryptServer(r, conn, s.tlsCfg, s.sub, func(step string, err error) error {
			return fmt.Errorf("%s: %w", step, err)
		})
		if err != nil {
			return err
		}
		conn, r = tc, tlsReader(r, tc)
		auth = s.sub == SecX509Vnc
	}
	s.usedTLS <- sec == SecVeNCrypt
	if auth {
		ch := make([]byte, 16)
		rand.Read(ch)
		conn.Write(ch)
		resp := make([]byte, 16)
		if err := r.full(resp); err != nil {
			return fmt.Errorf("auth response: %w", err)
		}
		if !bytes.Equal(resp, vncAuthResponse(ch, []byte(s.password))) {
			out := []byte{0, 0, 0, 1}
			if s.minor == 8 {
				out = append(binary.BigEndian.AppendUint32(out, 14), "wrong password"...)
			}
			conn.Write(out)
			return errors.New("wrong password")
		}
	}
	if s.minor == 8 || sec != SecNone {
		conn.Write([]byte{0, 0, 0, 0})
	}
	if _, err := r.u8(); err != nil {
		return fmt.Errorf("ClientInit: %w", err)
	}
	pf := NativeFormat.Marshal()
	si := append([]byte{0, 16, 0, 8}, pf[:]...)
	si = append(binary.BigEndian.AppendUint32(si, 4), "fake"...)
	conn.Write(si)
	hdr := make([]byte, 20)
	for {
		t, err := r.u8()
		if err != nil {
			return nil // the proxy went away
		}
		switch t {
		case MsgSetPixelFormat:
			err = r.full(hdr[:19])
		case MsgSetEncodings:
			if err = r.full(hdr[:3]); err == nil {
				err = r.skip(4 * int64(binary.BigEndian.Uint16(hdr[1:3])))
			}
		case MsgFramebufferUpdateRequest:
			if err = r.full(hdr[:9]); err == nil {
				up := []byte{MsgFramebufferUpdate, 0, 0, 1, 0, 0, 0, 0, 0, 16, 0, 8, 0, 0, 0, 0}
				for i := 0; i < 16*8; i++ {
					up = append(up, s.colour[0], s.colour[1], s.colour[2], 0)
				}
				_, err = conn.Write(up)
			}
		case MsgKeyEvent:
			if err = r.full(hdr[:7]); err == nil {
				s.keys <- binary.BigEndian.Uint32(hdr[3:7])
			}
		case MsgPointerEvent:
			err = r.full(hdr[:5])
		default:
			return fmt.Errorf("client message %d", t)
		}
		if err != nil {
			return nil
		}
	}
}

// startProxy connects a fake server and a proxy session; it returns the
// viewer's end and the channel Handshake's result arrives on.
func startProxy(t *testing.T, s *fakeServer, cfg ProxyConfig) (net.Conn, *ProxySession, chan error) {
	t.Helper()
	sc, ss := tcpPair(t)
	vc, pv := tcpPair(t)
	s.serve(ss)
	p := NewProxySessionConfig(pv, sc, cfg)
	t.Cleanup(func() { p.Close() })
	hs := make(chan error, 1)
	go func() { hs <- p.Handshake() }()
	return vc, p, hs
}

// TestProxyTLS runs the proxy between reckit's own client, as the
// viewer, and a test-side server, with TLS on the viewer's side, the
// server's side, both or neither: the security each side reports, the
// password relayed through TLS, a screen update reaching the viewer and a
// key reaching the server.
func TestProxyTLS(t *testing.T) {
	pki := testx.NewTLS(t)
	viewerTLS, serverTLS := pki.ServerConfig(), pki.ClientConfig("localhost")
	clientTLS := pki.ClientConfig("localhost")
	tests := []struct {
		name       string
		minor      int
		types      []byte
		sub        uint32
		cfg        ProxyConfig
		password   string // the viewer's
		wantViewer uint32
		wantServer uint32
		wantErr    error // from Handshake and from the viewer
	}{
		{"both sides x509vnc", 8, []byte{SecVeNCrypt}, SecX509Vnc, ProxyConfig{viewerTLS, serverTLS}, "pw", SecX509Vnc, SecX509Vnc, nil},
		{"both sides x509none", 8, []byte{SecVeNCrypt}, SecX509None, ProxyConfig{viewerTLS, serverTLS}, "", SecX509None, SecX509None, nil},
		{"both sides 3.7", 7, []byte{SecVeNCrypt}, SecX509Vnc, ProxyConfig{viewerTLS, serverTLS}, "pw", SecX509Vnc, SecX509Vnc, nil},
		{"viewer tls, server vncauth", 8, []byte{SecVNCAuth}, 0, ProxyConfig{ViewerTLS: viewerTLS}, "pw", SecX509Vnc, SecVNCAuth, nil},
		{"viewer tls, server none 3.7", 7, []byte{SecNone}, 0, ProxyConfig{ViewerTLS: viewerTLS}, "", SecX509None, SecNone, nil},
		{"viewer tls, server none preferred", 8, []byte{SecVNCAuth, SecNone}, 0, ProxyConfig{ViewerTLS: viewerTLS}, "", SecX509None, SecNone, nil},
		{"server tls, viewer vncauth", 8, []byte{SecVeNCrypt}, SecX509Vnc, ProxyConfig{ServerTLS: serverTLS}, "pw", SecVNCAuth, SecX509Vnc, nil},
		{"server tls 3.7, viewer none", 7, []byte{SecVeNCrypt}, SecX509None, ProxyConfig{ServerTLS: serverTLS}, "", SecNone, SecX509None, nil},
		{"server tls preferred over vncauth", 8, []byte{SecVNCAuth, SecVeNCrypt}, SecX509Vnc, ProxyConfig{ServerTLS: serverTLS}, "pw", SecVNCAuth, SecX509Vnc, nil},
		{"no tls", 8, []byte{SecVNCAuth, SecVeNCrypt}, SecX509Vnc, ProxyConfig{}, "pw", SecVNCAuth, SecVNCAuth, nil},
		{"wrong password through tls", 8, []byte{SecVeNCrypt}, SecX509Vnc, ProxyConfig{viewerTLS, serverTLS}, "nope", 0, 0, ErrAuth},
		{"wrong password through tls 3.7", 7, []byte{SecVNCAuth}, 0, ProxyConfig{ViewerTLS: viewerTLS}, "nope", 0, 0, ErrAuth},
		{"server only veNCrypt, no server tls", 8, []byte{SecVeNCrypt}, SecX509None, ProxyConfig{ViewerTLS: viewerTLS}, "", 0, 0, ErrNeedServerTLS},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeServer{minor: tc.minor, types: tc.types, sub: tc.sub, password: "pw", tlsCfg: pki.ServerConfig(), colour: [3]byte{byte(40 * i), 200, 7}}
			vc, p, hs := startProxy(t, s, tc.cfg)
			ccfg := Config{TLS: clientTLS}
			if tc.password != "" {
				ccfg.Password = []byte(tc.password)
			}
			c, cerr := NewClient(vc, ccfg)
			herr := <-hs
			if tc.wantErr != nil {
				if !errors.Is(herr, tc.wantErr) {
					t.Errorf("Handshake() = %v, want %v", herr, tc.wantErr)
				}
				if cerr == nil {
					t.Errorf("viewer NewClient = nil error, want the proxy's refusal")
				}
				if errors.Is(tc.wantErr, ErrNeedServerTLS) && !strings.Contains(fmt.Sprint(cerr), "requires TLS") {
					t.Errorf("viewer NewClient = %v, want the reason naming TLS", cerr)
				}
				return
			}
			if herr != nil || cerr != nil {
				t.Fatalf("Handshake() = %v, viewer NewClient = %v; want both nil", herr, cerr)
			}
			defer c.Close()
			if p.ViewerSecurity != tc.wantViewer || p.ServerSecurity != tc.wantServer || c.Security != tc.wantViewer {
				t.Errorf("security viewer %s (client says %s), server %s; want %s, %s",
					SecurityName(p.ViewerSecurity), SecurityName(c.Security), SecurityName(p.ServerSecurity), SecurityName(tc.wantViewer), SecurityName(tc.wantServer))
			}
			if usedTLS := <-s.usedTLS; usedTLS != (tc.wantServer >= SecX509None) {
				t.Errorf("server side used TLS: %v, want %v", usedTLS, tc.wantServer >= SecX509None)
			}
			if _, viewerTLS := c.conn.(*tls.Conn); viewerTLS != (tc.wantViewer >= SecX509None) {
				t.Errorf("viewer side used TLS: %v, want %v", viewerTLS, tc.wantViewer >= SecX509None)
			}
			run := make(chan error, 1)
			go func() { run <- p.Run() }()
			if _, err := c.ReadMessage(); err != nil {
				t.Fatalf("viewer ReadMessage = %v, want the server's update", err)
			}
			want := []byte{s.colour[0], s.colour[1], s.colour[2]}
			for name, fb := range map[string]*Framebuffer{"viewer": c.FB, "proxy": p.Framebuffer()} {
				if !testx.WaitFor(t, 2*time.Second, func() bool {
					fb.Lock()
					defer fb.Unlock()
					return bytes.Equal(fb.Pix[4*(16*8-1):4*(16*8-1)+3], want)
				}) {
					t.Errorf("%s framebuffer's last pixel = %v, want %v", name, fb.Pix[4*(16*8-1):4*(16*8-1)+3], want)
				}
			}
			if err := c.write([]byte{MsgKeyEvent, 1, 0, 0, 0, 0, 0, 'q'}); err != nil {
				t.Fatal(err)
			}
			select {
			case k := <-s.keys:
				if k != 'q' {
					t.Errorf("server got key %#x, want 'q'", k)
				}
			case <-time.After(5 * time.Second):
				t.Error("the viewer's key did not reach the server")
			}
			c.Close()
			if err := <-run; err != nil {
				t.Errorf("Run after the viewer left = %v, want nil", err)
			}
			if err := <-s.done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
}

// TestProxyTLSViewerRefused: viewers that cannot or do not complete the
// TLS the proxy requires are refused, and the refusal names the reason.
func TestProxyTLSViewerRefused(t *testing.T) {
	pki := testx.NewTLS(t)
	other := testx.NewTLS(t) // a CA that did not sign the proxy's certificate
	cfg := ProxyConfig{ViewerTLS: pki.ServerConfig()}
	tests := []struct {
		name      string
		minor     int // the server's version, which the viewer echoes
		viewer    func(t *testing.T, c net.Conn) error
		wantProxy string // in Handshake's error
		wantView  string // in the viewer's error
	}{
		{"3.3 viewer", 3, func(t *testing.T, c net.Conn) error {
			_, err := NewClient(c, Config{TLS: pki.ClientConfig("localhost")})
			return err
		}, "RFB 3.3", "RFB 3.3 cannot negotiate"},
		{"viewer without TLS", 8, func(t *testing.T, c net.Conn) error {
			_, err := NewClient(c, Config{Password: []byte("pw")})
			return err
		}, "security type", "offers only VeNCrypt"},
		{"viewer picks None, not offered", 8, func(t *testing.T, c net.Conn) error {
			r := newReader(c)
			b := make([]byte, 12)
			if err := r.full(b); err != nil {
				return err
			}
			c.Write([]byte("RFB 003.008\n"))
			if err := r.full(b[:2]); err != nil || !bytes.Equal(b[:2], []byte{1, SecVeNCrypt}) {
				return fmt.Errorf("security types %v, %v: want only VeNCrypt", b[:2], err)
			}
			c.Write([]byte{SecNone})
			if res, err := r.u32(); err != nil || res != 1 {
				return fmt.Errorf("SecurityResult %d, %v: want 1 (failed)", res, err)
			}
			reason, err := readString(r)
			if err != nil {
				return err
			}
			return errors.New(reason)
		}, "viewer chose security type 1 (None), not the offered VeNCrypt", "security type 1 was not offered"},
		{"viewer does not trust the certificate", 8, func(t *testing.T, c net.Conn) error {
			_, err := NewClient(c, Config{TLS: other.ClientConfig("localhost")})
			return err
		}, "VeNCrypt TLS handshake", "certificate signed by unknown authority"},
		{"viewer picks a subtype not offered", 8, func(t *testing.T, c net.Conn) error {
			r := newReader(c)
			b := make([]byte, 12+2+2+1+1+4)
			if err := r.full(b[:12]); err != nil {
				return err
			}
			c.Write([]byte("RFB 003.008\n"))
			if err := r.full(b[12:14]); err != nil || !bytes.Equal(b[12:14], []byte{1, SecVeNCrypt}) {
				return fmt.Errorf("security types %v, %v: want only VeNCrypt", b[12:14], err)
			}
			c.Write([]byte{SecVeNCrypt, 0, 2})
			if err := r.full(b[14:22]); err != nil {
				return err
			}
			// b[14:16] version 0.2, b[16] ack, b[17] one subtype, b[18:22] it.
			if sub := binary.BigEndian.Uint32(b[18:22]); b[17] != 1 || sub != SecX509None {
				return fmt.Errorf("subtypes %v: want one, X509None", b[17:22])
			}
			c.Write(binary.BigEndian.AppendUint32(nil, vencryptX509Plain))
			ok, err := r.u8()
			if err != nil || ok != 0 {
				return fmt.Errorf("subtype answer %d, %v: want 0 (refused)", ok, err)
			}
			return errors.New("refused as expected")
		}, "viewer chose VeNCrypt subtype 262 (X509Plain), not the offered X509None", "refused as expected"},
		{"viewer sends garbage instead of TLS", 8, func(t *testing.T, c net.Conn) error {
			r := newReader(c)
			b := make([]byte, 12)
			r.full(b)
			c.Write([]byte("RFB 003.008\n"))
			r.full(b[:2])
			c.Write([]byte{SecVeNCrypt, 0, 2})
			r.full(b[:8])
			c.Write(binary.BigEndian.AppendUint32(nil, vencryptX509None))
			c.Write([]byte("GET / HTTP/1.0\r\n\r\n")) // pipelined, no ack awaited
			io.Copy(io.Discard, c)
			return errors.New("closed")
		}, "VeNCrypt TLS handshake", "closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeServer{minor: tc.minor, types: []byte{SecNone}, tlsCfg: pki.ServerConfig()}
			vc, p, hs := startProxy(t, s, cfg)
			verr := make(chan error, 1)
			go func() {
				err := tc.viewer(t, vc)
				vc.Close() // a viewer that gives up hangs up
				verr <- err
			}()
			herr := <-hs
			if herr == nil || !strings.Contains(herr.Error(), tc.wantProxy) {
				t.Errorf("Handshake() = %v, want an error containing %q", herr, tc.wantProxy)
			}
			p.Close()
			if err := <-verr; err == nil || !strings.Contains(err.Error(), tc.wantView) {
				t.Errorf("viewer = %v, want an error containing %q", err, tc.wantView)
			}
		})
	}
}

// pipelinedConn sends its first bytes with the first Write and skips
// the first n bytes read: a viewer that sends its subtype choice and
// its ClientHello in one segment, without waiting for the one-byte
// acknowledgement.
type pipelinedConn struct {
	net.Conn
	first []byte
	skip  int
}

func (c *pipelinedConn) Write(p []byte) (int, error) {
	if c.first != nil {
		b := append(c.first, p...)
		c.first = nil
		_, err := c.Conn.Write(b)
		return len(p), err
	}
	return c.Conn.Write(p)
}

func (c *pipelinedConn) Read(p []byte) (int, error) {
	for c.skip > 0 {
		var b [1]byte
		if _, err := io.ReadFull(c.Conn, b[:]); err != nil {
			return 0, err
		}
		if b[0] != 1 {
			return 0, fmt.Errorf("subtype acknowledgement %d, want 1", b[0])
		}
		c.skip--
	}
	return c.Conn.Read(p)
}

// TestProxyTLSPipelinedViewer: a viewer whose ClientHello arrives with
// its subtype choice, already read into the proxy's buffer, still gets
// its TLS handshake: no byte is lost in the switch to TLS.
func TestProxyTLSPipelinedViewer(t *testing.T) {
	pki := testx.NewTLS(t)
	s := &fakeServer{minor: 8, types: []byte{SecNone}, colour: [3]byte{1, 2, 3}}
	vc, p, hs := startProxy(t, s, ProxyConfig{ViewerTLS: pki.ServerConfig()})
	verr := make(chan error, 1)
	go func() {
		verr <- func() error {
			b := make([]byte, 12)
			if _, err := io.ReadFull(vc, b); err != nil {
				return err
			}
			vc.Write([]byte("RFB 003.008\n"))
			if _, err := io.ReadFull(vc, b[:2]); err != nil { // 1 type, 19
				return err
			}
			vc.Write([]byte{SecVeNCrypt})
			if _, err := io.ReadFull(vc, b[:2]); err != nil { // version 0.2
				return err
			}
			vc.Write([]byte{0, 2})
			if _, err := io.ReadFull(vc, b[:6]); err != nil { // ack, 1 subtype, X509None
				return err
			}
			pc := &pipelinedConn{Conn: vc, first: binary.BigEndian.AppendUint32(nil, SecX509None), skip: 1}
			tc := tls.Client(pc, pki.ClientConfig("localhost"))
			if err := tc.Handshake(); err != nil {
				return err
			}
			r := newReader(tc)
			if res, err := r.u32(); err != nil || res != 0 {
				return fmt.Errorf("SecurityResult %d, %v: want 0", res, err)
			}
			tc.Write([]byte{1}) // ClientInit, shared
			if err := r.full(b[:4]); err != nil {
				return err
			}
			if w, h := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]); w != 16 || h != 8 {
				return fmt.Errorf("ServerInit %dx%d, want 16x8", w, h)
			}
			return nil
		}()
	}()
	if err := <-hs; err != nil {
		t.Fatalf("Handshake() = %v, want nil", err)
	}
	if err := <-verr; err != nil {
		t.Fatalf("viewer: %v", err)
	}
	if p.ViewerSecurity != SecX509None || p.ServerSecurity != SecNone {
		t.Errorf("security viewer %s, server %s; want X509None, None", SecurityName(p.ViewerSecurity), SecurityName(p.ServerSecurity))
	}
}
