package rfb

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// ProxySession relays one viewer's connection to a server and decodes the
// server's messages into a Framebuffer on the way. The proxy never needs
// the password: VNC Authentication's challenge and response pass through
// untouched, inside TLS where TLS is used. It offers the viewer only what
// it can relay: None and VNC Authentication in the clear, or, with
// ProxyConfig.ViewerTLS, only VeNCrypt X509None or X509Vnc (the TLS ends
// at the proxy). Towards the server it uses None, VNC Authentication, or,
// with ProxyConfig.ServerTLS, VeNCrypt X509None or X509Vnc as a TLS
// client; the two sides are independent. It rewrites every SetEncodings
// to the encodings it decodes, follows SetPixelFormat, and forwards input
// untouched. A session it cannot decode is ended rather than relayed
// unrecorded.
type ProxySession struct {
	viewer, server       net.Conn // TLS-wrapped where VeNCrypt is used
	viewerRaw, serverRaw net.Conn // what the caller passed
	vr                   *reader  // the viewer's stream
	sr                   *reader  // the server's stream during the handshake
	cfg                  ProxyConfig

	fb  *Framebuffer
	dec *Decoder
	// Version is the protocol version in use ("3.3", "3.7", "3.8"), Name
	// the desktop name.
	Version string
	Name    string
	// ViewerSecurity and ServerSecurity are the security used on each
	// side: SecNone, SecVNCAuth, SecX509None or SecX509Vnc (VeNCrypt,
	// TLS). The password check is the same on both sides: VNC
	// Authentication (plain or inside TLS) on one side exactly when on
	// the other.
	ViewerSecurity uint32
	ServerSecurity uint32

	closeOnce sync.Once
}

// ProxyConfig configures the security of a ProxySession.
type ProxyConfig struct {
	// ViewerTLS makes the proxy a TLS server to the viewer: it offers
	// only VeNCrypt 0.2 with X509Vnc (when the server asks for VNC
	// Authentication) or X509None (when it does not), with the
	// certificate in ViewerTLS.Certificates. RFB 3.3 viewers, which
	// cannot negotiate VeNCrypt, are refused. Nil: the viewer is offered
	// None or VNC Authentication in the clear.
	ViewerTLS *tls.Config
	// ServerTLS lets the proxy use VeNCrypt X509None or X509Vnc with a
	// server that offers it, as a TLS client verifying the server's
	// certificate with ServerTLS (RootCAs, ServerName); VeNCrypt is then
	// preferred over the server's other types. Nil: a server offering
	// only VeNCrypt is refused (ErrNeedServerTLS).
	ServerTLS *tls.Config
}

// ErrNeedServerTLS: the server offers only VeNCrypt (TLS) and the proxy
// has no ProxyConfig.ServerTLS to verify its certificate with.
var ErrNeedServerTLS = errors.New("rfb: the server offers only VeNCrypt (TLS), and the proxy has no TLS configuration (CA) for the server")

// NewProxySession returns a session between viewer and server without
// TLS on either side: NewProxySessionConfig with a zero ProxyConfig.
func NewProxySession(viewer, server net.Conn) *ProxySession {
	return NewProxySessionConfig(viewer, server, ProxyConfig{})
}

// NewProxySessionConfig returns a session between viewer and server. Call
// Handshake, then Run. Close closes both connections (and the TLS
// connections over them).
func NewProxySessionConfig(viewer, server net.Conn, cfg ProxyConfig) *ProxySession {
	return &ProxySession{viewer: viewer, server: server, viewerRaw: viewer, serverRaw: server,
		vr: newReader(viewer), sr: newReader(server), cfg: cfg}
}

// Framebuffer returns the decoded screen (nil before Handshake).
func (p *ProxySession) Framebuffer() *Framebuffer { return p.fb }

func (p *ProxySession) serr(step string, err error) error {
	return &ProtocolError{Msg: "proxy handshake (server) " + step, Offset: p.sr.off, Err: unexpected(err)}
}

func (p *ProxySession) verr(step string, err error) error {
	return &ProtocolError{Msg: "proxy handshake (viewer) " + step, Offset: p.vr.off, Err: unexpected(err)}
}

// relay copies n bytes from the server to the viewer.
func (p *ProxySession) relayFromServer(step string, n int) ([]byte, error) {
	b := make([]byte, n)
	if err := p.sr.full(b); err != nil {
		return nil, p.serr(step, err)
	}
	if _, err := p.viewer.Write(b); err != nil {
		return nil, p.verr(step, err)
	}
	return b, nil
}

func (p *ProxySession) relayFromViewer(step string, n int) ([]byte, error) {
	b := make([]byte, n)
	if err := p.vr.full(b); err != nil {
		return nil, p.verr(step, err)
	}
	if _, err := p.server.Write(b); err != nil {
		return nil, p.serr(step, err)
	}
	return b, nil
}

// relayReason relays a u32-length failure reason and returns it.
func (p *ProxySession) relayReason(step string) (string, error) {
	lb, err := p.relayFromServer(step, 4)
	if err != nil {
		return "", err
	}
	n := int64(binary.BigEndian.Uint32(lb))
	keep := min(n, maxName)
	b, err := p.relayFromServer(step, int(keep))
	if err != nil {
		return "", err
	}
	if _, err := io.CopyN(p.viewer, p.sr.r, n-keep); err != nil {
		return "", p.serr(step, err)
	}
	p.sr.off += n - keep
	return string(b), nil
}

// refuseViewer tells the viewer why the connection fails, where the
// protocol has room for a reason: in place of the security types (or of
// the 3.3 security type). The write's error does not matter: the session
// ends either way.
func (p *ProxySession) refuseViewer(minor int, reason string) {
	out := []byte{0}
	if minor == 3 {
		out = []byte{0, 0, 0, 0}
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(reason)))
	p.viewer.Write(append(out, reason...))
}

// failViewer sends the viewer a failed SecurityResult, with the reason
// for 3.8.
func (p *ProxySession) failViewer(minor int, reason string) {
	out := []byte{0, 0, 0, 1}
	if minor == 8 {
		out = binary.BigEndian.AppendUint32(out, uint32(len(reason)))
		out = append(out, reason...)
	}
	p.viewer.Write(out)
}

// Handshake relays the handshake up to ServerInit (RFC 6143 section 7.1
// to 7.3.2) and sets up the framebuffer. The security phase (section 7.2)
// is negotiated with each side separately where TLS is used: first with
// the server, then with the viewer, offering it what the server's side
// needs (a password check or none); VNC Authentication's challenge and
// response are then relayed between the two.
func (p *ProxySession) Handshake() error {
	sv, err := p.relayFromServer("ProtocolVersion", 12)
	if err != nil {
		return err
	}
	if _, err := parseVersion(sv); err != nil {
		return p.serr("ProtocolVersion", err)
	}
	cv := make([]byte, 12)
	if err := p.vr.full(cv); err != nil {
		return p.verr("ProtocolVersion", err)
	}
	minor, err := parseVersion(cv)
	if err != nil {
		return p.verr("ProtocolVersion", err)
	}
	if minor == 3 && p.cfg.ViewerTLS != nil {
		p.refuseViewer(3, "reckit proxy: this proxy requires TLS (VeNCrypt), which RFB 3.3 cannot negotiate: use a viewer speaking RFB 3.7 or 3.8")
		return p.verr("ProtocolVersion", fmt.Errorf("%w: the viewer speaks RFB 3.3, which cannot negotiate VeNCrypt, and the proxy requires TLS of viewers", ErrUnsupported))
	}
	if _, err := p.server.Write(cv); err != nil {
		return p.serr("ProtocolVersion", err)
	}
	p.Version = fmt.Sprintf("3.%d", minor)
	if minor == 3 {
		if err := p.security33(); err != nil {
			return err
		}
	} else if err := p.security(minor); err != nil {
		return err
	}
	if p.ServerSecurity == SecVNCAuth || p.ServerSecurity == SecX509Vnc {
		if _, err := p.relayFromServer("VNC Authentication challenge", 16); err != nil {
			return err
		}
		if _, err := p.relayFromViewer("VNC Authentication response", 16); err != nil {
			return err
		}
	}
	if err := p.securityResult(minor); err != nil {
		return err
	}
	if _, err := p.relayFromViewer("ClientInit", 1); err != nil {
		return err
	}
	si, err := p.relayFromServer("ServerInit", 20)
	if err != nil {
		return err
	}
	w, h := int(binary.BigEndian.Uint16(si[0:])), int(binary.BigEndian.Uint16(si[2:]))
	pf := parsePixelFormat(si[4:20])
	if p.Name, err = p.relayReason("ServerInit name"); err != nil {
		return err
	}
	if p.fb, err = NewFramebuffer(w, h); err != nil {
		return p.serr("ServerInit", err)
	}
	// From here on every byte read from the server is forwarded as it is
	// read; bytes already buffered are forwarded now. p.server and
	// p.viewer are the TLS connections where TLS is used.
	buffered, _ := p.sr.r.Peek(p.sr.r.Buffered())
	pending := bytes.Clone(buffered)
	if len(pending) > 0 {
		if _, err := p.viewer.Write(pending); err != nil {
			return p.verr("ServerInit", err)
		}
	}
	src := io.MultiReader(bytes.NewReader(pending), io.TeeReader(p.server, p.viewer))
	if p.dec, err = NewDecoder(src, p.sr.off, p.fb, pf); err != nil {
		return p.serr("ServerInit pixel format", err)
	}
	return nil
}

// security33 relays the security type a 3.3 server decides (RFC 6143
// appendix A.1): None or VNC Authentication, the same on both sides.
func (p *ProxySession) security33() error {
	b, err := p.relayFromServer("security type", 4)
	if err != nil {
		return err
	}
	sec := binary.BigEndian.Uint32(b)
	switch sec {
	case SecInvalid:
		reason, _ := p.relayReason("security type")
		return p.serr("security type", fmt.Errorf("%w: server refused: %s", ErrProtocol, reason))
	case SecNone, SecVNCAuth:
		p.ViewerSecurity, p.ServerSecurity = sec, sec
		return nil
	}
	return p.serr("security type", fmt.Errorf("%w: security type %d cannot be relayed", ErrUnsupported, sec))
}

// security negotiates the security type with both sides (3.7 and 3.8).
func (p *ProxySession) security(minor int) error {
	n, err := p.sr.u8()
	if err != nil {
		return p.serr("security types", err)
	}
	if n == 0 {
		p.viewer.Write([]byte{0})
		reason, _ := p.relayReason("security types")
		return p.serr("security types", fmt.Errorf("%w: server refused: %s", ErrProtocol, reason))
	}
	types := make([]byte, n)
	if err := p.sr.full(types); err != nil {
		return p.serr("security types", err)
	}
	var plain []byte // what of None and VNC Authentication the server offers
	for _, t := range types {
		if t == SecNone || t == SecVNCAuth {
			plain = append(plain, t)
		}
	}
	veNCrypt := bytes.IndexByte(types, SecVeNCrypt) >= 0
	switch {
	case veNCrypt && p.cfg.ServerTLS != nil:
		if _, err := p.server.Write([]byte{SecVeNCrypt}); err != nil {
			return p.serr("security type", err)
		}
		sub, tc, err := vencryptClient(p.sr, p.serverRaw, p.cfg.ServerTLS, true, p.serr)
		if err != nil {
			p.refuseViewer(minor, "reckit proxy: TLS (VeNCrypt) with the server failed")
			return err
		}
		p.server, p.sr = tc, tlsReader(p.sr, tc)
		p.ServerSecurity = sub
	case len(plain) > 0 && p.cfg.ViewerTLS == nil:
		// Both sides in the clear: the viewer chooses among what the
		// server offers, and its choice is relayed.
		if _, err := p.viewer.Write(append([]byte{byte(len(plain))}, plain...)); err != nil {
			return p.verr("security types", err)
		}
		b, err := p.relayFromViewer("security type", 1)
		if err != nil {
			return err
		}
		if bytes.IndexByte(plain, b[0]) < 0 {
			return p.verr("security type", fmt.Errorf("%w: viewer chose security type %d not offered", ErrProtocol, b[0]))
		}
		p.ViewerSecurity, p.ServerSecurity = uint32(b[0]), uint32(b[0])
		return nil
	case len(plain) > 0:
		sec := plain[0]
		if bytes.IndexByte(plain, SecNone) >= 0 {
			sec = SecNone
		}
		if _, err := p.server.Write([]byte{sec}); err != nil {
			return p.serr("security type", err)
		}
		p.ServerSecurity = uint32(sec)
	case veNCrypt:
		p.refuseViewer(minor, "reckit proxy: the server requires TLS (VeNCrypt) and the proxy has no CA to verify it with")
		return p.serr("security types", fmt.Errorf("%w (server security types %v)", ErrNeedServerTLS, types))
	default:
		p.refuseViewer(minor, "reckit proxy: the server offers no security type the recording proxy can relay (None, VNC Authentication or VeNCrypt X509)")
		return p.serr("security types", fmt.Errorf("%w: server offers security types %v; the proxy relays None (1), VNC Authentication (2) and VeNCrypt (19) X509None/X509Vnc", ErrUnsupported, types))
	}
	// The viewer gets what matches the server's side: a password check
	// exactly when the server asks for one.
	auth := p.ServerSecurity == SecVNCAuth || p.ServerSecurity == SecX509Vnc
	offer := byte(SecNone)
	if auth {
		offer = SecVNCAuth
	}
	if p.cfg.ViewerTLS != nil {
		offer = SecVeNCrypt
	}
	if _, err := p.viewer.Write([]byte{1, offer}); err != nil {
		return p.verr("security types", err)
	}
	choice, err := p.vr.u8()
	if err != nil {
		return p.verr("security type", err)
	}
	if choice != offer {
		p.failViewer(minor, fmt.Sprintf("reckit proxy: security type %d was not offered", choice))
		return p.verr("security type", fmt.Errorf("%w: viewer chose security type %d (%s), not the offered %s", ErrProtocol, choice, SecurityName(uint32(choice)), SecurityName(uint32(offer))))
	}
	if offer != SecVeNCrypt {
		p.ViewerSecurity = uint32(offer)
		return nil
	}
	sub := uint32(SecX509None)
	if auth {
		sub = SecX509Vnc
	}
	tc, err := vencryptServer(p.vr, p.viewerRaw, p.cfg.ViewerTLS, sub, p.verr)
	if err != nil {
		return err
	}
	p.viewer, p.vr = tc, tlsReader(p.vr, tc)
	p.ViewerSecurity = sub
	return nil
}

// hasResult reports whether security type sec is followed by a
// SecurityResult in protocol 3.minor (RFC 6143 section 7.1.3: always in
// 3.8; before, not for None).
func hasResult(minor int, sec uint32) bool {
	return minor == 8 || sec != SecNone
}

// securityResult relays the server's SecurityResult to the viewer, reads
// one the viewer must not see, or makes up the one the viewer expects
// where the server's side sends none (None in 3.7 facing VeNCrypt).
func (p *ProxySession) securityResult(minor int) error {
	fromServer, toViewer := hasResult(minor, p.ServerSecurity), hasResult(minor, p.ViewerSecurity)
	switch {
	case fromServer && toViewer:
		b, err := p.relayFromServer("SecurityResult", 4)
		if err != nil {
			return err
		}
		if binary.BigEndian.Uint32(b) != 0 {
			reason := ""
			if minor == 8 {
				reason, _ = p.relayReason("SecurityResult")
			}
			return p.serr("SecurityResult", fmt.Errorf("%w: %s", ErrAuth, reason))
		}
	case fromServer:
		res, err := p.sr.u32()
		if err != nil {
			return p.serr("SecurityResult", err)
		}
		if res != 0 {
			return p.serr("SecurityResult", fmt.Errorf("%w (security type %s)", ErrAuth, SecurityName(p.ServerSecurity)))
		}
	case toViewer:
		if _, err := p.viewer.Write([]byte{0, 0, 0, 0}); err != nil {
			return p.verr("SecurityResult", err)
		}
	}
	return nil
}

// Run relays the session until either side disconnects or sends
// something the proxy cannot decode, then closes both connections. A
// disconnect returns nil.
func (p *ProxySession) Run() error {
	if p.dec == nil {
		return errors.New("rfb: ProxySession.Run before Handshake")
	}
	verrc := make(chan error, 1)
	go func() {
		err := p.viewerLoop()
		p.Close() // unblock the server side
		verrc <- err
	}()
	var serr error
	for {
		if _, err := p.dec.ReadMessage(); err != nil {
			serr = err
			break
		}
	}
	p.Close()
	verr := <-verrc
	clean := func(err error) bool {
		return err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
	}
	switch {
	case !clean(serr) && !(clean(verr) && isConnErr(serr)):
		return serr
	case !clean(verr) && !isConnErr(verr):
		return verr
	}
	return nil
}

// isConnErr reports an I/O error of a connection (reset, closed) rather
// than a protocol error.
func isConnErr(err error) bool {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBounds)
	}
	return true
}

// viewerLoop forwards the viewer's messages (RFC 6143 section 7.5).
func (p *ProxySession) viewerLoop() error {
	r := p.vr
	var hdr [20]byte
	fwd := func(b []byte) error {
		_, err := p.server.Write(b)
		return err
	}
	for {
		off := r.off
		t, err := r.r.ReadByte()
		if err != nil {
			return err
		}
		r.off++
		hdr[0] = t
		perr := func(msg string, err error) error {
			return &ProtocolError{Msg: "viewer " + msg, Offset: off, Err: unexpected(err)}
		}
		switch t {
		case MsgSetPixelFormat:
			if err := r.full(hdr[1:20]); err != nil {
				return perr("SetPixelFormat", err)
			}
			pf := parsePixelFormat(hdr[4:20])
			if err := p.dec.SetPixelFormat(pf); err != nil {
				return perr("SetPixelFormat", err)
			}
			err = fwd(hdr[:20])
		case MsgSetEncodings:
			if err := r.full(hdr[1:4]); err != nil {
				return perr("SetEncodings", err)
			}
			n := int(binary.BigEndian.Uint16(hdr[2:4]))
			list := make([]byte, 4*n)
			if err := r.full(list); err != nil {
				return perr("SetEncodings", err)
			}
			out := make([]byte, 4, 4+4*n)
			out[0] = MsgSetEncodings
			for i := 0; i < n; i++ {
				if Decodable(int32(binary.BigEndian.Uint32(list[4*i:]))) {
					out = append(out, list[4*i:4*i+4]...)
				}
			}
			binary.BigEndian.PutUint16(out[2:], uint16((len(out)-4)/4))
			err = fwd(out)
		case MsgFramebufferUpdateRequest:
			if err := r.full(hdr[1:10]); err != nil {
				return perr("FramebufferUpdateRequest", err)
			}
			err = fwd(hdr[:10])
		case MsgKeyEvent:
			if err := r.full(hdr[1:8]); err != nil {
				return perr("KeyEvent", err)
			}
			err = fwd(hdr[:8])
		case MsgPointerEvent:
			if err := r.full(hdr[1:6]); err != nil {
				return perr("PointerEvent", err)
			}
			err = fwd(hdr[:6])
			p.fb.SetPointer(int(binary.BigEndian.Uint16(hdr[2:])), int(binary.BigEndian.Uint16(hdr[4:])))
		case MsgClientCutText:
			if err := r.full(hdr[1:8]); err != nil {
				return perr("ClientCutText", err)
			}
			if err = fwd(hdr[:8]); err == nil {
				n := int64(binary.BigEndian.Uint32(hdr[4:8]))
				var m int64
				m, err = io.CopyN(p.server, r.r, n)
				r.off += m
				if err == io.EOF {
					return perr("ClientCutText", io.ErrUnexpectedEOF)
				}
			}
		case MsgSetDesktopSize:
			if err := r.full(hdr[1:8]); err != nil {
				return perr("SetDesktopSize", err)
			}
			if err = fwd(hdr[:8]); err == nil {
				n := int64(hdr[6]) * 16
				var m int64
				m, err = io.CopyN(p.server, r.r, n)
				r.off += m
				if err == io.EOF {
					return perr("SetDesktopSize", io.ErrUnexpectedEOF)
				}
			}
		default:
			return perr("message", fmt.Errorf("%w: viewer message type %d", ErrUnsupported, t))
		}
		if err != nil {
			return err
		}
	}
}

// Close closes both connections; Run then returns. It is idempotent.
func (p *ProxySession) Close() error {
	p.closeOnce.Do(func() {
		p.viewer.Close()
		p.server.Close()
		p.viewerRaw.Close()
		p.serverRaw.Close()
	})
	return nil
}
