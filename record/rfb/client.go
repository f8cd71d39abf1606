package rfb

import (
	"crypto/des"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"net"
	"sync"
)

// Security types (RFC 6143 section 7.2, and VeNCrypt's registry entry).
const (
	SecInvalid  = 0
	SecNone     = 1
	SecVNCAuth  = 2
	SecVeNCrypt = 19

	vencryptTLSNone   = 257
	vencryptTLSVnc    = 258
	vencryptTLSPlain  = 259
	vencryptX509None  = 260
	vencryptX509Vnc   = 261
	vencryptX509Plain = 262
)

// Config configures a Client.
type Config struct {
	// Password for VNC Authentication (only its first 8 bytes count).
	// Nil means none: a server that requires one fails the handshake.
	Password []byte
	// Exclusive asks the server to disconnect other viewers; by default
	// the connection is shared.
	Exclusive bool
	// Encodings to ask for; nil means DefaultEncodings.
	Encodings []int32
	// TLS enables VeNCrypt X509None and X509Vnc with this configuration
	// (ServerName and RootCAs as for any TLS client), preferred to the
	// server's other security types. Nil: no VeNCrypt.
	TLS *tls.Config
}

// Client is a connection to an RFB server. Its Framebuffer is updated by
// ReadMessage, which one goroutine calls in a loop; the other methods may
// be called from any goroutine.
type Client struct {
	conn    net.Conn // the connection, TLS-wrapped if VeNCrypt chose it
	raw     net.Conn // what the caller passed
	Version string
	Name    string
	// Security is the security type used (SecNone, SecVNCAuth, or the
	// VeNCrypt subtype SecX509None or SecX509Vnc).
	Security uint32
	FB       *Framebuffer
	dec      *Decoder
	r        *reader

	wmu sync.Mutex
}

// NewClient runs the RFB handshake on conn (RFC 6143 section 7.1 to 7.3),
// sets the NativeFormat pixel format and the encodings, and asks for a
// full update. The Client owns conn from then on: Close closes it. On
// error conn is left open for the caller to close.
func NewClient(conn net.Conn, cfg Config) (*Client, error) {
	c := &Client{conn: conn, raw: conn, r: newReader(conn)}
	if err := c.handshake(cfg); err != nil {
		return nil, err
	}
	enc := cfg.Encodings
	if enc == nil {
		enc = DefaultEncodings
	}
	if err := c.SetEncodings(enc); err != nil {
		return nil, err
	}
	if err := c.RequestUpdate(false, c.FB.Bounds()); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) herr(step string, err error) error {
	return &ProtocolError{Msg: "handshake " + step, Offset: c.r.off, Err: unexpected(err)}
}

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(b)
	return err
}

// parseVersion reads "RFB xxx.yyy\n" and returns the minor version the
// client speaks: 3, 7 or 8.
func parseVersion(b []byte) (int, error) {
	var major, minor int
	if _, err := fmt.Sscanf(string(b), "RFB %03d.%03d\n", &major, &minor); err != nil || b[11] != '\n' {
		return 0, fmt.Errorf("%w: version %q", ErrProtocol, b)
	}
	if major != 3 || minor < 3 {
		return 0, fmt.Errorf("%w: version %q", ErrUnsupported, b)
	}
	switch {
	case minor >= 8:
		return 8, nil
	case minor == 7:
		return 7, nil
	}
	return 3, nil // 3.3, and 3.5 and the like as 3.3
}

func (c *Client) handshake(cfg Config) error {
	var v [12]byte
	if err := c.r.full(v[:]); err != nil {
		return c.herr("ProtocolVersion", err)
	}
	minor, err := parseVersion(v[:])
	if err != nil {
		return c.herr("ProtocolVersion", err)
	}
	c.Version = fmt.Sprintf("3.%d", minor)
	if err := c.write([]byte(fmt.Sprintf("RFB 003.%03d\n", minor))); err != nil {
		return c.herr("ProtocolVersion", err)
	}
	var sec uint32
	if minor == 3 {
		if sec, err = c.r.u32(); err != nil {
			return c.herr("security type", err)
		}
		if sec == SecInvalid {
			return c.failure(minor, "security type")
		}
	} else {
		n, err := c.r.u8()
		if err != nil {
			return c.herr("security types", err)
		}
		if n == 0 {
			return c.failure(8, "security types")
		}
		types := make([]byte, n)
		if err := c.r.full(types); err != nil {
			return c.herr("security types", err)
		}
		sec, err = chooseSecurity(types, cfg)
		if err != nil {
			return c.herr("security types", err)
		}
		if err := c.write([]byte{byte(sec)}); err != nil {
			return c.herr("security type", err)
		}
	}
	c.Security = sec
	result := minor == 8
	switch sec {
	case SecNone:
	case SecVNCAuth:
		if err := c.vncAuth(cfg.Password); err != nil {
			return err
		}
		result = true
	case SecVeNCrypt:
		if err := c.vencrypt(cfg); err != nil {
			return err
		}
		result = true
	default:
		return c.herr("security type", fmt.Errorf("%w: security type %d", ErrUnsupported, sec))
	}
	if result {
		res, err := c.r.u32()
		if err != nil {
			return c.herr("SecurityResult", err)
		}
		if res != 0 {
			if minor == 8 {
				return c.failure(8, "SecurityResult")
			}
			return c.herr("SecurityResult", fmt.Errorf("%w (security type %d)", ErrAuth, sec))
		}
	}
	shared := byte(1)
	if cfg.Exclusive {
		shared = 0
	}
	if err := c.write([]byte{shared}); err != nil {
		return c.herr("ClientInit", err)
	}
	var si [20]byte
	if err := c.r.full(si[:]); err != nil {
		return c.herr("ServerInit", err)
	}
	w, h := int(binary.BigEndian.Uint16(si[0:])), int(binary.BigEndian.Uint16(si[2:]))
	name, err := readString(c.r)
	if err != nil {
		return c.herr("ServerInit name", err)
	}
	c.Name = name
	if c.FB, err = NewFramebuffer(w, h); err != nil {
		return c.herr("ServerInit", err)
	}
	pf := NativeFormat.Marshal()
	msg := append([]byte{MsgSetPixelFormat, 0, 0, 0}, pf[:]...)
	if err := c.write(msg); err != nil {
		return c.herr("SetPixelFormat", err)
	}
	if c.dec, err = NewDecoder(c.r.r, c.r.off, c.FB, NativeFormat); err != nil {
		return c.herr("SetPixelFormat", err)
	}
	return nil
}

// readString reads a u32 length and keeps up to maxName bytes of it.
func readString(r *reader) (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	keep := min(int64(n), maxName)
	b := make([]byte, keep)
	if err := r.full(b); err != nil {
		return "", unexpected(err)
	}
	if err := r.skip(int64(n) - keep); err != nil {
		return "", err
	}
	return string(b), nil
}

// failure reads the reason string of a refused connection.
func (c *Client) failure(minor int, step string) error {
	reason, err := readString(c.r)
	if err != nil {
		return c.herr(step, fmt.Errorf("%w: refused without a reason", ErrAuth))
	}
	if step == "SecurityResult" {
		return c.herr(step, fmt.Errorf("%w: %s", ErrAuth, reason))
	}
	return c.herr(step, fmt.Errorf("%w: server refused: %s", ErrProtocol, reason))
}

// chooseSecurity picks VeNCrypt when TLS is configured (asking for TLS
// means the connection is to be encrypted whenever the server can), then
// None, then VNC Authentication when a password is given.
func chooseSecurity(types []byte, cfg Config) (uint32, error) {
	has := func(t byte) bool {
		for _, x := range types {
			if x == t {
				return true
			}
		}
		return false
	}
	switch {
	case has(SecVeNCrypt) && cfg.TLS != nil:
		return SecVeNCrypt, nil
	case has(SecNone):
		return SecNone, nil
	case has(SecVNCAuth) && cfg.Password != nil:
		return SecVNCAuth, nil
	case has(SecVNCAuth):
		return 0, fmt.Errorf("%w: the server requires a VNC password", ErrAuth)
	case has(SecVeNCrypt):
		return 0, fmt.Errorf("%w: the server offers only VeNCrypt (TLS), which needs a TLS configuration", ErrUnsupported)
	}
	return 0, fmt.Errorf("%w: no usable security type in %v (reckit does None, VNC Authentication and VeNCrypt X509None/X509Vnc)", ErrUnsupported, types)
}

// vncAuthResponse encrypts the 16-byte challenge with DES keyed by the
// password, each key byte's bits reversed (RFC 6143 section 7.2.2 and its
// errata).
func vncAuthResponse(challenge, password []byte) []byte {
	var key [8]byte
	copy(key[:], password)
	for i, b := range key {
		var r byte
		for j := 0; j < 8; j++ {
			if b&(1<<j) != 0 {
				r |= 0x80 >> j
			}
		}
		key[i] = r
	}
	ciph, _ := des.NewCipher(key[:]) // 8-byte key: cannot fail
	out := make([]byte, 16)
	ciph.Encrypt(out[:8], challenge[:8])
	ciph.Encrypt(out[8:], challenge[8:16])
	return out
}

func (c *Client) vncAuth(password []byte) error {
	if password == nil {
		return c.herr("VNC Authentication", fmt.Errorf("%w: the server requires a VNC password", ErrAuth))
	}
	var ch [16]byte
	if err := c.r.full(ch[:]); err != nil {
		return c.herr("VNC Authentication challenge", err)
	}
	if err := c.write(vncAuthResponse(ch[:], password)); err != nil {
		return c.herr("VNC Authentication response", err)
	}
	return nil
}

// vencrypt runs the VeNCrypt 0.2 negotiation and the TLS handshake (see
// vencryptClient), then VNC Authentication inside TLS for X509Vnc.
func (c *Client) vencrypt(cfg Config) error {
	choice, tc, err := vencryptClient(c.r, c.raw, cfg.TLS, cfg.Password != nil, c.herr)
	if err != nil {
		return err
	}
	c.conn = tc
	c.r = tlsReader(c.r, tc)
	c.Security = choice
	if choice == vencryptX509Vnc {
		var ch [16]byte
		if err := c.r.full(ch[:]); err != nil {
			return c.herr("VNC Authentication challenge", err)
		}
		if err := c.write(vncAuthResponse(ch[:], cfg.Password)); err != nil {
			return c.herr("VNC Authentication response", err)
		}
	}
	return nil
}

// ReadMessage reads and applies one server message (see
// Decoder.ReadMessage). After a FramebufferUpdate it asks for the next,
// incremental, update of the whole framebuffer.
func (c *Client) ReadMessage() (uint8, error) {
	t, err := c.dec.ReadMessage()
	if err != nil {
		return t, err
	}
	if t == MsgFramebufferUpdate {
		c.FB.Lock()
		b := c.FB.Bounds()
		c.FB.Unlock()
		if err := c.RequestUpdate(true, b); err != nil {
			return t, err
		}
	}
	return t, nil
}

// EncodingCounts returns how many rectangles of each encoding were
// decoded.
func (c *Client) EncodingCounts() map[int32]int { return c.dec.EncodingCounts() }

// SetEncodings sends SetEncodings (RFC 6143 section 7.5.2).
func (c *Client) SetEncodings(enc []int32) error {
	if len(enc) > 0xffff {
		return fmt.Errorf("%w: %d encodings", ErrTooLarge, len(enc))
	}
	msg := make([]byte, 4+4*len(enc))
	msg[0] = MsgSetEncodings
	binary.BigEndian.PutUint16(msg[2:], uint16(len(enc)))
	for i, e := range enc {
		binary.BigEndian.PutUint32(msg[4+4*i:], uint32(e))
	}
	return c.write(msg)
}

// RequestUpdate sends FramebufferUpdateRequest (RFC 6143 section 7.5.3).
func (c *Client) RequestUpdate(incremental bool, r image.Rectangle) error {
	var msg [10]byte
	msg[0] = MsgFramebufferUpdateRequest
	if incremental {
		msg[1] = 1
	}
	binary.BigEndian.PutUint16(msg[2:], uint16(r.Min.X))
	binary.BigEndian.PutUint16(msg[4:], uint16(r.Min.Y))
	binary.BigEndian.PutUint16(msg[6:], uint16(r.Dx()))
	binary.BigEndian.PutUint16(msg[8:], uint16(r.Dy()))
	return c.write(msg[:])
}

// SetDesktopSize asks the server to resize its screen to w x h (the
// ExtendedDesktopSize extension's SetDesktopSize message, one screen).
func (c *Client) SetDesktopSize(w, h int) error {
	var msg [8 + 16]byte
	msg[0] = MsgSetDesktopSize
	binary.BigEndian.PutUint16(msg[2:], uint16(w))
	binary.BigEndian.PutUint16(msg[4:], uint16(h))
	msg[6] = 1
	binary.BigEndian.PutUint16(msg[8+8:], uint16(w))
	binary.BigEndian.PutUint16(msg[8+10:], uint16(h))
	return c.write(msg[:])
}

// Close closes the connection; ReadMessage then fails. It is idempotent.
func (c *Client) Close() error {
	err := c.conn.Close()
	if c.raw != c.conn {
		c.raw.Close()
	}
	if err != nil && isClosed(err) {
		return nil
	}
	return err
}

func isClosed(err error) bool {
	return err != nil && (err == net.ErrClosed || errorsIs(err, net.ErrClosed))
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
