package rfb

import (
	"bytes"
	"errors"
	"image"
	"net"
	"testing"
	"time"
)

// FuzzDecoder feeds arbitrary server streams to a Decoder: it must never
// panic, never read past a cap, and stop with an error or io.EOF.
func FuzzDecoder(f *testing.F) {
	small := desktop(40, 30, 3)
	for _, tc := range roundTrips {
		var e encoder
		e.update(small, tc.enc, tc.variant)
		f.Add(e.s.Bytes())
	}
	var s stream
	s.update(4)
	s.rect(image.Rect(0, 0, 50, 40), EncDesktopSize)
	s.rect(image.Rect(2, 3, 2, 2), EncCursor)
	s.Write([]byte{1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 1, 2, 3, 0, 0xc0, 0x40})
	s.rect(image.Rect(0, 0, 1, 1), EncExtendedDesktopSize)
	s.Write(make([]byte, 4+16))
	s.rect(image.Rect(0, 0, 0, 0), EncLastRect)
	s.Write([]byte{MsgBell, MsgServerCutText, 0, 0, 0, 0, 0, 0, 2, 'h', 'i', MsgSetColourMapEntries, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6})
	f.Add(s.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		fb, _ := NewFramebuffer(40, 30)
		fb.MaxPixels = 256 * 256
		d, err := NewDecoder(bytes.NewReader(in), 0, fb, NativeFormat)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			if _, err = d.ReadMessage(); err != nil {
				break
			}
		}
		fb.Lock()
		defer fb.Unlock()
		if len(fb.Pix) != 4*fb.W*fb.H {
			t.Fatalf("framebuffer %dx%d with %d bytes", fb.W, fb.H, len(fb.Pix))
		}
		for _, r := range fb.Damage {
			if !r.In(fb.Bounds()) {
				t.Fatalf("damage %v outside %v", r, fb.Bounds())
			}
		}
	})
}

// FuzzProxyViewer feeds arbitrary viewer streams to a proxy's viewer
// loop: no panic, and what reaches the server is whole messages.
func FuzzProxyViewer(f *testing.F) {
	pf := NativeFormat.Marshal()
	f.Add(append([]byte{MsgSetPixelFormat, 0, 0, 0}, pf[:]...))
	f.Add([]byte{MsgSetEncodings, 0, 0, 3, 0, 0, 0, 7, 0xff, 0xff, 0xfe, 0xc6, 0, 0, 0, 16})
	f.Add([]byte{MsgFramebufferUpdateRequest, 1, 0, 0, 0, 0, 0, 10, 0, 10, MsgKeyEvent, 1, 0, 0, 0, 0, 0, 0x61, MsgPointerEvent, 0, 0, 5, 0, 6})
	f.Add([]byte{MsgClientCutText, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c', MsgSetDesktopSize, 0, 0, 100, 0, 100, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		vc, vp := net.Pipe()
		sc, sp := net.Pipe()
		defer vc.Close()
		defer sp.Close()
		p := NewProxySession(vp, sc)
		p.fb, _ = NewFramebuffer(40, 30)
		p.dec, _ = NewDecoder(bytes.NewReader(nil), 0, p.fb, NativeFormat)
		got := make(chan []byte, 1)
		go func() {
			var b bytes.Buffer
			buf := make([]byte, 4096)
			for {
				sp.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, err := sp.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					got <- b.Bytes()
					return
				}
			}
		}()
		done := make(chan error, 1)
		go func() { done <- p.viewerLoop() }()
		go func() { vc.Write(in); vc.Close() }()
		err := <-done
		p.Close()
		out := <-got
		if err == nil {
			t.Fatal("viewerLoop returned nil at the end of the stream")
		}
		var pe *ProtocolError
		if errors.As(err, &pe) && pe.Offset > int64(len(in)) {
			t.Fatalf("error offset %d past the input's %d bytes", pe.Offset, len(in))
		}
		if len(out) > len(in) {
			t.Fatalf("forwarded %d bytes for %d in", len(out), len(in))
		}
	})
}

// FuzzClientHandshake plays arbitrary bytes as a server's side of the
// handshake: NewClient must fail or succeed without panicking, and
// allocate only what the caps allow.
func FuzzClientHandshake(f *testing.F) {
	si := func(name string) []byte {
		pf := NativeFormat.Marshal()
		b := append([]byte{0, 40, 0, 30}, pf[:]...)
		b = append(b, 0, 0, 0, byte(len(name)))
		return append(b, name...)
	}
	f.Add(append([]byte("RFB 003.008\n\x01\x01\x00\x00\x00\x00"), si("desk")...))
	f.Add(append([]byte("RFB 003.003\n\x00\x00\x00\x01"), si("old")...))
	f.Add(append(append([]byte("RFB 003.007\n\x01\x02"), make([]byte, 16)...), append([]byte{0, 0, 0, 0}, si("auth")...)...))
	f.Add([]byte("RFB 003.008\n\x00\x00\x00\x00\x05nope!"))
	f.Add([]byte("RFB 003.008\n\x01\x13\x00\x02\x00\x01\x00\x00\x01\x04"))
	f.Add([]byte("RFB 003.008\n\x01\x01\x00\x00\x00\x01\x00\x00\x00\x03bad"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cc, sc := net.Pipe()
		defer sc.Close()
		go func() {
			sc.SetDeadline(time.Now().Add(2 * time.Second))
			go func() {
				buf := make([]byte, 1024)
				for {
					if _, err := sc.Read(buf); err != nil {
						return
					}
				}
			}()
			sc.Write(in)
			sc.Close()
		}()
		cc.SetDeadline(time.Now().Add(2 * time.Second))
		c, err := NewClient(cc, Config{Password: []byte("pw")})
		if err == nil {
			c.FB.Lock()
			w, h := c.FB.W, c.FB.H
			c.FB.Unlock()
			if w <= 0 || h <= 0 || w > MaxWidth || h > MaxHeight {
				t.Fatalf("accepted framebuffer %dx%d", w, h)
			}
			c.Close()
		} else {
			cc.Close()
		}
	})
}
