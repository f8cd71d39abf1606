package record

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// srcY4M makes a y4m stream with ffmpeg from the lavfi graph src.
func srcY4M(t testing.TB, src, pixFmt string) []byte {
	t.Helper()
	return srcFFmpeg(t, "-f", "lavfi", "-i", src, "-pix_fmt", pixFmt, "-strict", "-1", "-f", "yuv4mpegpipe", "-")
}

// srcRawPlanes makes the same frames as raw planes in pixFmt.
func srcRawPlanes(t testing.TB, src, pixFmt string) []byte {
	t.Helper()
	return srcFFmpeg(t, "-f", "lavfi", "-i", src, "-pix_fmt", pixFmt, "-f", "rawvideo", "-")
}

func TestY4MMatchesFFmpegPlanes(t *testing.T) {
	tests := []struct {
		name    string
		lavfi   string
		pixFmt  string // written to the y4m stream
		w, h    int
		frames  int
		space   string // expected C tag in the header
		compare string // ffmpeg rawvideo format of the reference planes; limited: ffmpeg's yuv420p conversion of the y4m stream, within ±1
	}{
		{"420 320x240", "testsrc2=s=320x240:r=15:d=1", "yuv420p", 320, 240, 15, "C420", "yuv420p"},
		{"420 odd 321x241", "testsrc2=s=320x240:r=15:d=1,scale=321:241", "yuv420p", 321, 241, 15, "C420", "yuv420p"},
		{"420 full range", "testsrc2=s=64x48:r=5:d=1", "yuvj420p", 64, 48, 5, "XCOLORRANGE=FULL", "limited"},
		{"444 odd", "testsrc2=s=320x240:r=15:d=1,scale=321:241", "yuv444p", 321, 241, 15, "C444", "yuv444p"},
		{"mono", "testsrc2=s=96x32:r=15:d=1,scale=97:33", "gray", 97, 33, 15, "Cmono", "limited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := srcY4M(t, tc.lavfi, tc.pixFmt)
			hdr, _, _ := bytes.Cut(data, []byte("\n"))
			if !bytes.Contains(hdr, []byte(" "+tc.space)) {
				t.Fatalf("ffmpeg header %q lacks %s", hdr, tc.space)
			}
			var ref []byte
			if tc.compare == "limited" {
				in := filepath.Join(t.TempDir(), "in.y4m")
				if err := os.WriteFile(in, data, 0o644); err != nil {
					t.Fatal(err)
				}
				ref = srcFFmpeg(t, "-i", in, "-vf", "scale=out_range=tv", "-pix_fmt", "yuv420p", "-f", "rawvideo", "-")
			} else {
				ref = srcRawPlanes(t, tc.lavfi, tc.compare)
			}
			s, err := NewY4MSource(bytes.NewReader(data), "y4m:test")
			if err != nil {
				t.Fatalf("NewY4MSource = %v", err)
			}
			info := s.Info()
			if info.Width != tc.w || info.Height != tc.h || info.FPSDen != 1 || info.FPS != float64(tc.frames) {
				t.Errorf("Info() = %+v, want %dx%d at %d/1", info, tc.w, tc.h, tc.frames)
			}
			cw, ch := (tc.w+1)/2, (tc.h+1)/2
			n := 0
			for ; ; n++ {
				f, err := s.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next after %d frames = %v", n, err)
				}
				if want := time.Duration(n) * time.Second / time.Duration(tc.frames); f.PTS != want {
					t.Errorf("frame %d PTS = %v, want %v", n, f.PTS, want)
				}
				if f.Hints != nil {
					t.Errorf("frame %d Hints = %v, want nil", n, f.Hints)
				}
				if f.Img.Rect != image.Rect(0, 0, tc.w, tc.h) || f.Img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
					t.Fatalf("frame %d image %v %v, want %dx%d 4:2:0", n, f.Img.Rect, f.Img.SubsampleRatio, tc.w, tc.h)
				}
				var wantY, wantCb, wantCr []byte
				switch tc.compare {
				case "yuv420p", "limited":
					fs := tc.w*tc.h + 2*cw*ch
					fr := ref[n*fs : (n+1)*fs]
					wantY, wantCb, wantCr = fr[:tc.w*tc.h], fr[tc.w*tc.h:tc.w*tc.h+cw*ch], fr[tc.w*tc.h+cw*ch:]
				case "yuv444p":
					fs := 3 * tc.w * tc.h
					fr := ref[n*fs : (n+1)*fs]
					wantY = fr[:tc.w*tc.h]
					wantCb = srcAverage2x2(fr[tc.w*tc.h:2*tc.w*tc.h], tc.w, tc.h)
					wantCr = srcAverage2x2(fr[2*tc.w*tc.h:], tc.w, tc.h)
				}
				if tc.compare == "limited" {
					for i, p := range [][2][]byte{{f.Img.Y, wantY}, {f.Img.Cb, wantCb}, {f.Img.Cr, wantCr}} {
						if d := srcMaxDiff(p[0], p[1]); d > 1 {
							t.Fatalf("frame %d plane %d: max difference from ffmpeg's range conversion = %d, want <= 1", n, i, d)
						}
					}
					continue
				}
				if !bytes.Equal(f.Img.Y, wantY) {
					t.Fatalf("frame %d: Y plane differs from ffmpeg's %s planes", n, tc.compare)
				}
				if !bytes.Equal(f.Img.Cb, wantCb) || !bytes.Equal(f.Img.Cr, wantCr) {
					t.Fatalf("frame %d: chroma planes differ from ffmpeg's %s planes", n, tc.compare)
				}
			}
			if n != tc.frames {
				t.Errorf("read %d frames, want %d", n, tc.frames)
			}
		})
	}
}

func srcMaxDiff(a, b []byte) int {
	if len(a) != len(b) {
		return 256
	}
	m := 0
	for i := range a {
		m = max(m, int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return m
}

// srcAverage2x2 is the reference 4:4:4 -> 4:2:0 reduction: the rounded
// mean of each 2x2 block, edge blocks using the samples they have.
func srcAverage2x2(p []byte, w, h int) []byte {
	cw, ch := (w+1)/2, (h+1)/2
	out := make([]byte, cw*ch)
	for cy := 0; cy < ch; cy++ {
		for cx := 0; cx < cw; cx++ {
			sum, n := 0, 0
			for y := 2 * cy; y < min(2*cy+2, h); y++ {
				for x := 2 * cx; x < min(2*cx+2, w); x++ {
					sum += int(p[y*w+x])
					n++
				}
			}
			out[cy*cw+cx] = byte((sum + n/2) / n)
		}
	}
	return out
}

func TestY4MConcatenated(t *testing.T) {
	a := srcY4M(t, "testsrc2=s=320x240:r=15:d=1", "yuv420p")
	b := srcY4M(t, "testsrc2=s=160x90:r=10:d=1", "yuv420p")
	c := srcY4M(t, "testsrc2=s=32x16:r=25:d=0.2,scale=33:17", "yuv444p")
	s, err := NewY4MSource(io.MultiReader(bytes.NewReader(a), bytes.NewReader(b), bytes.NewReader(c)), "y4m:-")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		w, h, num, den int
		pts            time.Duration
	}
	var got []want
	for {
		f, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d frames = %v", len(got), err)
		}
		i := s.Info()
		if f.Img.Rect.Dx() != i.Width || f.Img.Rect.Dy() != i.Height {
			t.Fatalf("frame %d is %v but Info says %dx%d", len(got), f.Img.Rect, i.Width, i.Height)
		}
		got = append(got, want{i.Width, i.Height, i.FPSNum, i.FPSDen, f.PTS})
	}
	if len(got) != 15+10+5 {
		t.Fatalf("frames = %d, want 30", len(got))
	}
	tests := []struct {
		frame int
		want  want
	}{
		{0, want{320, 240, 15, 1, 0}},
		{14, want{320, 240, 15, 1, 14 * time.Second / 15}},
		{15, want{160, 90, 10, 1, time.Second}},
		{16, want{160, 90, 10, 1, 1100 * time.Millisecond}},
		{24, want{160, 90, 10, 1, 1900 * time.Millisecond}},
		{25, want{33, 17, 25, 1, 2 * time.Second}},
		{29, want{33, 17, 25, 1, 2160 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("frame ", tc.frame), func(t *testing.T) {
			if got[tc.frame] != tc.want {
				t.Errorf("frame %d = %+v, want %+v", tc.frame, got[tc.frame], tc.want)
			}
		})
	}
}

func TestY4MTruncated(t *testing.T) {
	data := srcY4M(t, "testsrc2=s=320x240:r=15:d=1", "yuv420p")
	hdrLen := bytes.IndexByte(data, '\n') + 1
	const frameData = 320*240 + 2*160*120
	frameAt := func(i int) int { return hdrLen + i*(len("FRAME\n")+frameData) }
	if len(data) != frameAt(15) {
		t.Fatalf("ffmpeg stream is %d bytes, want %d (FRAME lines with parameters?)", len(data), frameAt(15))
	}
	tests := []struct {
		name   string
		cut    int
		frames int
		msg    string
		is     error
	}{
		{"inside frame data", frameAt(5) + 1000, 5, fmt.Sprintf("y4m: frame 5 at byte %d: short frame (got 994 of 115200 bytes)", frameAt(5)), ErrShortFrame},
		{"inside FRAME line", frameAt(12) + 3, 12, fmt.Sprintf("y4m: frame 12 at byte %d: input ends inside a line (\"FRA\")", frameAt(12)), ErrShortFrame},
		{"after FRAME line", frameAt(1) + 6, 1, fmt.Sprintf("y4m: frame 1 at byte %d: short frame (got 0 of 115200 bytes)", frameAt(1)), ErrShortFrame},
		{"at frame boundary", frameAt(7), 7, "", io.EOF},
		{"inside header", 10, 0, "y4m: header at byte 0: input ends inside a line (\"YUV4MPEG2 \")", ErrBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewY4MSource(bytes.NewReader(data[:tc.cut]), "y4m:-")
			n := 0
			if err == nil {
				n, err = srcReadAll(t, s)
				if _, again := s.Next(context.Background()); again != err {
					t.Errorf("Next after the error = %v, want the same %v", again, err)
				}
			}
			if n != tc.frames || !errors.Is(err, tc.is) {
				t.Fatalf("cut at %d: %d frames, %v; want %d frames, %v", tc.cut, n, err, tc.frames, tc.is)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("cut at %d: error %q, want %q", tc.cut, err, tc.msg)
			}
			var se *StreamError
			if tc.is != io.EOF && !errors.As(err, &se) {
				t.Errorf("cut at %d: error %T, want *StreamError", tc.cut, err)
			}
		})
	}
}

func TestY4MBadInput(t *testing.T) {
	tests := []struct {
		name  string
		input string
		is    error
		msg   string // substring of the error
	}{
		{"empty", "", ErrBadHeader, "empty input"},
		{"garbage", "\x89PNG\r\n\x1a\n", ErrBadHeader, "not a YUV4MPEG2 header"},
		{"no size", "YUV4MPEG2 F15:1\n", ErrBadHeader, "missing or bad size"},
		{"zero size", "YUV4MPEG2 W0 H10\n", ErrBadHeader, "W0 H10"},
		{"bad width", "YUV4MPEG2 Wabc H10\n", ErrBadHeader, `"Wabc"`},
		{"absurd size", "YUV4MPEG2 W100000 H100000\n", ErrTooLarge, "100000x100000"},
		{"too many pixels", "YUV4MPEG2 W4096 H4096\n", ErrTooLarge, "4096x4096"},
		{"overflowing size", "YUV4MPEG2 W9223372036854775807 H9223372036854775807\n", ErrTooLarge, "exceeds"},
		{"negative rate", "YUV4MPEG2 W4 H4 F-1:1\n", ErrBadHeader, `"F-1:1"`},
		{"zero rate", "YUV4MPEG2 W4 H4 F15:0\n", ErrBadHeader, `"F15:0"`},
		{"422", "YUV4MPEG2 W4 H4 C422\n", ErrUnsupported, `unsupported colour space "422"`},
		{"10 bit", "YUV4MPEG2 W4 H4 C420p10 XYSCSS=420P10\n", ErrUnsupported, `"420p10"`},
		{"long header", "YUV4MPEG2 W4 H4 X" + strings.Repeat("x", 5000) + "\n", ErrBadHeader, "longer than 4096"},
		{"endless header", "YUV4MPEG2 W4 H4 X" + strings.Repeat("x", 100000), ErrBadHeader, "longer than 4096"},
		{"bad frame marker", "YUV4MPEG2 W2 H2\nFRAME\n012345FRAMEX\n", ErrBadFrame, `frame 1 at byte 28: want FRAME or YUV4MPEG2, got "FRAMEX"`},
		{"bad second header", "YUV4MPEG2 W2 H2\nFRAME\n012345YUV4MPEG2 W2 H2 C411\n", ErrUnsupported, `header at byte 28`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewY4MSource(strings.NewReader(tc.input), "y4m:-")
			if err == nil {
				_, err = srcReadAll(t, s)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Errorf("y4m(%.40q) error = %v, want %v containing %q", tc.input, err, tc.is, tc.msg)
			}
		})
	}
}

// TestY4MBoundedAllocation: a header claiming the largest picture followed
// by a few bytes must not allocate a whole frame.
func TestY4MBoundedAllocation(t *testing.T) {
	input := "YUV4MPEG2 W4096 H2304 F30:1\nFRAME\n" + strings.Repeat("y", 100)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := NewY4MSource(strings.NewReader(input), "y4m:-")
	if err != nil {
		t.Fatal(err)
	}
	n, err := srcReadAll(t, s)
	runtime.ReadMemStats(&after)
	if n != 0 || !errors.Is(err, ErrShortFrame) {
		t.Fatalf("frames = %d, %v, want 0, ErrShortFrame", n, err)
	}
	const frame = 4096 * 2304 * 3 / 2
	if got := after.TotalAlloc - before.TotalAlloc; got > 512<<10 {
		t.Errorf("allocated %d bytes for a 100-byte frame, want <= 512 KiB (a frame is %d)", got, frame)
	}
}

func TestY4MSteadyStateAllocs(t *testing.T) {
	for _, pix := range []string{"yuv420p", "yuv444p", "gray"} {
		t.Run(pix, func(t *testing.T) {
			data := srcY4M(t, "testsrc2=s=64x48:r=15:d=1", pix)
			s, err := NewY4MSource(bytes.NewReader(data), "y4m:-")
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := s.Next(ctx); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(10, func() {
				if _, err := s.Next(ctx); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("allocations per Next = %v, want 0", allocs)
			}
		})
	}
}

var updateY4MSeeds = flag.Bool("update-y4m-seeds", false, "rewrite testdata/fuzz/FuzzY4M from ffmpeg output")

// srcY4MSeeds are the fuzz seeds: small real ffmpeg streams, whole and cut.
func srcY4MSeeds(t testing.TB) map[string][]byte {
	a := srcY4M(t, "testsrc2=s=16x8:r=5:d=0.4", "yuv420p")
	b := srcY4M(t, "testsrc2=s=8x6:r=25:d=0.08,scale=9:7", "yuv444p")
	c := srcY4M(t, "testsrc2=s=4x2:r=30000/1001:d=0.07,scale=5:3", "gray")
	return map[string][]byte{
		"valid-420":    a,
		"valid-444":    b,
		"valid-mono":   c,
		"valid-concat": append(append(append([]byte{}, a...), b...), c...),
		"cut-420":      a[:len(a)-50],
		"cut-444":      b[:len(b)-20],
	}
}

// TestY4MFuzzSeeds checks the committed seed corpus: every valid-* seed
// reads to io.EOF and every cut-* seed ends in ErrShortFrame after at
// least one frame. -update-y4m-seeds regenerates it with ffmpeg.
func TestY4MFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzY4M")
	if *updateY4MSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range srcY4MSeeds(t) {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < 6 {
		t.Fatalf("seed corpus %s: %d files, %v; want 6 (run go test -run TestY4MFuzzSeeds -update-y4m-seeds)", dir, len(entries), err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			body, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n[]byte(")
			body, ok2 := strings.CutSuffix(body, ")\n")
			data, err := strconv.Unquote(body)
			if !ok || !ok2 || err != nil {
				t.Fatalf("seed %s is not a go test fuzz v1 []byte file: %v", e.Name(), err)
			}
			s, err := NewY4MSource(strings.NewReader(data), "seed")
			if err != nil {
				t.Fatalf("seed %s: NewY4MSource = %v", e.Name(), err)
			}
			n, err := srcReadAll(t, s)
			switch {
			case strings.HasPrefix(e.Name(), "valid-"):
				if n == 0 || err != io.EOF {
					t.Errorf("seed %s: %d frames, %v; want > 0 frames, io.EOF", e.Name(), n, err)
				}
			case strings.HasPrefix(e.Name(), "cut-"):
				if n == 0 || !errors.Is(err, ErrShortFrame) {
					t.Errorf("seed %s: %d frames, %v; want > 0 frames, ErrShortFrame", e.Name(), n, err)
				}
			}
		})
	}
}

// FuzzY4M: no panic, frames consistent with Info, errors typed, and
// allocation bounded by the input (plus the fixed buffers).
func FuzzY4M(f *testing.F) {
	for _, data := range srcY4MSeeds(f) {
		f.Add(data)
	}
	f.Add([]byte("YUV4MPEG2 W4096 H2304\nFRAME\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewY4MSource(bytes.NewReader(data), "fuzz")
		if err != nil {
			var se *StreamError
			if !errors.As(err, &se) {
				t.Fatalf("NewY4MSource error %T %v, want *StreamError", err, err)
			}
			return
		}
		for i := 0; i < 64; i++ {
			fr, err := s.Next(context.Background())
			if err == io.EOF {
				return
			}
			if err != nil {
				var se *StreamError
				if !errors.As(err, &se) || se.Frame != i && se.Frame != -1 {
					t.Fatalf("frame %d: error %v, want *StreamError naming frame %d", i, err, i)
				}
				return
			}
			info := s.Info()
			if fr.Img.Rect.Dx() != info.Width || fr.Img.Rect.Dy() != info.Height {
				t.Fatalf("frame %d is %v, Info %dx%d", i, fr.Img.Rect, info.Width, info.Height)
			}
			if len(s.buf) > len(data) {
				t.Fatalf("buffer %d bytes for %d bytes of input", len(s.buf), len(data))
			}
		}
	})
}

// TestY4MColourSpaceTags: every 4:2:0 tag, and none, reads the same planes.
func TestY4MColourSpaceTags(t *testing.T) {
	data := srcY4M(t, "testsrc2=s=64x48:r=5:d=1", "yuv420p")
	hdr, body, _ := bytes.Cut(data, []byte("\n"))
	var kept []string
	for _, f := range strings.Fields(string(hdr)) {
		if !strings.HasPrefix(f, "C") && !strings.HasPrefix(f, "X") {
			kept = append(kept, f)
		}
	}
	ref, err := NewY4MSource(bytes.NewReader(data), "ref")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"", "C420", "C420jpeg", "C420mpeg2", "C420paldv"} {
		t.Run("tag "+tag, func(t *testing.T) {
			h := strings.Join(append(append([]string{}, kept...), tag), " ")
			in := append([]byte(strings.TrimSpace(h)+"\n"), body...)
			s, err := NewY4MSource(bytes.NewReader(in), "y4m:-")
			if err != nil {
				t.Fatalf("header %q: %v", h, err)
			}
			f, err := s.Next(context.Background())
			if err != nil {
				t.Fatalf("header %q: Next = %v", h, err)
			}
			if !bytes.Equal(f.Img.Y, want.Img.Y) || !bytes.Equal(f.Img.Cb, want.Img.Cb) || !bytes.Equal(f.Img.Cr, want.Img.Cr) {
				t.Errorf("header %q: first frame differs from the C420jpeg reading", h)
			}
			if n, err := srcReadAll(t, s); n != 4 || err != io.EOF {
				t.Errorf("header %q: %d more frames, %v; want 4, io.EOF", h, n, err)
			}
		})
	}
}
