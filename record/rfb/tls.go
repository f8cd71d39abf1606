package rfb

// VeNCrypt (security type 19) with X.509 TLS, both roles: the client side
// used by Client and by ProxySession towards the server, and the server
// side ProxySession offers viewers. VeNCrypt 0.2: the server sends its
// version (0.2), the client answers with the version it picked, the
// server acknowledges with 0; the server lists its subtypes (u8 count,
// u32 each), the client picks one (u32), the server accepts with 1 (or
// refuses with 0); then the TLS handshake runs and, for X509Vnc, VNC
// Authentication (RFC 6143 section 7.2.2) inside TLS. A SecurityResult
// always follows.

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
)

// VeNCrypt subtypes reckit does (the X.509 ones: Go's TLS cannot do the
// anonymous Diffie-Hellman suites of TLSNone and TLSVnc). Client.Security,
// ProxySession.ViewerSecurity and ProxySession.ServerSecurity hold one of
// these when VeNCrypt was used.
const (
	SecX509None = vencryptX509None
	SecX509Vnc  = vencryptX509Vnc
)

// SecurityName names a security type or VeNCrypt subtype as TigerVNC's
// SecurityTypes parameter does ("None", "VncAuth", "X509Vnc", ...).
func SecurityName(t uint32) string {
	switch t {
	case SecNone:
		return "None"
	case SecVNCAuth:
		return "VncAuth"
	case SecVeNCrypt:
		return "VeNCrypt"
	case vencryptTLSNone:
		return "TLSNone"
	case vencryptTLSVnc:
		return "TLSVnc"
	case vencryptTLSPlain:
		return "TLSPlain"
	case vencryptX509None:
		return "X509None"
	case vencryptX509Vnc:
		return "X509Vnc"
	case vencryptX509Plain:
		return "X509Plain"
	}
	return fmt.Sprintf("security type %d", t)
}

// vencryptClient runs the client side of VeNCrypt 0.2 on raw, whose
// security type 19 has just been chosen, reading through r. It picks
// X509None, else X509Vnc when vncOK (the caller then runs or relays VNC
// Authentication inside TLS), and runs the TLS handshake as the client
// with cfg. It returns the subtype and the TLS connection, which wraps
// raw; a reader for it starts at r's offset. Errors are made by herr.
func vencryptClient(r *reader, raw net.Conn, cfg *tls.Config, vncOK bool, herr func(string, error) error) (uint32, *tls.Conn, error) {
	var v [2]byte
	if err := r.full(v[:]); err != nil {
		return 0, nil, herr("VeNCrypt version", err)
	}
	if v[0] != 0 || v[1] < 2 {
		return 0, nil, herr("VeNCrypt version", fmt.Errorf("%w: VeNCrypt %d.%d (want 0.2)", ErrUnsupported, v[0], v[1]))
	}
	if _, err := raw.Write([]byte{0, 2}); err != nil {
		return 0, nil, herr("VeNCrypt version", err)
	}
	ack, err := r.u8()
	if err != nil || ack != 0 {
		return 0, nil, herr("VeNCrypt version", fmt.Errorf("%w: server refused VeNCrypt 0.2", ErrProtocol))
	}
	n, err := r.u8()
	if err != nil {
		return 0, nil, herr("VeNCrypt subtypes", err)
	}
	var choice uint32
	anonOnly := n > 0
	for i := 0; i < int(n); i++ {
		t, err := r.u32()
		if err != nil {
			return 0, nil, herr("VeNCrypt subtypes", err)
		}
		switch t {
		case vencryptX509None:
			choice = t
		case vencryptX509Vnc:
			if choice != vencryptX509None && vncOK {
				choice = t
			}
		}
		if t >= vencryptX509None {
			anonOnly = false
		}
	}
	if choice == 0 {
		if anonOnly {
			return 0, nil, herr("VeNCrypt subtypes", fmt.Errorf("%w: the server offers only anonymous TLS (VeNCrypt TLSNone/TLSVnc/TLSPlain), which Go's TLS cannot do: give the server an X.509 certificate (X509None or X509Vnc)", ErrUnsupported))
		}
		return 0, nil, herr("VeNCrypt subtypes", fmt.Errorf("%w: no VeNCrypt subtype reckit can use (X509None, or X509Vnc with a password)", ErrUnsupported))
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], choice)
	if _, err := raw.Write(b[:]); err != nil {
		return 0, nil, herr("VeNCrypt subtype", err)
	}
	if ok, err := r.u8(); err != nil || ok != 1 {
		return 0, nil, herr("VeNCrypt subtype", fmt.Errorf("%w: server refused subtype %d", ErrProtocol, choice))
	}
	// The TLS records must come from raw itself: a byte already read into
	// r's buffer would be lost to the handshake.
	if r.r.Buffered() > 0 {
		return 0, nil, herr("VeNCrypt TLS", fmt.Errorf("%w: data before the TLS handshake", ErrProtocol))
	}
	tc := tls.Client(raw, cfg)
	if err := tc.Handshake(); err != nil {
		return 0, nil, herr("VeNCrypt TLS handshake", err)
	}
	return choice, tc, nil
}

// vencryptServer runs the server side of VeNCrypt 0.2 on raw, whose
// client has just chosen security type 19, reading through r: it offers
// the one subtype sub (X509None or X509Vnc) and runs the TLS handshake as
// the server with cfg. It returns the TLS connection, which wraps raw.
// Errors are made by herr.
func vencryptServer(r *reader, raw net.Conn, cfg *tls.Config, sub uint32, herr func(string, error) error) (*tls.Conn, error) {
	if _, err := raw.Write([]byte{0, 2}); err != nil {
		return nil, herr("VeNCrypt version", err)
	}
	var v [2]byte
	if err := r.full(v[:]); err != nil {
		return nil, herr("VeNCrypt version", err)
	}
	if v != [2]byte{0, 2} {
		raw.Write([]byte{0xff})
		return nil, herr("VeNCrypt version", fmt.Errorf("%w: viewer asked for VeNCrypt %d.%d (the proxy speaks 0.2)", ErrUnsupported, v[0], v[1]))
	}
	var b [6]byte
	b[1] = 1 // ack 0, one subtype
	binary.BigEndian.PutUint32(b[2:], sub)
	if _, err := raw.Write(b[:]); err != nil {
		return nil, herr("VeNCrypt subtypes", err)
	}
	choice, err := r.u32()
	if err != nil {
		return nil, herr("VeNCrypt subtype", err)
	}
	if choice != sub {
		raw.Write([]byte{0})
		return nil, herr("VeNCrypt subtype", fmt.Errorf("%w: viewer chose VeNCrypt subtype %d (%s), not the offered %s", ErrProtocol, choice, SecurityName(choice), SecurityName(sub)))
	}
	if _, err := raw.Write([]byte{1}); err != nil {
		return nil, herr("VeNCrypt subtype", err)
	}
	// A viewer may send its ClientHello right behind its choice, before
	// reading the acknowledgement: what r has buffered of it goes to the
	// handshake first.
	conn := raw
	if n := r.r.Buffered(); n > 0 {
		b, _ := r.r.Peek(n)
		conn = &prefixConn{Conn: raw, prefix: bytes.Clone(b)}
		r.r.Discard(n)
	}
	tc := tls.Server(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, herr("VeNCrypt TLS handshake", err)
	}
	return tc, nil
}

// tlsReader returns a reader of tc that continues r's offsets.
func tlsReader(r *reader, tc *tls.Conn) *reader {
	nr := newReader(tc)
	nr.off = r.off
	return nr
}

// prefixConn is a connection whose first bytes were already read from it
// into a buffer: Read returns them before reading the connection again.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
