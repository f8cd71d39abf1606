package rfb

import (
	"bytes"
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
// untouched. It offers the viewer only the security types it can relay
// (None and VNC Authentication), rewrites every SetEncodings to the
// encodings it decodes, follows SetPixelFormat, and forwards input
// untouched. A session it cannot decode is ended rather than relayed
// unrecorded.
type ProxySession struct {
	viewer, server net.Conn
	vr             *reader // the viewer's stream
	sr             *reader // the server's stream during the handshake

	fb  *Framebuffer
	dec *Decoder
	// Version is the protocol version in use ("3.3", "3.7", "3.8"), Name
	// the desktop name, Security the security type relayed.
	Version  string
	Name     string
	Security uint32

	closeOnce sync.Once
}

// NewProxySession returns a session between viewer and server. Call
// Handshake, then Run. Close closes both connections.
func NewProxySession(viewer, server net.Conn) *ProxySession {
	return &ProxySession{viewer: viewer, server: server, vr: newReader(viewer), sr: newReader(server)}
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

// Handshake relays the handshake up to ServerInit (RFC 6143 section 7.1
// to 7.3.2) and sets up the framebuffer.
func (p *ProxySession) Handshake() error {
	sv, err := p.relayFromServer("ProtocolVersion", 12)
	if err != nil {
		return err
	}
	if _, err := parseVersion(sv); err != nil {
		return p.serr("ProtocolVersion", err)
	}
	cv, err := p.relayFromViewer("ProtocolVersion", 12)
	if err != nil {
		return err
	}
	minor, err := parseVersion(cv)
	if err != nil {
		return p.verr("ProtocolVersion", err)
	}
	p.Version = fmt.Sprintf("3.%d", minor)
	var sec uint32
	if minor == 3 {
		b, err := p.relayFromServer("security type", 4)
		if err != nil {
			return err
		}
		sec = binary.BigEndian.Uint32(b)
		if sec == SecInvalid {
			reason, _ := p.relayReason("security type")
			return p.serr("security type", fmt.Errorf("%w: server refused: %s", ErrProtocol, reason))
		}
	} else {
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
		var ok []byte
		for _, t := range types {
			if t == SecNone || t == SecVNCAuth {
				ok = append(ok, t)
			}
		}
		if len(ok) == 0 {
			msg := "reckit proxy: the server offers no security type the recording proxy can relay (None or VNC Authentication)"
			out := []byte{0, 0, 0, 0, 0}
			binary.BigEndian.PutUint32(out[1:], uint32(len(msg)))
			p.viewer.Write(append(out, msg...))
			return p.serr("security types", fmt.Errorf("%w: server offers security types %v; the proxy relays None (1) and VNC Authentication (2)", ErrUnsupported, types))
		}
		if _, err := p.viewer.Write(append([]byte{byte(len(ok))}, ok...)); err != nil {
			return p.verr("security types", err)
		}
		b, err := p.relayFromViewer("security type", 1)
		if err != nil {
			return err
		}
		sec = uint32(b[0])
		if bytes.IndexByte(ok, b[0]) < 0 {
			return p.verr("security type", fmt.Errorf("%w: viewer chose security type %d not offered", ErrProtocol, sec))
		}
	}
	p.Security = sec
	result := minor == 8
	switch sec {
	case SecNone:
	case SecVNCAuth:
		if _, err := p.relayFromServer("VNC Authentication challenge", 16); err != nil {
			return err
		}
		if _, err := p.relayFromViewer("VNC Authentication response", 16); err != nil {
			return err
		}
		result = true
	default:
		return p.serr("security type", fmt.Errorf("%w: security type %d cannot be relayed", ErrUnsupported, sec))
	}
	if result {
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
	// read; bytes already buffered are forwarded now.
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
	})
	return nil
}
