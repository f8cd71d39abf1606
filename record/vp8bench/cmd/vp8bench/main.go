// Command vp8bench compares reckit's pure-Go VP8 encoder with libvpx on
// 1080p screen-content clips from the demo desktop and on ffmpeg's
// testsrc2, at matched PSNR, and prints a Markdown table on stdout
// (progress on stderr). It needs -tags libvpx (libvpx-dev, pkg-config) and
// ffmpeg; `make bench-vp8` runs it through scripts/bench-vp8.sh.
//
// Key frames are the first frame and one forced every -key-every frames.
// For each clip, reckit's encoder runs at -quality; then libvpx's
// quantizer (0..63) is bisected until its PSNR over all frames is within
// -tol dB of reckit's; then both run -runs times at those settings and the
// run with the least CPU time counts.
//
// Exit status: 0 when the table was printed (whatever the verdicts), 1 on
// failure, 2 on a usage error or a build without -tags libvpx.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/reckit/reckit/record/vp8bench"
)

// reference opens libvpx at a quantizer; set by libvpx.go in builds with
// -tags libvpx.
var (
	reference        vp8bench.OpenFunc
	referenceVersion string
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vp8bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	width := fs.Int("width", 1920, "frame width")
	height := fs.Int("height", 1080, "frame height")
	frames := fs.Int("frames", 40, "frames per clip")
	keyEvery := fs.Int("key-every", 10, "force a key frame every N frames (the first is always one; 0: no others)")
	quality := fs.Int("quality", 80, "reckit's quality (1..100)")
	tol := fs.Float64("tol", 0.3, "PSNR match tolerance in dB")
	runs := fs.Int("runs", 3, "timed runs per encoder and clip; the least CPU time counts")
	clips := fs.String("clips", "typing,pointer,drag,scroll,switch,testsrc2", "clips: demo scenarios and testsrc2")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if reference == nil {
		fmt.Fprintln(stderr, "vp8bench: error: built without libvpx")
		fmt.Fprintln(stderr, "vp8bench: hint: go run -tags libvpx ./record/vp8bench/cmd/vp8bench (needs libvpx-dev and pkg-config)")
		return 2
	}
	if *frames < 2 || *frames > vp8bench.MaxFrames || *runs < 1 || *keyEvery < 0 {
		fmt.Fprintf(stderr, "vp8bench: error: -frames must be 2..%d, -runs at least 1, -key-every at least 0\n", vp8bench.MaxFrames)
		return 2
	}
	keys := []int{0}
	for k := *keyEvery; *keyEvery > 0 && k < *frames; k += *keyEvery {
		keys = append(keys, k)
	}
	fmt.Fprintf(stderr, "vp8bench: %dx%d, %d frames per clip, key frames at %v, reckit quality %d, libvpx %s, GOMAXPROCS %d\n",
		*width, *height, *frames, keys, *quality, referenceVersion, runtime.GOMAXPROCS(0))

	var cs []vp8bench.Comparison
	for _, name := range strings.Split(*clips, ",") {
		start := time.Now()
		clip, err := loadClip(name, *width, *height, *frames)
		if err != nil {
			fmt.Fprintf(stderr, "vp8bench: error: %v\n", err)
			return 1
		}
		clip.SetKeys(keys...)
		c, err := compare(clip, *quality, *tol, *runs)
		if err != nil {
			fmt.Fprintf(stderr, "vp8bench: error: %v\n", err)
			return 1
		}
		cs = append(cs, c)
		fmt.Fprintf(stderr, "vp8bench: %s: reckit quality %d %.2f dB, libvpx q %d %.2f dB, matched %v (%.0fs)\n",
			name, c.Test.Level, c.Test.All().PSNR(), c.Ref.Level, c.Ref.All().PSNR(), c.Matched, time.Since(start).Seconds())
		clip = nil
	}
	if err := vp8bench.WriteMarkdown(stdout, "reckit", "quality", "libvpx", "q", cs); err != nil {
		fmt.Fprintf(stderr, "vp8bench: error: %v\n", err)
		return 1
	}
	return 0
}

func compare(clip *vp8bench.Clip, quality int, tol float64, runs int) (vp8bench.Comparison, error) {
	c := vp8bench.Comparison{Clip: clip.Name}
	var err error
	if c.Test, err = vp8bench.Best(clip, vp8bench.PureGo, quality, runs); err != nil {
		return c, err
	}
	m, err := vp8bench.Match(clip, reference, 0, 63, c.Test.All().PSNR(), tol)
	switch {
	case errors.Is(err, vp8bench.ErrNoMatch):
	case err != nil:
		return c, err
	default:
		c.Matched = true
	}
	if c.Ref, err = vp8bench.Best(clip, reference, m.Level, runs); err != nil {
		return c, err
	}
	return c, nil
}

func loadClip(name string, w, h, n int) (*vp8bench.Clip, error) {
	if name != "testsrc2" {
		return vp8bench.DemoClip(name, w, h, n)
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("testsrc2 needs ffmpeg (Debian package ffmpeg): %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=s=%dx%d:r=15", w, h), "-frames:v", fmt.Sprint(n),
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ffmpeg testsrc2: %w", err)
	}
	clip, rerr := vp8bench.ReadRawClip("testsrc2", out, w, h, n)
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("ffmpeg testsrc2: %w: %s", err, stderr.String())
	}
	return clip, rerr
}
