package record

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var srcFFmpegCache sync.Map // args joined by NUL -> stdout

// srcFFmpeg runs ffmpeg with args and returns its stdout, which the caller
// must not modify (outputs are cached: the inputs are deterministic). A
// missing ffmpeg fails the test: it is a required test peer.
func srcFFmpeg(t testing.TB, args ...string) []byte {
	t.Helper()
	key := strings.Join(args, "\x00")
	if out, ok := srcFFmpegCache.Load(key); ok {
		return out.([]byte)
	}
	path, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found: install the Debian package ffmpeg (%v)", err)
	}
	cmd := exec.Command(path, append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	srcFFmpegCache.Store(key, stdout.Bytes())
	return stdout.Bytes()
}

// srcReadAll reads frames until an error, returning how many frames came
// before it.
func srcReadAll(t testing.TB, s Source) (int, error) {
	t.Helper()
	n := 0
	for {
		if _, err := s.Next(context.Background()); err != nil {
			return n, err
		}
		n++
	}
}

func TestOpenSourceErrors(t *testing.T) {
	tests := []struct {
		name string
		spec string
		opts SourceOptions
		want error
	}{
		{"unknown scheme", "webcam:0", SourceOptions{}, ErrUnknownSource},
		{"empty spec", "", SourceOptions{}, ErrUnknownSource},
		{"demo with argument", "demo:x", SourceOptions{}, ErrUnknownSource},
		{"y4m without path", "y4m:", SourceOptions{}, ErrBadOption},
		{"y4m bare", "y4m", SourceOptions{}, ErrBadOption},
		{"y4m stdin missing", "y4m:-", SourceOptions{}, ErrBadOption},
		{"raw stdin missing", "raw:-", SourceOptions{Width: 2, Height: 2, FPS: 1}, ErrBadOption},
		{"y4m missing file", "y4m:" + filepath.Join(t.TempDir(), "nope.y4m"), SourceOptions{}, fs.ErrNotExist},
		{"raw without size", "raw:-", SourceOptions{Stdin: strings.NewReader(""), FPS: 15}, ErrBadOption},
		{"raw huge", "raw:-", SourceOptions{Stdin: strings.NewReader(""), Width: 8192, Height: 8192, FPS: 15}, ErrTooLarge},
		{"raw without fps", "raw:-", SourceOptions{Stdin: strings.NewReader(""), Width: 4, Height: 4}, ErrBadOption},
		{"raw bad pixfmt", "raw:-", SourceOptions{Stdin: strings.NewReader(""), Width: 4, Height: 4, FPS: 15, PixFmt: "yuv420p"}, ErrBadOption},
		{"demo bad scenario", "demo", SourceOptions{Scenario: "juggle"}, ErrBadOption},
		{"demo bad fps", "demo", SourceOptions{FPS: -1}, ErrBadOption},
		{"negative frames", "demo", SourceOptions{Frames: -1}, ErrBadOption},
		{"y4m garbage stdin", "y4m:-", SourceOptions{Stdin: strings.NewReader("GIF89a\n")}, ErrBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSource(tc.spec, tc.opts)
			if !errors.Is(err, tc.want) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("OpenSource(%q) error = %v, want %v", tc.spec, err, tc.want)
			}
			if s != nil {
				t.Errorf("OpenSource(%q) returned a source with error %v", tc.spec, err)
			}
		})
	}
}

func TestOpenSourceFileAndFrames(t *testing.T) {
	data := srcFFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=1", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-")
	path := filepath.Join(t.TempDir(), "in.y4m")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		spec   string
		opts   SourceOptions
		frames int
	}{
		{"file", "y4m:" + path, SourceOptions{}, 10},
		{"stdin", "y4m:-", SourceOptions{Stdin: bytes.NewReader(data)}, 10},
		{"file limited", "y4m:" + path, SourceOptions{Frames: 4}, 4},
		{"demo limited", "demo", SourceOptions{Width: 64, Height: 48, Frames: 3}, 3},
		{"raw limited", "raw:-", SourceOptions{Stdin: bytes.NewReader(make([]byte, 5*4*4*3)), Width: 4, Height: 4, FPS: 5, PixFmt: "rgb24", Frames: 2}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSource(tc.spec, tc.opts)
			if err != nil {
				t.Fatalf("OpenSource(%q) = %v", tc.spec, err)
			}
			n, err := srcReadAll(t, s)
			if err != io.EOF || n != tc.frames {
				t.Errorf("frames of %s = %d, %v, want %d, io.EOF", tc.spec, n, err, tc.frames)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close = %v, want nil", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close = %v, want nil", err)
			}
		})
	}
}

var (
	srcRegisterOnce sync.Once
	srcGotRest      string
)

func TestOpenSourceRegistered(t *testing.T) {
	srcRegisterOnce.Do(func() {
		RegisterSource("srctest", func(rest string, opts SourceOptions) (Source, error) {
			srcGotRest = rest
			return newDemo(SourceOptions{Width: 8, Height: 8})
		})
	})
	s, err := OpenSource("srctest:host:5900", SourceOptions{Frames: 1})
	if err != nil {
		t.Fatalf("OpenSource(srctest:host:5900) = %v", err)
	}
	defer s.Close()
	if srcGotRest != "host:5900" {
		t.Errorf("opener got %q, want host:5900", srcGotRest)
	}
	if n, err := srcReadAll(t, s); n != 1 || err != io.EOF {
		t.Errorf("frames = %d, %v, want 1, io.EOF", n, err)
	}
}

func TestOpenSourceCancelled(t *testing.T) {
	s, err := OpenSource("demo", SourceOptions{Width: 32, Height: 32})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next(cancelled) = %v, want context.Canceled", err)
	}
}

func TestRationalFPS(t *testing.T) {
	tests := []struct {
		in       float64
		num, den int
	}{
		{15, 15, 1},
		{30, 30, 1},
		{29.97, 30000, 1001},
		{23.976, 24000, 1001},
		{59.94, 60000, 1001},
		{12.5, 25, 2},
		{0.5, 1, 2},
	}
	for _, tc := range tests {
		num, den, err := rationalFPS(tc.in)
		if err != nil || num != tc.num || den != tc.den {
			t.Errorf("rationalFPS(%v) = %d/%d, %v, want %d/%d", tc.in, num, den, err, tc.num, tc.den)
		}
	}
}

func TestFramePTS(t *testing.T) {
	tests := []struct {
		n        int64
		num, den int
		want     time.Duration
	}{
		{0, 15, 1, 0},
		{1, 15, 1, 66666666},
		{15, 15, 1, time.Second},
		{30000, 30000, 1001, 1001 * time.Second},
		{1, 30000, 1001, 33366666},
		{1 << 30, 1 << 30, (1 << 31) - 1, (1<<31 - 1) * time.Second},
	}
	for _, tc := range tests {
		if got := framePTS(tc.n, tc.num, tc.den); got != tc.want {
			t.Errorf("framePTS(%d, %d, %d) = %v, want %v", tc.n, tc.num, tc.den, got, tc.want)
		}
	}
}
