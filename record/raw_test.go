package record

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRawMatchesFFmpegConversion feeds testsrc2 frames as rgba, bgra and
// rgb24 and compares our 4:2:0 conversion with ffmpeg's (swscale, BT.601
// limited range) conversion of the very same RGB bytes.
//
// Measured (ffmpeg 5.1, testsrc2 320x240 and 321x241, 15 frames, all
// three formats alike): Y max 1, mean 0.000; Cb/Cr max 20, mean 0.52 at
// 320x240 (the large ones at sharp colour edges, where swscale's chroma
// filter differs from our 2x2 box average); at 321x241 Cb/Cr max 83, mean
// 0.80, since swscale resamples 321 to 161 chroma columns with a ratio
// slightly off 2, drifting across the row. At odd sizes swscale also
// leaves the chroma of the lone last column/row at 128 (ours is that
// edge's colour), so those samples are not compared.
func TestRawMatchesFFmpegConversion(t *testing.T) {
	tests := []struct {
		name   string
		pixFmt string
		w, h   int
	}{
		{"rgba", "rgba", 320, 240},
		{"bgra", "bgra", 320, 240},
		{"rgb24", "rgb24", 320, 240},
		{"rgb24 odd", "rgb24", 321, 241},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lavfi := "testsrc2=s=320x240:r=15:d=1"
			if tc.w != 320 || tc.h != 240 {
				lavfi += ",scale=" + strconv.Itoa(tc.w) + ":" + strconv.Itoa(tc.h)
			}
			rgbData := srcFFmpeg(t, "-f", "lavfi", "-i", lavfi, "-pix_fmt", tc.pixFmt, "-f", "rawvideo", "-")
			in := filepath.Join(t.TempDir(), "in.raw")
			if err := os.WriteFile(in, rgbData, 0o644); err != nil {
				t.Fatal(err)
			}
			ref := srcFFmpeg(t, "-f", "rawvideo", "-pix_fmt", tc.pixFmt, "-s", strconv.Itoa(tc.w)+"x"+strconv.Itoa(tc.h), "-r", "15", "-i", in,
				"-pix_fmt", "yuv420p", "-f", "rawvideo", "-")
			s, err := OpenSource("raw:"+in, SourceOptions{Width: tc.w, Height: tc.h, FPS: 15, PixFmt: tc.pixFmt})
			if err != nil {
				t.Fatalf("OpenSource = %v", err)
			}
			defer s.Close()
			cw, ch := (tc.w+1)/2, (tc.h+1)/2
			fs := tc.w*tc.h + 2*cw*ch
			var maxY, maxC int
			var sumY, sumC, nY, nC int
			n := 0
			for ; ; n++ {
				f, err := s.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next after %d frames = %v", n, err)
				}
				if f.Hints != nil {
					t.Errorf("frame %d Hints = %v, want nil", n, f.Hints)
				}
				if want := time.Duration(n) * time.Second / 15; f.PTS != want {
					t.Errorf("frame %d PTS = %v, want %v", n, f.PTS, want)
				}
				fr := ref[n*fs : (n+1)*fs]
				for i, v := range f.Img.Y {
					d := srcAbsDiff(v, fr[i])
					maxY, sumY, nY = max(maxY, d), sumY+d, nY+1
				}
				for i := range f.Img.Cb {
					if (tc.w%2 == 1 && i%cw == cw-1) || (tc.h%2 == 1 && i/cw == ch-1) {
						// swscale leaves the chroma of a lone edge
						// column or row at 128; ours is that edge's colour
						continue
					}
					d1 := srcAbsDiff(f.Img.Cb[i], fr[tc.w*tc.h+i])
					d2 := srcAbsDiff(f.Img.Cr[i], fr[tc.w*tc.h+cw*ch+i])
					maxC, sumC, nC = max(maxC, d1, d2), sumC+d1+d2, nC+2
				}
			}
			if n != 15 {
				t.Fatalf("frames = %d, want 15", n)
			}
			meanY, meanC := float64(sumY)/float64(nY), float64(sumC)/float64(nC)
			t.Logf("%s %dx%d vs ffmpeg: Y max %d mean %.3f, CbCr max %d mean %.3f", tc.pixFmt, tc.w, tc.h, maxY, meanY, maxC, meanC)
			if meanY > 2 || meanC > 2 || maxY > 2 {
				t.Errorf("difference from ffmpeg: Y max %d mean %.3f, CbCr mean %.3f; want Y max <= 2, means <= 2", maxY, meanY, meanC)
			}
		})
	}
}

func srcAbsDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestRawTruncated(t *testing.T) {
	const w, h = 8, 6
	frame := w * h * 3
	tests := []struct {
		name   string
		size   int
		frames int
		msg    string
		is     error
	}{
		{"exact", 3 * frame, 3, "", io.EOF},
		{"empty", 0, 0, "", io.EOF},
		{"short last frame", 2*frame + 100, 2, "raw: frame 2 at byte 288: short frame (got 100 of 144 bytes)", ErrShortFrame},
		{"one byte", 1, 0, "raw: frame 0 at byte 0: short frame (got 1 of 144 bytes)", ErrShortFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewRawSource(bytes.NewReader(make([]byte, tc.size)), "raw:-", SourceOptions{Width: w, Height: h, FPS: 10, PixFmt: "rgb24"})
			if err != nil {
				t.Fatal(err)
			}
			n, err := srcReadAll(t, s)
			if n != tc.frames || !errors.Is(err, tc.is) {
				t.Fatalf("%d bytes: %d frames, %v; want %d, %v", tc.size, n, err, tc.frames, tc.is)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("%d bytes: error %q, want %q", tc.size, err, tc.msg)
			}
			if _, again := s.Next(context.Background()); again != err {
				t.Errorf("Next after the error = %v, want the same %v", again, err)
			}
		})
	}
}

func TestRawInfo(t *testing.T) {
	tests := []struct {
		fps      float64
		num, den int
		pts3     time.Duration
	}{
		{15, 15, 1, 200 * time.Millisecond},
		{29.97, 30000, 1001, 100100 * time.Microsecond},
		{2.5, 5, 2, 1200 * time.Millisecond},
	}
	for _, tc := range tests {
		s, err := NewRawSource(bytes.NewReader(make([]byte, 4*4*4*4)), "raw:x", SourceOptions{Width: 4, Height: 4, FPS: tc.fps})
		if err != nil {
			t.Fatal(err)
		}
		info := s.Info()
		if info.FPSNum != tc.num || info.FPSDen != tc.den || info.Width != 4 || info.Height != 4 || info.Name != "raw:x" {
			t.Errorf("Info(fps %v) = %+v, want 4x4 at %d/%d named raw:x", tc.fps, info, tc.num, tc.den)
		}
		var f Frame
		for i := 0; i < 4; i++ {
			if f, err = s.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if f.PTS != tc.pts3 {
			t.Errorf("fps %v: PTS of frame 3 = %v, want %v", tc.fps, f.PTS, tc.pts3)
		}
	}
}
