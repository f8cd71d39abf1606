//go:build libvpx

package libvpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/vp8enc"
)

func lookPath(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (install the Debian package %s): %v", name, pkg, err)
	}
	return p
}

// encoded is one frame of a test encode.
type encoded struct {
	data  []byte
	key   bool
	recon []byte // the reconstruction as I420 bytes
}

// appendI420 appends img's visible planes, tightly packed.
func appendI420(dst []byte, img *image.YCbCr) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	for r := 0; r < h; r++ {
		dst = append(dst, img.Y[r*img.YStride:r*img.YStride+w]...)
	}
	for _, p := range [][]byte{img.Cb, img.Cr} {
		for r := 0; r < ch; r++ {
			dst = append(dst, p[r*img.CStride:r*img.CStride+cw]...)
		}
	}
	return dst
}

// encodeDemo encodes n frames of a demo scenario, forcing key frames at
// the indices in keys.
func encodeDemo(t *testing.T, w, h int, scenario string, n int, keys map[int]bool) []encoded {
	t.Helper()
	src, err := record.OpenSource("demo", record.SourceOptions{Width: w, Height: h, Scenario: scenario, Frames: n})
	if err != nil {
		t.Fatalf("OpenSource(demo) = %v", err)
	}
	defer src.Close()
	enc, err := Open(w, h, Options{Quantizer: 10, Reconstruct: true})
	if err != nil {
		t.Fatalf("Open(%dx%d) = %v", w, h, err)
	}
	defer enc.Close()
	var out []encoded
	for i := 0; ; i++ {
		f, err := src.Next(context.Background())
		if err != nil {
			break
		}
		data, key, err := enc.Encode(f.Img, f.Hints, keys[i])
		if err != nil {
			t.Fatalf("Encode(frame %d) = %v", i, err)
		}
		rec, err := enc.Reconstruction()
		if err != nil {
			t.Fatalf("Reconstruction(frame %d) = %v", i, err)
		}
		out = append(out, encoded{data: bytes.Clone(data), key: key, recon: appendI420(nil, rec)})
	}
	if len(out) != n {
		t.Fatalf("demo source gave %d frames, want %d", len(out), n)
	}
	return out
}

func writeWebM(t *testing.T, w, h int, frames []encoded) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "libvpx.webm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mw, err := mux.NewWriter(f, mux.WriterOptions{Width: w, Height: h, FrameDuration: time.Second / 15})
	if err != nil {
		t.Fatalf("mux.NewWriter() = %v", err)
	}
	for i, fr := range frames {
		if err := mw.WriteFrame(time.Duration(i)*time.Second/15, fr.key, fr.data); err != nil {
			t.Fatalf("WriteFrame(%d) = %v", i, err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatalf("mux Close() = %v", err)
	}
	return path
}

func TestFFmpegDecodes(t *testing.T) {
	ffmpeg := lookPath(t, "ffmpeg", "ffmpeg")
	tests := []struct {
		name     string
		w, h     int
		scenario string
		n        int
		keys     map[int]bool
	}{
		{"typing 384x216", 384, 216, "typing", 12, map[int]bool{6: true}},
		{"drag 256x144", 256, 144, "drag", 10, map[int]bool{3: true, 9: true}},
		{"switch 201x113 odd size", 201, 113, "switch", 8, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := encodeDemo(t, tc.w, tc.h, tc.scenario, tc.n, tc.keys)
			for i, fr := range frames {
				want := i == 0 || tc.keys[i]
				if fr.key != want {
					t.Errorf("Encode(frame %d) key = %v, want %v", i, fr.key, want)
				}
				hdr, err := mux.ParseVP8Header(fr.data, int64(len(fr.data)))
				if err != nil {
					t.Fatalf("ParseVP8Header(frame %d) = %v", i, err)
				}
				if hdr.Key != want || (want && (hdr.Width != tc.w || hdr.Height != tc.h)) {
					t.Errorf("ParseVP8Header(frame %d) = key %v %dx%d, want key %v %dx%d", i, hdr.Key, hdr.Width, hdr.Height, want, tc.w, tc.h)
				}
			}
			path := writeWebM(t, tc.w, tc.h, frames)

			var stdout, stderr bytes.Buffer
			cmd := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err != nil || stderr.Len() > 0 || stdout.Len() > 0 {
				t.Errorf("ffmpeg -v error -i %s -f null - = %v, stderr %q, stdout %q, want silence", path, err, stderr.String(), stdout.String())
			}

			stdout.Reset()
			stderr.Reset()
			cmd = exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("ffmpeg decode = %v: %s", err, stderr.String())
			}
			frameSize := tc.w*tc.h + 2*((tc.w+1)/2)*((tc.h+1)/2)
			if got := stdout.Len() / frameSize; got != tc.n || stdout.Len()%frameSize != 0 {
				t.Fatalf("ffmpeg decoded %d bytes = %d frames, want %d frames of %d bytes", stdout.Len(), got, tc.n, frameSize)
			}
			for i, fr := range frames {
				got := stdout.Bytes()[i*frameSize : (i+1)*frameSize]
				if !bytes.Equal(got, fr.recon) {
					t.Errorf("ffmpeg frame %d != Reconstruction(frame %d)", i, i)
				}
			}
		})
	}
}

// fill paints r of img's luma with v.
func fill(img *image.YCbCr, r image.Rectangle, v byte) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Y[img.YOffset(x, y)] = v
		}
	}
}

func TestActiveMap(t *testing.T) {
	const w, h = 128, 64
	box := image.Rect(32, 16, 48, 32) // exactly macroblock (2,1)
	tests := []struct {
		name        string
		hints       []image.Rectangle
		wantChanged bool // the box changes in the reconstruction
		wantOutside bool // pixels outside the box change
	}{
		{"nil hints: all active", nil, true, false},
		{"hint on the box", []image.Rectangle{box}, true, false},
		{"empty hints: nothing active", []image.Rectangle{}, false, false},
		{"hint elsewhere", []image.Rectangle{image.Rect(100, 40, 110, 50)}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := Open(w, h, Options{Quantizer: 4, Reconstruct: true})
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			defer enc.Close()
			img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
			fill(img, img.Rect, 60)
			for i := range img.Cb {
				img.Cb[i], img.Cr[i] = 128, 128
			}
			if _, _, err := enc.Encode(img, nil, false); err != nil {
				t.Fatalf("Encode(first) = %v", err)
			}
			r0, _ := enc.Reconstruction()
			before := appendI420(nil, r0)
			fill(img, box, 200)
			_, key, err := enc.Encode(img, tc.hints, false)
			if err != nil || key {
				t.Fatalf("Encode(second) = key %v, %v, want inter frame", key, err)
			}
			r1, err := enc.Reconstruction()
			if err != nil {
				t.Fatalf("Reconstruction() = %v", err)
			}
			boxY := r1.Y[r1.YOffset(40, 24)]
			changed := boxY > 150
			if changed != tc.wantChanged {
				t.Errorf("reconstructed box luma = %d (changed %v), want changed %v", boxY, changed, tc.wantChanged)
			}
			if !tc.wantChanged && !bytes.Equal(appendI420(nil, r1), before) {
				t.Errorf("reconstruction changed with the box inactive, want the previous frame")
			}
			if outside := r1.Y[r1.YOffset(100, 50)]; (outside != r0.Y[r0.YOffset(100, 50)]) != tc.wantOutside {
				t.Errorf("luma outside the box = %d, want %d", outside, 60)
			}
		})
	}
}

func TestQuantizer(t *testing.T) {
	prev := -1
	var table []int
	for q := 0; q <= MaxQuantizer; q++ {
		idx, err := QIndex(q)
		if err != nil {
			t.Fatalf("QIndex(%d) = %v", q, err)
		}
		table = append(table, idx)
		if idx <= prev {
			t.Errorf("QIndex(%d) = %d, want > QIndex(%d) = %d", q, idx, q-1, prev)
		}
		prev = idx
	}
	t.Logf("libvpx quantizer 0..63 -> q index: %v", table)
	if idx, _ := QIndex(0); idx != 0 {
		t.Errorf("QIndex(0) = %d, want 0", idx)
	}
	if idx, _ := QIndex(MaxQuantizer); idx != 127 {
		t.Errorf("QIndex(%d) = %d, want 127", MaxQuantizer, idx)
	}
	for _, quality := range []int{0, 1, 50, 80, 95, 100} {
		t.Run(fmt.Sprint("quality ", quality), func(t *testing.T) {
			q, err := QuantizerFor(quality)
			if err != nil {
				t.Fatalf("QuantizerFor(%d) = %v", quality, err)
			}
			idx, _ := QIndex(q)
			want := vp8enc.QuantizerIndex(max(quality, 1))
			if quality == 0 {
				want = vp8enc.QuantizerIndex(vp8enc.DefaultQuality)
			}
			if d := idx - want; d < -2 || d > 2 {
				t.Errorf("QIndex(QuantizerFor(%d) = %d) = %d, want %d±2", quality, q, idx, want)
			}
			// Every frame, key or inter, is coded at that index.
			enc, err := Open(320, 240, Options{Quantizer: q})
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			defer enc.Close()
			src, err := record.OpenSource("demo", record.SourceOptions{Width: 320, Height: 240, Scenario: "scroll", Frames: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			for i := 0; i < 4; i++ {
				f, err := src.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				data, _, err := enc.Encode(f.Img, f.Hints, i == 2)
				if err != nil {
					t.Fatalf("Encode(frame %d) = %v", i, err)
				}
				fq, err := ParseQuant(data)
				if err != nil {
					t.Fatalf("ParseQuant(frame %d) = %v", i, err)
				}
				if fq.Index != idx || fq.Segmentation {
					t.Errorf("ParseQuant(frame %d) = index %d, segmentation %v, want %d, false", i, fq.Index, fq.Segmentation, idx)
				}
			}
		})
	}
}

func TestQuantIndexOfVP8Enc(t *testing.T) {
	// ParseQuant reads reckit's own frames too: an independent encoder to
	// check the header reader against.
	for _, quality := range []int{1, 40, 80, 100} {
		enc, err := vp8enc.New(64, 48, vp8enc.Options{Quality: quality})
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
		for i, want := range []bool{true, false} {
			fill(img, image.Rect(0, 0, 16*(i+1), 16), byte(40*i+30))
			data, _, err := enc.Encode(img, nil, want)
			if err != nil {
				t.Fatal(err)
			}
			fq, err := ParseQuant(data)
			if err != nil {
				t.Fatalf("ParseQuant(vp8enc quality %d) = %v", quality, err)
			}
			if fq.Index != vp8enc.QuantizerIndex(quality) || fq.Key != want || fq.Deltas != [5]int{} {
				t.Errorf("ParseQuant(vp8enc quality %d frame %d) = %+v, want index %d key %v no deltas", quality, i, fq, vp8enc.QuantizerIndex(quality), want)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		q    int
		want error
	}{
		{"zero width", 0, 10, 10, ErrSize},
		{"too wide", record.MaxWidth + 1, 10, 10, ErrSize},
		{"too many pixels", 4096, 4096, 10, ErrSize},
		{"negative quantizer", 16, 16, -1, ErrQuantizer},
		{"quantizer 64", 16, 16, 64, ErrQuantizer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.w, tc.h, Options{Quantizer: tc.q})
			if !errors.Is(err, tc.want) {
				t.Errorf("Open(%d, %d, q %d) = %v, want %v", tc.w, tc.h, tc.q, err, tc.want)
			}
		})
	}
	if _, err := New(16, 16, 101); !errors.Is(err, ErrQuality) {
		t.Errorf("New(quality 101) = %v, want %v", err, ErrQuality)
	}

	enc, err := Open(32, 32, Options{Quantizer: 20})
	if err != nil {
		t.Fatal(err)
	}
	wrong := image.NewYCbCr(image.Rect(0, 0, 16, 32), image.YCbCrSubsampleRatio420)
	if _, _, err := enc.Encode(wrong, nil, false); !errors.Is(err, ErrImage) {
		t.Errorf("Encode(16x32 into 32x32) = %v, want %v", err, ErrImage)
	}
	if _, err := enc.Reconstruction(); !errors.Is(err, ErrNoReconstruction) {
		t.Errorf("Reconstruction() without Reconstruct = %v, want %v", err, ErrNoReconstruction)
	}
	img := image.NewYCbCr(image.Rect(0, 0, 32, 32), image.YCbCrSubsampleRatio420)
	if _, key, err := enc.Encode(img, nil, false); err != nil || !key {
		t.Errorf("Encode(first frame) = key %v, %v, want a key frame", key, err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if _, _, err := enc.Encode(img, nil, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close = %v, want %v", err, ErrClosed)
	}
}

// TestRecord runs the encoder through record.Record, as `reckit record
// --encoder libvpx` does, and checks the file with ffmpeg.
func TestRecord(t *testing.T) {
	ffmpeg := lookPath(t, "ffmpeg", "ffmpeg")
	src, err := record.OpenSource("demo", record.SourceOptions{Width: 320, Height: 180, Scenario: "pointer", Frames: 15})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "rec.webm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := record.Record(context.Background(), src, f, record.RecordOptions{Encoder: New, KeyframeInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Record() = %v", err)
	}
	// 15 frames at 15 fps with a key frame every 0.5 s: frames 0, 8.
	if st.Frames != 15 || st.Keyframes != 2 {
		t.Errorf("Record() = %d frames, %d key frames, want 15, 2", st.Frames, st.Keyframes)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("ffmpeg -v error -i rec.webm -f null - = %v, %q, want silence", err, stderr.String())
	}
}

// TestDeterministic encodes the same odd-sized clip twice: the padding
// beyond the picture must hold the same bytes both times (an encoder that
// read past the picture would differ).
func TestDeterministic(t *testing.T) {
	const w, h = 201, 113
	a := encodeDemo(t, w, h, "drag", 6, nil)
	b := encodeDemo(t, w, h, "drag", 6, nil)
	for i := range a {
		if !bytes.Equal(a[i].data, b[i].data) {
			t.Errorf("Encode(frame %d) differs between two runs: %d vs %d bytes", i, len(a[i].data), len(b[i].data))
		}
	}
}

// TestPadding checks the padded C input: every sample right of or below
// the picture repeats the last column or row, after a full load and after
// a hinted load that touches the corner.
func TestPadding(t *testing.T) {
	const w, h = 37, 21 // padded to 48x32, chroma 19x11 padded to 24x16
	enc, err := Open(w, h, Options{Quantizer: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for step, hints := range [][]image.Rectangle{nil, {image.Rect(30, 18, 37, 21)}} {
		for i := range img.Y {
			img.Y[i] = byte(i*7 + step)
		}
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = byte(i*3+step), byte(i*5+step)
		}
		if _, _, err := enc.Encode(img, hints, false); err != nil {
			t.Fatal(err)
		}
		for pl, src := range [][]byte{img.Y, img.Cb, img.Cr} {
			pw, ph, stride, sw, sh := 48, 32, img.YStride, w, h
			if pl > 0 {
				pw, ph, stride, sw, sh = 24, 16, img.CStride, 19, 11
			}
			in, is := enc.in[pl], enc.inStride[pl]
			// The hinted load copies only macroblocks (1,1) and (2,1).
			y0, x0 := 0, 0
			if hints != nil {
				y0, x0 = ph/2, pw/3
			}
			for y := y0; y < ph; y++ {
				for x := x0; x < pw; x++ {
					want := src[min(y, sh-1)*stride+min(x, sw-1)]
					if got := in[y*is+x]; got != want {
						t.Fatalf("step %d plane %d input(%d,%d) = %d, want %d", step, pl, x, y, got, want)
					}
				}
			}
		}
	}
}
