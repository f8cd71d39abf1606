package rfb

import (
	"bytes"
	"errors"
	"image"
	"io"
	"testing"
)

var roundTrips = []struct {
	name    string
	enc     int32
	variant int
	tol     float64 // mean per-channel difference allowed (JPEG)
}{
	{"raw", EncRaw, 0, 0},
	{"rre", EncRRE, 0, 0},
	{"hextile", EncHextile, 0, 0},
	{"zlib", EncZlib, 0, 0},
	{"zrle", EncZRLE, 0, 0},
	{"zrle raw tiles", EncZRLE, 1, 0},
	{"tight copy", EncTight, int(tightCopy), 0},
	{"tight gradient", EncTight, int(tightGrad), 0},
	{"tight jpeg", EncTight, int(tightJPG), 2},
}

// maxDiff returns the largest channel difference between fb and p, where,
// and the mean difference.
func maxDiff(fb *Framebuffer, p *picture) (int, image.Point, float64) {
	worst, at, sum := 0, image.Point{}, 0
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			c := p.at(x, y)
			for k := 0; k < 3; k++ {
				d := int(fb.Pix[4*(y*fb.W+x)+k]) - int(c[k])
				if d < 0 {
					d = -d
				}
				sum += d
				if d > worst {
					worst, at = d, image.Pt(x, y)
				}
			}
		}
	}
	return worst, at, float64(sum) / float64(3*p.w*p.h)
}

func TestDecodeRoundTrip(t *testing.T) {
	const w, h = 301, 203 // not a multiple of any tile size
	for _, tc := range roundTrips {
		t.Run(tc.name, func(t *testing.T) {
			var e encoder
			pics := []*picture{desktop(w, h, 1), desktop(w, h, 2)}
			for _, p := range pics {
				e.update(p, tc.enc, tc.variant)
			}
			fb, _ := NewFramebuffer(w, h)
			if dmg := fb.TakeDamage(); dmg != nil {
				t.Errorf("TakeDamage() of a new framebuffer = %v, want nil (everything)", dmg)
			}
			d, err := NewDecoder(bytes.NewReader(e.s.Bytes()), 0, fb, NativeFormat)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range pics {
				typ, err := d.ReadMessage()
				if err != nil || typ != MsgFramebufferUpdate {
					t.Fatalf("ReadMessage #%d = %d, %v, want FramebufferUpdate", i, typ, err)
				}
				diff, at, mean := maxDiff(fb, p)
				if (tc.tol == 0 && diff != 0) || mean > tc.tol {
					t.Errorf("update %d: decoded pixels differ by up to %d (at %v), %.2f on average, want <= %.1f", i, diff, at, mean, tc.tol)
				}
			}
			if _, err := d.ReadMessage(); err != io.EOF {
				t.Errorf("ReadMessage at the end = %v, want io.EOF", err)
			}
			if d.Offset() != int64(e.s.Len()) {
				t.Errorf("Offset() = %d, want %d", d.Offset(), e.s.Len())
			}
			if got := d.EncodingCounts()[tc.enc]; got == 0 {
				t.Errorf("EncodingCounts()[%s] = 0", EncodingName(tc.enc))
			}
			fb.Lock()
			if dmg := fb.TakeDamage(); len(dmg) == 0 {
				t.Errorf("TakeDamage() = %v, want the updated rectangles", dmg)
			}
			fb.Unlock()
		})
	}
}

func TestDecodePixelFormats(t *testing.T) {
	rgb565be := PixelFormat{BPP: 16, Depth: 16, BigEndian: true, TrueColour: true, RMax: 31, GMax: 63, BMax: 31, RShift: 11, GShift: 5, BShift: 0}
	bgr233 := PixelFormat{BPP: 8, Depth: 8, TrueColour: true, RMax: 7, GMax: 7, BMax: 3, RShift: 0, GShift: 3, BShift: 6}
	cmap8 := PixelFormat{BPP: 8, Depth: 8}
	tests := []struct {
		name   string
		pf     PixelFormat
		prefix []byte // messages before the update
		pixels []byte // two raw pixels
		want   [2][3]byte
	}{
		{"rgb565 big-endian", rgb565be, nil, []byte{0xf8, 0x00, 0x07, 0xe0}, [2][3]byte{{255, 0, 0}, {0, 255, 0}}},
		{"bgr233", bgr233, nil, []byte{0x07, 0xc0}, [2][3]byte{{255, 0, 0}, {0, 0, 255}}},
		{"colour map", cmap8, []byte{MsgSetColourMapEntries, 0, 0, 5, 0, 2, 0x10, 0x00, 0x20, 0x00, 0x30, 0x00, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00},
			[]byte{5, 6}, [2][3]byte{{0x10, 0x20, 0x30}, {0xff, 0x80, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s stream
			s.Write(tc.prefix)
			s.update(1)
			s.rect(image.Rect(1, 1, 3, 2), EncRaw)
			s.Write(tc.pixels)
			fb, _ := NewFramebuffer(4, 4)
			d, err := NewDecoder(bytes.NewReader(s.Bytes()), 0, fb, tc.pf)
			if err != nil {
				t.Fatal(err)
			}
			for {
				typ, err := d.ReadMessage()
				if err != nil {
					t.Fatalf("ReadMessage = %v", err)
				}
				if typ == MsgFramebufferUpdate {
					break
				}
			}
			for i := 0; i < 2; i++ {
				got := [3]byte(fb.Pix[4*(4+1+i):][:3])
				if got != tc.want[i] {
					t.Errorf("pixel %d = %v, want %v", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	hdr := func(x, y, w, h int, enc int32) []byte {
		var s stream
		s.update(1)
		s.rect(image.Rect(x, y, x+w, y+h), enc)
		return s.Bytes()
	}
	cat := func(b ...[]byte) []byte { return bytes.Join(b, nil) }
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		wantOff int64
		wantMsg string
	}{
		{"raw outside", hdr(60, 0, 10, 10, EncRaw), ErrBounds, 4, "FramebufferUpdate Raw rectangle"},
		{"raw huge", hdr(0, 0, 65535, 65535, EncRaw), ErrBounds, 4, "Raw"},
		{"empty raw outside", hdr(12336, 12336, 0, 12336, EncRaw), ErrBounds, 4, "Raw"},
		{"empty hextile outside", hdr(100, 0, 0, 0, EncHextile), ErrBounds, 4, "Hextile"},
		{"raw cut", cat(hdr(0, 0, 2, 2, EncRaw), make([]byte, 10)), io.ErrUnexpectedEOF, 4, "Raw"},
		{"copyrect source outside", cat(hdr(0, 0, 8, 8, EncCopyRect), []byte{0, 60, 0, 0}), ErrBounds, 4, "CopyRect"},
		{"rre subrect outside", cat(hdr(0, 0, 8, 8, EncRRE), []byte{0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 0, 0, 0, 5, 0, 1}), ErrBounds, 4, "RRE"},
		{"rre cut", cat(hdr(0, 0, 8, 8, EncRRE), []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}), io.ErrUnexpectedEOF, 4, "RRE"},
		{"hextile subrect outside tile", cat(hdr(0, 0, 8, 8, EncHextile), []byte{hexBackground | hexForeground | hexAnySubrect, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0x77, 0x11}), ErrBounds, 4, "Hextile"},
		{"cursor too large", hdr(0, 0, 1000, 1000, EncCursor), ErrTooLarge, 4, "Cursor"},
		{"desktop too large", hdr(0, 0, 65535, 65535, EncDesktopSize), ErrTooLarge, 4, "DesktopSize"},
		{"unknown encoding", hdr(0, 0, 1, 1, 12345), ErrUnsupported, 4, "encoding 12345"},
		{"tight bad compression", cat(hdr(0, 0, 8, 8, EncTight), []byte{0xf0}), ErrUnsupported, 4, "Tight"},
		{"tight palette index", cat(hdr(0, 0, 2, 2, EncTight), []byte{0x40, tightFilterPalette, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1, 9, 0}), ErrProtocol, 4, "Tight"},
		{"zrle bad zlib", cat(hdr(0, 0, 8, 8, EncZRLE), []byte{0, 0, 0, 4, 1, 2, 3, 4}), ErrProtocol, 4, "ZRLE"},
		{"unknown message", []byte{0, 0, 0, 0, 77}, ErrUnsupported, 4, "message type"},
		{"cut text cut", []byte{MsgServerCutText, 0, 0, 0, 0, 0, 1, 0, 'x'}, io.ErrUnexpectedEOF, 0, "ServerCutText"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb, _ := NewFramebuffer(64, 48)
			d, err := NewDecoder(bytes.NewReader(tc.in), 0, fb, NativeFormat)
			if err != nil {
				t.Fatal(err)
			}
			for err == nil {
				_, err = d.ReadMessage()
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, tc.wantErr) || pe.Offset != tc.wantOff || !bytes.Contains([]byte(err.Error()), []byte(tc.wantMsg)) {
				t.Errorf("ReadMessage(%x) = %v, want %v at byte %d naming %q", tc.in, err, tc.wantErr, tc.wantOff, tc.wantMsg)
			}
		})
	}
}

func TestVNCAuthResponse(t *testing.T) {
	// The DES key is the password with each byte's bits reversed, so
	// encrypting with crypto/des and that key by hand must agree.
	ch := []byte("0123456789abcdef")
	a := vncAuthResponse(ch, []byte("password"))
	b := vncAuthResponse(ch, []byte("password-with-more"))
	c := vncAuthResponse(ch, []byte("passwore"))
	if !bytes.Equal(a, b) {
		t.Errorf("vncAuthResponse ignores bytes after 8: got %x and %x", a, b)
	}
	if bytes.Equal(a, c) || len(a) != 16 {
		t.Errorf("vncAuthResponse(%q) = %x, want 16 bytes differing from another password's", "password", a)
	}
}
