package record_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/vp8enc"
)

// capturing wraps the pure-Go encoder and keeps, for every frame, the input
// and the encoder's reconstruction (both packed as yuv420p).
type capturing struct {
	enc    *vp8enc.Encoder
	inputs *[][]byte
	recons *[][]byte
}

func (c capturing) Encode(img *image.YCbCr, hints []image.Rectangle, force bool) ([]byte, bool, error) {
	f, k, err := c.enc.Encode(img, hints, force)
	if err == nil {
		*c.inputs = append(*c.inputs, pack(img))
		*c.recons = append(*c.recons, pack(c.enc.Reconstruction()))
	}
	return f, k, err
}

// pack lays out the visible planes as ffmpeg's rawvideo yuv420p does.
func pack(img *image.YCbCr) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	out := make([]byte, 0, w*h+2*cw*ch)
	for y := 0; y < h; y++ {
		o := img.YOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		out = append(out, img.Y[o:o+w]...)
	}
	for _, p := range [][]byte{img.Cb, img.Cr} {
		for y := 0; y < ch; y++ {
			o := img.COffset(img.Rect.Min.X, img.Rect.Min.Y+2*y)
			out = append(out, p[o:o+cw]...)
		}
	}
	return out
}

func psnr(a, b []byte) float64 {
	var sse float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sse += d * d
	}
	if sse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255*float64(len(a))/sse)
}

// decode runs ffmpeg's VP8 decoder over path and returns every frame as
// yuv420p plus whatever ffmpeg printed.
func decode(t *testing.T, path string, w, h int) ([][]byte, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decode %s: %v: %s", path, err, errb.String())
	}
	size := w*h + 2*((w+1)/2)*((h+1)/2)
	var frames [][]byte
	for b := out.Bytes(); len(b) >= size; b = b[size:] {
		frames = append(frames, b[:size])
	}
	return frames, errb.String()
}

// TestRecordDecodesBitExact records through the y4m and demo sources and
// checks, frame by frame, that ffmpeg decodes exactly the encoder's
// reconstruction, with the PSNR the issue requires at the default quality.
func TestRecordDecodesBitExact(t *testing.T) {
	testmedia.Require(t, "ffmpeg")
	tests := []struct {
		name    string
		spec    string
		w, h    int
		frames  int
		minPSNR float64
	}{
		{"testsrc2 y4m", "testsrc2", 320, 240, 24, 32},
		{"testsrc2 odd size", "testsrc2", 321, 241, 12, 32},
		{"demo", "demo", 640, 360, 45, 40},
		{"demo odd size", "demo", 321, 241, 20, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var src record.Source
			var err error
			if tc.spec == "demo" {
				src, err = record.OpenSource("demo", record.SourceOptions{Width: tc.w, Height: tc.h, FPS: 15, Frames: tc.frames})
			} else {
				y4m, ferr := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
					fmt.Sprintf("testsrc2=s=%dx%d:r=15", tc.w&^1+2, tc.h&^1+2), "-vf", fmt.Sprintf("scale=%d:%d", tc.w, tc.h),
					"-frames:v", fmt.Sprint(tc.frames),
					"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-").Output()
				if ferr != nil {
					t.Fatalf("ffmpeg y4m: %v", ferr)
				}
				src, err = record.OpenSource("y4m:-", record.SourceOptions{Stdin: bytes.NewReader(y4m)})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var inputs, recons [][]byte
			factory := func(w, h, q int) (record.Encoder, error) {
				e, err := vp8enc.New(w, h, vp8enc.Options{Quality: q})
				return capturing{e, &inputs, &recons}, err
			}
			path := filepath.Join(dir, "out.webm")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			st, err := record.Record(context.Background(), src, f, record.RecordOptions{Encoder: factory})
			f.Close()
			if err != nil {
				t.Fatalf("Record = %v", err)
			}
			if st.Frames != int64(tc.frames) {
				t.Fatalf("Record frames = %d, want %d", st.Frames, tc.frames)
			}
			decoded, msg := decode(t, path, tc.w, tc.h)
			if msg != "" {
				t.Errorf("ffmpeg printed %q, want nothing", msg)
			}
			if len(decoded) != tc.frames {
				t.Fatalf("ffmpeg decoded %d frames, want %d", len(decoded), tc.frames)
			}
			var sum float64
			for i := range decoded {
				if !bytes.Equal(decoded[i], recons[i]) {
					t.Fatalf("frame %d: ffmpeg's decode differs from the encoder's reconstruction", i)
				}
				sum += psnr(decoded[i], inputs[i])
			}
			if avg := sum / float64(len(decoded)); avg < tc.minPSNR {
				t.Errorf("average PSNR = %.2f dB, want >= %.0f", avg, tc.minPSNR)
			} else {
				t.Logf("%s: %d frames, %d bytes, average PSNR %.2f dB", tc.name, st.Frames, st.Bytes, avg)
			}
		})
	}
}
