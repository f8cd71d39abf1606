// Package rfb speaks the Remote Framebuffer protocol (RFC 6143) for
// reckit: a client that connects to a VNC server and decodes what it sends
// into a Framebuffer, and a proxy session that relays a viewer's connection
// to a server while decoding the server's updates into a Framebuffer too.
//
// Decoded encodings: Raw, CopyRect, RRE, Hextile, Zlib, ZRLE and Tight
// (fill, JPEG, palette, gradient and the four zlib streams), and the
// pseudo-encodings DesktopSize, ExtendedDesktopSize, LastRect, Cursor,
// PointerPos and DesktopName. Every rectangle is checked against the
// framebuffer before anything is allocated for it; every size read from
// the stream is capped. Errors are *ProtocolError values naming the
// message and the byte offset in the server's (or viewer's) stream.
//
// The package imports only the standard library. It never prints, exits
// or reads the environment; the caller owns and closes the connections it
// passes in unless a Close method says otherwise.
package rfb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Errors returned by the package wrap one of these.
var (
	// ErrProtocol: the peer sent something RFC 6143 does not allow.
	ErrProtocol = errors.New("rfb: protocol error")
	// ErrUnsupported: valid RFB that reckit does not implement (an
	// encoding it did not ask for, a security type it cannot do).
	ErrUnsupported = errors.New("rfb: unsupported")
	// ErrAuth: the server refused the authentication.
	ErrAuth = errors.New("rfb: authentication failed")
	// ErrTooLarge: a size read from the stream exceeds reckit's caps.
	ErrTooLarge = errors.New("rfb: too large")
	// ErrBounds: a rectangle lies outside the framebuffer.
	ErrBounds = errors.New("rfb: rectangle outside the framebuffer")
)

// Size caps applied before any allocation.
const (
	// MaxWidth and MaxHeight bound the framebuffer; MaxPixels its area.
	MaxWidth  = 8192
	MaxHeight = 8192
	MaxPixels = 4096 * 4096
	// MaxCursor bounds each side of a cursor shape.
	MaxCursor = 256
	// maxName is how much of a desktop name or failure reason is kept;
	// the rest is read and discarded.
	maxName = 4096
)

// Encoding numbers (RFC 6143 section 7.7 and the IANA RFB registry).
const (
	EncRaw                 int32 = 0
	EncCopyRect            int32 = 1
	EncRRE                 int32 = 2
	EncHextile             int32 = 5
	EncZlib                int32 = 6
	EncTight               int32 = 7
	EncZRLE                int32 = 16
	EncCursor              int32 = -239
	EncDesktopSize         int32 = -223
	EncLastRect            int32 = -224
	EncPointerPos          int32 = -232
	EncDesktopName         int32 = -307
	EncExtendedDesktopSize int32 = -308
	// EncJPEGQuality0..+9 ask a Tight server for JPEG at that quality;
	// EncCompressLevel0..+9 set its zlib level.
	EncJPEGQuality0   int32 = -32
	EncCompressLevel0 int32 = -256
)

// DefaultEncodings is what a Client asks for when Config.Encodings is
// nil: every lossless encoding, best first, and the pseudo-encodings.
// No JPEG quality level is sent, so Tight servers stay lossless.
var DefaultEncodings = []int32{
	EncTight, EncZRLE, EncHextile, EncZlib, EncRRE, EncCopyRect, EncRaw,
	EncExtendedDesktopSize, EncDesktopSize, EncLastRect, EncCursor, EncPointerPos, EncDesktopName,
}

// Decodable reports whether the package decodes encoding e (including
// the pseudo-encodings it understands and the Tight quality and
// compression levels, which only steer the server's choices).
func Decodable(e int32) bool {
	switch e {
	case EncRaw, EncCopyRect, EncRRE, EncHextile, EncZlib, EncTight, EncZRLE,
		EncCursor, EncDesktopSize, EncLastRect, EncPointerPos, EncDesktopName, EncExtendedDesktopSize:
		return true
	}
	return (e >= EncJPEGQuality0 && e <= EncJPEGQuality0+9) || (e >= EncCompressLevel0 && e <= EncCompressLevel0+9)
}

// EncodingName names an encoding for error messages.
func EncodingName(e int32) string {
	switch e {
	case EncRaw:
		return "Raw"
	case EncCopyRect:
		return "CopyRect"
	case EncRRE:
		return "RRE"
	case EncHextile:
		return "Hextile"
	case EncZlib:
		return "Zlib"
	case EncTight:
		return "Tight"
	case EncZRLE:
		return "ZRLE"
	case EncCursor:
		return "Cursor"
	case EncDesktopSize:
		return "DesktopSize"
	case EncLastRect:
		return "LastRect"
	case EncPointerPos:
		return "PointerPos"
	case EncDesktopName:
		return "DesktopName"
	case EncExtendedDesktopSize:
		return "ExtendedDesktopSize"
	}
	return fmt.Sprintf("encoding %d", e)
}

// Server-to-client message types (RFC 6143 section 7.6).
const (
	MsgFramebufferUpdate   = 0
	MsgSetColourMapEntries = 1
	MsgBell                = 2
	MsgServerCutText       = 3
)

// Client-to-server message types (RFC 6143 section 7.5).
const (
	MsgSetPixelFormat           = 0
	MsgSetEncodings             = 2
	MsgFramebufferUpdateRequest = 3
	MsgKeyEvent                 = 4
	MsgPointerEvent             = 5
	MsgClientCutText            = 6
	MsgSetDesktopSize           = 251
)

// ProtocolError reports a malformed or unsupported stream: the message
// (e.g. "FramebufferUpdate Hextile rectangle"), the byte offset in the
// stream where the offending field starts, and what is wrong. It unwraps
// to one of the package's sentinels or to the I/O error.
type ProtocolError struct {
	Msg    string
	Offset int64
	Detail string
	Err    error
}

func (e *ProtocolError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("rfb: %s at byte %d: %v", e.Msg, e.Offset, e.Err)
	}
	return fmt.Sprintf("rfb: %s at byte %d: %s: %v", e.Msg, e.Offset, e.Detail, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// PixelFormat is the RFB pixel format (RFC 6143 section 7.4).
type PixelFormat struct {
	BPP, Depth             uint8
	BigEndian, TrueColour  bool
	RMax, GMax, BMax       uint16
	RShift, GShift, BShift uint8
}

// NativeFormat is the format a Client asks for: 32 bits per pixel, depth
// 24, little-endian, so the bytes of a pixel are R, G, B, padding — the
// Framebuffer's own layout, copied without conversion.
var NativeFormat = PixelFormat{BPP: 32, Depth: 24, TrueColour: true, RMax: 255, GMax: 255, BMax: 255, RShift: 0, GShift: 8, BShift: 16}

// Marshal returns the 16-byte wire form.
func (pf PixelFormat) Marshal() [16]byte {
	var b [16]byte
	b[0], b[1] = pf.BPP, pf.Depth
	if pf.BigEndian {
		b[2] = 1
	}
	if pf.TrueColour {
		b[3] = 1
	}
	binary.BigEndian.PutUint16(b[4:], pf.RMax)
	binary.BigEndian.PutUint16(b[6:], pf.GMax)
	binary.BigEndian.PutUint16(b[8:], pf.BMax)
	b[10], b[11], b[12] = pf.RShift, pf.GShift, pf.BShift
	return b
}

// parsePixelFormat reads the 16-byte wire form.
func parsePixelFormat(b []byte) PixelFormat {
	return PixelFormat{
		BPP: b[0], Depth: b[1], BigEndian: b[2] != 0, TrueColour: b[3] != 0,
		RMax: binary.BigEndian.Uint16(b[4:]), GMax: binary.BigEndian.Uint16(b[6:]), BMax: binary.BigEndian.Uint16(b[8:]),
		RShift: b[10], GShift: b[11], BShift: b[12],
	}
}

// Validate reports whether the format can be decoded: 8, 16 or 32 bits
// per pixel, and for true colour each channel a 2^n-1 maximum inside the
// pixel.
func (pf PixelFormat) Validate() error {
	switch pf.BPP {
	case 8, 16, 32:
	default:
		return fmt.Errorf("%w: %d bits per pixel", ErrUnsupported, pf.BPP)
	}
	if !pf.TrueColour {
		return nil
	}
	for _, c := range [3]struct {
		max   uint16
		shift uint8
	}{{pf.RMax, pf.RShift}, {pf.GMax, pf.GShift}, {pf.BMax, pf.BShift}} {
		if c.max == 0 || c.max&(c.max+1) != 0 {
			return fmt.Errorf("%w: channel max %d is not 2^n-1", ErrProtocol, c.max)
		}
		w := 0
		for m := c.max; m != 0; m >>= 1 {
			w++
		}
		if int(c.shift)+w > int(pf.BPP) {
			return fmt.Errorf("%w: channel at shift %d outside a %d-bit pixel", ErrProtocol, c.shift, pf.BPP)
		}
	}
	return nil
}

func (pf PixelFormat) bytesPerPixel() int { return int(pf.BPP) / 8 }

// reader reads the big-endian fields of one direction of an RFB stream
// and counts the bytes consumed, for error offsets.
type reader struct {
	r   *bufio.Reader
	off int64
	b   [16]byte
}

func newReader(r io.Reader) *reader {
	if br, ok := r.(*bufio.Reader); ok {
		return &reader{r: br}
	}
	return &reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// full reads len(p) bytes.
func (r *reader) full(p []byte) error {
	n, err := io.ReadFull(r.r, p)
	r.off += int64(n)
	if err == io.EOF && n == 0 {
		return io.EOF
	}
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// fullErr is full but keeps the underlying error (a closed connection).
func (r *reader) fullErr(p []byte) error {
	n, err := io.ReadFull(r.r, p)
	r.off += int64(n)
	return err
}

func (r *reader) u8() (uint8, error) {
	c, err := r.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	r.off++
	return c, nil
}

func (r *reader) u16() (uint16, error) {
	if err := r.fullErr(r.b[:2]); err != nil {
		return 0, unexpected(err)
	}
	return binary.BigEndian.Uint16(r.b[:2]), nil
}

func (r *reader) u32() (uint32, error) {
	if err := r.fullErr(r.b[:4]); err != nil {
		return 0, unexpected(err)
	}
	return binary.BigEndian.Uint32(r.b[:4]), nil
}

// skip discards n bytes without allocating.
func (r *reader) skip(n int64) error {
	m, err := io.CopyN(io.Discard, r.r, n)
	r.off += m
	return unexpected(err)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadByte makes reader an io.ByteReader for the compact lengths.
func (r *reader) ReadByte() (byte, error) { return r.u8() }
