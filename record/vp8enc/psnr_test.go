package vp8enc

import (
	"bytes"
	"fmt"
	"image"
	"os/exec"
	"testing"
)

func TestPSNRAtDefaultQuality(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		w, h    int
		minPSNR float64
	}{
		{"text 640x360", "text", 640, 360, 40},
		{"flat 320x240", "flat", 320, 240, 40},
		{"gradient 320x240", "gradient", 320, 240, 40},
		{"camera 320x240", "camera", 320, 240, 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := New(tc.w, tc.h, Options{})
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			total := 0
			for f := 0; f < 5; f++ {
				src := pattern(tc.kind, tc.w, tc.h, f, 7)
				frame, key, err := enc.Encode(src, nil, false)
				if err != nil {
					t.Fatalf("Encode(frame %d) = %v", f, err)
				}
				total += len(frame)
				p := psnr(src, enc.Reconstruction())
				t.Logf("frame %d key=%v bytes=%d psnr=%.2f dB", f, key, len(frame), p)
				if p < tc.minPSNR {
					t.Errorf("PSNR(frame %d) = %.2f dB, want >= %.0f", f, p, tc.minPSNR)
				}
			}
			t.Logf("total %d bytes", total)
		})
	}
}

// testsrc2 returns n frames of ffmpeg's testsrc2 pattern (moving, colourful,
// camera-like) as 4:2:0 images.
func testsrc2(t *testing.T, w, h, n int) []*image.YCbCr {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (install the Debian package ffmpeg): %v", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-nostdin", "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=s=%dx%d:r=25", w, h), "-frames:v", fmt.Sprint(n),
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg testsrc2: %v: %s", err, stderr.String())
	}
	cw, ch := (w+1)/2, (h+1)/2
	size := w*h + 2*cw*ch
	raw := stdout.Bytes()
	if len(raw) != n*size {
		t.Fatalf("ffmpeg testsrc2 = %d bytes, want %d", len(raw), n*size)
	}
	imgs := make([]*image.YCbCr, n)
	for i := range imgs {
		f := raw[i*size : (i+1)*size]
		imgs[i] = &image.YCbCr{
			Y: f[:w*h], Cb: f[w*h : w*h+cw*ch], Cr: f[w*h+cw*ch:],
			YStride: w, CStride: cw,
			SubsampleRatio: image.YCbCrSubsampleRatio420,
			Rect:           image.Rect(0, 0, w, h),
		}
	}
	return imgs
}

func TestTestsrc2PSNRAndFFmpeg(t *testing.T) {
	const w, h, n = 320, 240, 12
	frames := testsrc2(t, w, h, n)
	enc, err := New(w, h, Options{})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	ivf := newIVF(w, h)
	var want []byte
	total := 0
	for i, img := range frames {
		frame, key, err := enc.Encode(img, nil, false)
		if err != nil {
			t.Fatalf("Encode(frame %d) = %v", i, err)
		}
		total += len(frame)
		ivf.add(frame)
		want = rawI420(want, enc.Reconstruction())
		p := psnr(img, enc.Reconstruction())
		t.Logf("testsrc2 frame %d: key=%v %d bytes, PSNR %.2f dB", i, key, len(frame), p)
		if p < 32 {
			t.Errorf("PSNR(testsrc2 frame %d) = %.2f dB, want >= 32", i, p)
		}
	}
	t.Logf("testsrc2 %dx%d: %d frames, %d bytes", w, h, n, total)
	got := ffmpegDecode(t, ivf.bytes())
	if !bytes.Equal(got, want) {
		t.Errorf("ffmpeg decode of testsrc2 != Reconstruction(): %s", firstDiff(got, want))
	}
}
