package vp8enc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ivfWriter builds an IVF file: a 32-byte "DKIF" header, then a 12-byte
// header (size, timestamp) before every frame.
type ivfWriter struct {
	buf    bytes.Buffer
	frames int
}

func newIVF(w, h int) *ivfWriter {
	v := &ivfWriter{}
	hdr := make([]byte, 32)
	copy(hdr, "DKIF")
	binary.LittleEndian.PutUint16(hdr[4:], 0)  // version
	binary.LittleEndian.PutUint16(hdr[6:], 32) // header size
	copy(hdr[8:], "VP80")
	binary.LittleEndian.PutUint16(hdr[12:], uint16(w))
	binary.LittleEndian.PutUint16(hdr[14:], uint16(h))
	binary.LittleEndian.PutUint32(hdr[16:], 30) // time base denominator
	binary.LittleEndian.PutUint32(hdr[20:], 1)  // time base numerator
	v.buf.Write(hdr)
	return v
}

func (v *ivfWriter) add(frame []byte) {
	var h [12]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(frame)))
	binary.LittleEndian.PutUint64(h[4:], uint64(v.frames))
	v.buf.Write(h[:])
	v.buf.Write(frame)
	v.frames++
}

func (v *ivfWriter) bytes() []byte {
	b := v.buf.Bytes()
	binary.LittleEndian.PutUint32(b[24:], uint32(v.frames))
	return b
}

// rawI420 appends the visible planes of img as ffmpeg's yuv420p rawvideo.
func rawI420(dst []byte, img *image.YCbCr) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		o := img.YOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		dst = append(dst, img.Y[o:o+w]...)
	}
	for _, p := range [][]byte{img.Cb, img.Cr} {
		for y := 0; y < (h+1)/2; y++ {
			o := img.COffset(img.Rect.Min.X, img.Rect.Min.Y+2*y)
			dst = append(dst, p[o:o+(w+1)/2]...)
		}
	}
	return dst
}

// ffmpegDecode decodes an IVF file with ffmpeg into yuv420p rawvideo and
// fails the test if ffmpeg is missing or prints anything on stderr.
func ffmpegDecode(t *testing.T, ivf []byte) []byte {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (install the Debian package ffmpeg): %v", err)
	}
	path := filepath.Join(t.TempDir(), "f.ivf")
	if err := os.WriteFile(path, ivf, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-nostdin", "-v", "error", "-i", path,
		"-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("ffmpeg stderr = %q, want empty", stderr.String())
	}
	return stdout.Bytes()
}

// screenSequence returns frame i of a screen-like sequence and the
// rectangles that changed since frame i-1: static frames, typing, a moving
// block, a full change, then static again.
func screenSequence(w, h, i int) (*image.YCbCr, []image.Rectangle) {
	img := pattern("text", w, h, 0, 3)
	var hints []image.Rectangle
	// Typing: from frame 3, one 8x12 glyph per frame appears on a line.
	typed := min(max(i-2, 0), 8)
	for g := 0; g < typed; g++ {
		fillRect(img, image.Rect(4+g*9, h/2, 12+g*9, h/2+12), byte(20+g*20))
	}
	if i >= 3 && i <= 10 {
		hints = append(hints, image.Rect(4+(typed-1)*9, h/2, 12+(typed-1)*9, h/2+12))
	}
	// Moving block, frames 11..15.
	if i >= 11 && i <= 15 {
		x := (i - 11) * 7
		fillRect(img, image.Rect(x, 5, x+24, 29), 240)
		hints = append(hints, image.Rect(x-7, 5, x+24, 29))
	}
	if i == 16 {
		hints = append(hints, image.Rect(-7+4*7, 5, 24+4*7, 29)) // block disappears
	}
	// Full change at 17.., static afterwards.
	if i >= 17 {
		img = pattern("camera", w, h, 17, 3)
		if i == 17 {
			hints = []image.Rectangle{img.Rect}
		}
	}
	if hints == nil {
		hints = []image.Rectangle{}
	}
	return img, hints
}

func fillRect(img *image.YCbCr, r image.Rectangle, v byte) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Y[img.YOffset(x, y)] = v
			img.Cb[img.COffset(x, y)] = 255 - v
		}
	}
}

func TestFramesMatchFFmpeg(t *testing.T) {
	tests := []struct {
		name     string
		w, h     int
		useHints bool
		quality  int
		keyEvery int
		filter   int
	}{
		{"320x240 compare", 320, 240, false, 0, 0, 0},
		{"320x240 hints", 320, 240, true, 0, 0, 0},
		{"177x99 compare", 177, 99, false, 0, 0, 0},
		{"177x99 hints q100", 177, 99, true, 100, 0, 0},
		{"63x33 q1 keyint 7", 63, 33, false, 1, 7, 0},
		{"96x64 filter 63", 96, 64, false, 60, 0, 63},
		{"96x64 filter 20", 96, 64, true, 60, 0, 20},
		{"96x64 filter 15 keyint 5", 96, 64, false, 60, 5, 15},
		{"96x64 filter off", 96, 64, false, 60, 0, -1},
		{"1x1", 1, 1, false, 0, 0, 0},
		{"17x15 hints", 17, 15, true, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := New(tc.w, tc.h, Options{Quality: tc.quality, KeyInterval: tc.keyEvery, LoopFilter: tc.filter})
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			ivf := newIVF(tc.w, tc.h)
			var want []byte
			const n = 20
			keys := 0
			for i := 0; i < n; i++ {
				img, hints := screenSequence(tc.w, tc.h, i)
				if !tc.useHints {
					hints = nil
				}
				frame, key, err := enc.Encode(img, hints, false)
				if err != nil {
					t.Fatalf("Encode(frame %d) = %v", i, err)
				}
				if key {
					keys++
				}
				ivf.add(frame)
				want = rawI420(want, enc.Reconstruction())
				t.Logf("frame %d: key=%v %d bytes, PSNR %.2f dB", i, key, len(frame), psnr(img, enc.Reconstruction()))
			}
			wantKeys := 1
			if tc.keyEvery > 0 {
				wantKeys = (n + tc.keyEvery - 1) / tc.keyEvery
			}
			if keys != wantKeys {
				t.Errorf("key frames = %d, want %d", keys, wantKeys)
			}
			got := ffmpegDecode(t, ivf.bytes())
			if len(got) != len(want) {
				t.Fatalf("ffmpeg output = %d bytes, want %d", len(got), len(want))
			}
			frameSize := len(want) / n
			for i := 0; i < n; i++ {
				g, w := got[i*frameSize:(i+1)*frameSize], want[i*frameSize:(i+1)*frameSize]
				if !bytes.Equal(g, w) {
					t.Errorf("ffmpeg frame %d != Reconstruction(): %s", i, firstDiff(g, w))
				}
			}
		})
	}
}

func firstDiff(a, b []byte) string {
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("byte %d = %d, want %d", i, a[i], b[i])
		}
	}
	return "equal"
}
