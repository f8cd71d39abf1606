package vp8enc

import (
	"image"
	"testing"
)

// FuzzEncode encodes a key frame of fuzzed size, quality and content,
// checks that golang.org/x/image/vp8 decodes it to exactly
// Reconstruction(), then encodes an inter frame (no panic, no error).
func FuzzEncode(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), []byte{0})
	f.Add(uint8(16), uint8(16), uint8(80), []byte{0, 255, 0, 255, 7, 200})
	f.Add(uint8(17), uint8(15), uint8(1), []byte("text-like content 0123456789"))
	f.Add(uint8(63), uint8(5), uint8(100), []byte{128, 1, 254, 3, 90})
	f.Fuzz(func(t *testing.T, w8, h8, q8 uint8, data []byte) {
		w, h := int(w8)%64+1, int(h8)%64+1
		quality := int(q8) % 101
		if len(data) == 0 {
			data = []byte{0}
		}
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		for i := range img.Y {
			img.Y[i] = data[i%len(data)] ^ byte(i*7)
		}
		for i := range img.Cb {
			img.Cb[i] = data[(i+1)%len(data)]
			img.Cr[i] = data[(i+2)%len(data)] + byte(i)
		}
		enc, err := New(w, h, Options{Quality: quality})
		if err != nil {
			t.Fatalf("New(%d, %d, %d) = %v", w, h, quality, err)
		}
		frame, key, err := enc.Encode(img, nil, false)
		if err != nil || !key {
			t.Fatalf("Encode() = key %v, err %v, want true, nil", key, err)
		}
		if d := diffYCbCr(decodeKey(t, frame), enc.Reconstruction()); d != "" {
			t.Fatalf("decode(Encode(%dx%d q%d)) != Reconstruction(): %s", w, h, quality, d)
		}
		for i := range img.Y {
			if data[i%len(data)]&1 == 0 {
				img.Y[i] = ^img.Y[i]
			}
		}
		if _, key, err := enc.Encode(img, nil, false); err != nil || key {
			t.Fatalf("Encode(second) = key %v, err %v, want false, nil", key, err)
		}
	})
}
