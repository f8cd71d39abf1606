package rfb

import (
	"bytes"
	"testing"
)

// BenchmarkDecode measures decoding one full 1920x1080 update of a
// desktop-like picture per encoding; the MB/s are of framebuffer (4 bytes
// a pixel) decoded per second.
func BenchmarkDecode(b *testing.B) {
	const w, h = 1920, 1080
	p := desktop(w, h, 7)
	for _, tc := range roundTrips {
		b.Run(tc.name, func(b *testing.B) {
			var e encoder
			e.update(p, tc.enc, tc.variant)
			in := e.s.Bytes()
			fb, _ := NewFramebuffer(w, h)
			b.SetBytes(4 * w * h)
			b.ReportMetric(float64(len(in))/(4*w*h), "wire/fb")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, err := NewDecoder(bytes.NewReader(in), 0, fb, NativeFormat)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
