package testmedia

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Spec describes a WebM file for FFmpegWebM to encode. Zero fields take the
// defaults noted on each.
type Spec struct {
	Width, Height int     // frame size; default 160x120
	FPS           int     // frames per second; default 10
	Seconds       float64 // length; default 1. Frames = round(FPS*Seconds)
	Source        string  // lavfi video source, optionally with options ("color=c=red"); size, rate and duration are appended; default "testsrc2"
	KeyInt        int     // keyframe interval in frames (-g); default FPS*2
	Opus          bool    // add an Opus audio track (lavfi sine, 48 kHz mono); ffmpeg then starts all timestamps at 7 ms (Opus pre-skip)
	Live          bool    // WebM muxer live mode (-live 1): unknown-size Segment, no Cues, no Duration; Clusters still have sizes (ffmpeg buffers each)
	Pipe          bool    // write through a pipe (-f webm pipe:1) into the file: unseekable output, with the same layout as Live
	Bitrate       string  // video bitrate, e.g. "500k"; default "200k"
}

// withDefaults returns s with every zero field set to its default.
func (s Spec) withDefaults() Spec {
	if s.Width == 0 {
		s.Width = 160
	}
	if s.Height == 0 {
		s.Height = 120
	}
	if s.FPS == 0 {
		s.FPS = 10
	}
	if s.Seconds == 0 {
		s.Seconds = 1
	}
	if s.Source == "" {
		s.Source = "testsrc2"
	}
	if s.KeyInt == 0 {
		s.KeyInt = 2 * s.FPS
	}
	if s.Bitrate == "" {
		s.Bitrate = "200k"
	}
	return s
}

// Frames returns the number of video frames FFmpegWebM writes for s.
func (s Spec) Frames() int {
	s = s.withDefaults()
	return int(math.Round(float64(s.FPS) * s.Seconds))
}

// args returns the ffmpeg arguments that encode s into out ("pipe:1" when
// s.Pipe is set).
func (s Spec) args(out string) []string {
	src := s.Source
	sep := "="
	if strings.Contains(src, "=") {
		sep = ":"
	}
	secs := strconv.FormatFloat(s.Seconds, 'f', -1, 64)
	args := []string{"-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("%s%ssize=%dx%d:rate=%d:duration=%s", src, sep, s.Width, s.Height, s.FPS, secs)}
	if s.Opus {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+secs)
	}
	args = append(args, "-map", "0:v:0")
	if s.Opus {
		args = append(args, "-map", "1:a:0", "-c:a", "libopus", "-b:a", "32k", "-ac", "1")
	}
	// The sources' duration option, not -t, ends the streams: with -t,
	// ffmpeg writes a Duration even into unseekable (piped) output.
	// The source yields ceil(FPS*Seconds) frames, -frames:v trims that to
	// Frames().
	// -auto-alt-ref 0: no invisible alt-ref frames, so packets = frames.
	// -threads 1: libvpx output does not depend on the machine's cores.
	args = append(args,
		"-frames:v", strconv.Itoa(s.Frames()),
		"-c:v", "libvpx", "-b:v", s.Bitrate, "-g", strconv.Itoa(s.KeyInt),
		"-auto-alt-ref", "0", "-threads", "1", "-pix_fmt", "yuv420p",
		"-f", "webm")
	if s.Live {
		args = append(args, "-live", "1")
	}
	return append(args, "-y", out)
}

// newFile creates an empty file in dir named after pattern (see
// os.CreateTemp) and returns its path; the tool then overwrites it.
func newFile(t testing.TB, dir, pattern string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	return f.Name()
}

// FFmpegWebM encodes s with ffmpeg's libvpx VP8 encoder into a new WebM file
// in dir and returns its path. The file has s.Frames() video frames, a
// keyframe every s.KeyInt frames starting with the first, and no invisible
// (alt-ref) frames.
func FFmpegWebM(t testing.TB, dir string, s Spec) string {
	t.Helper()
	s = s.withDefaults()
	name := fmt.Sprintf("ffmpeg-%dx%d-%dfps-*.webm", s.Width, s.Height, s.FPS)
	out := newFile(t, dir, name)
	if !s.Pipe {
		mustRun(t, "ffmpeg", nil, s.args(out)...)
		return out
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	w := bufio.NewWriter(f)
	res, err := run("ffmpeg", w, s.args("pipe:1")...)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.code != 0 {
		t.Fatalf("testmedia: ffmpeg %s: exit status %d: %s", strings.Join(s.args("pipe:1"), " "), res.code, tail(res.stderr))
	}
	return out
}

// MkvmergeRemux runs `mkvmerge -o out in` and returns out. mkvmerge's exit
// code 1 (warnings) is accepted; the warnings are logged.
func MkvmergeRemux(t testing.TB, in, out string) string {
	t.Helper()
	res, err := run("mkvmerge", nil, "-q", "-o", out, in)
	if err != nil {
		t.Fatal(err)
	}
	switch res.code {
	case 0:
	case 1:
		t.Logf("testmedia: mkvmerge -o %s %s: warnings: %s", out, in, tail(res.stdout))
	default:
		t.Fatalf("testmedia: mkvmerge -o %s %s: exit status %d: %s%s", out, in, res.code, tail(res.stdout), tail(res.stderr))
	}
	return out
}

// ConcatResolutions returns the path of a new WebM file in dir with one VP8
// track whose frame size changes mid-stream: one clip per size (1 s at
// 10 fps each, so 10 frames, the first a keyframe), encoded separately and
// joined with ffmpeg's concat demuxer and -c copy. The headers carry only the
// first size.
func ConcatResolutions(t testing.TB, dir string, sizes ...image.Point) string {
	t.Helper()
	return ConcatClips(t, dir, Spec{FPS: 10, Seconds: 1}, sizes...)
}

// ConcatClips is ConcatResolutions with each clip encoded from s, with s's
// Width and Height replaced by each size in turn. s.Live and s.Pipe apply to
// the clips only; the joined file is written seekably.
func ConcatClips(t testing.TB, dir string, s Spec, sizes ...image.Point) string {
	t.Helper()
	if len(sizes) == 0 {
		t.Fatal("testmedia: ConcatClips: no sizes")
	}
	var list strings.Builder
	for _, sz := range sizes {
		c := s
		c.Width, c.Height = sz.X, sz.Y
		clip := FFmpegWebM(t, dir, c)
		abs, err := filepath.Abs(clip)
		if err != nil {
			t.Fatalf("testmedia: %v", err)
		}
		// The concat demuxer quotes with single quotes; escape any in the path.
		fmt.Fprintf(&list, "file '%s'\n", strings.ReplaceAll(abs, "'", `'\''`))
	}
	listPath := newFile(t, dir, "concat-*.txt")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	out := newFile(t, dir, "concat-*.webm")
	mustRun(t, "ffmpeg", nil, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "concat", "-safe", "0", "-i", listPath, "-c", "copy", "-f", "webm", "-y", out)
	return out
}

// FFmpegDecodeErrors decodes every stream of path with
// `ffmpeg -v error -i path -f null -` and returns its stderr, trimmed. An
// empty string means ffmpeg found nothing wrong. Note that ffmpeg is quiet
// about many truncated files; an empty result is not proof of completeness.
func FFmpegDecodeErrors(t testing.TB, path string) string {
	t.Helper()
	res, err := run("ffmpeg", nil, "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.TrimSpace(string(res.stderr))
	if res.code != 0 && msg == "" {
		msg = fmt.Sprintf("ffmpeg exit status %d", res.code)
	}
	return msg
}

// PacketHashes returns the MD5 of every packet of the first video stream of
// path, in file order, from `ffmpeg -i path -map 0:v:0 -c copy -f framemd5 -`.
// With -c copy, framemd5 hashes the compressed packet payload, not decoded
// pixels, so two files hold the same frames exactly when their hash lists are
// equal: what split and join tests compare.
func PacketHashes(t testing.TB, path string) []string {
	t.Helper()
	res := mustRun(t, "ffmpeg", nil, "-hide_banner", "-nostdin", "-v", "error",
		"-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-")
	var hashes []string
	for _, line := range strings.Split(string(res.stdout), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// stream_index, dts, pts, duration, size, hash
		fields := strings.Split(line, ",")
		if len(fields) != 6 {
			t.Fatalf("testmedia: framemd5 line %q: want 6 fields", line)
		}
		hashes = append(hashes, strings.TrimSpace(fields[5]))
	}
	return hashes
}

// Packet is one packet of a stream as ffprobe -show_packets reports it.
type Packet struct {
	PTSMS int64 // presentation time in milliseconds (WebM's default timestamp scale)
	Size  int   // payload size in bytes
	Key   bool  // ffprobe's K flag: a keyframe
}

// Packets returns the packets of the first video stream of path, in file
// order, from ffprobe -show_packets.
func Packets(t testing.TB, path string) []Packet {
	t.Helper()
	res := mustRun(t, "ffprobe", nil, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,size,flags", "-of", "csv=p=0", path)
	var pkts []Packet
	sc := bufio.NewScanner(bytes.NewReader(res.stdout))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Split(line, ",")
		if len(fields) < 3 {
			t.Fatalf("testmedia: ffprobe packet line %q: want pts_time,size,flags", line)
		}
		var p Packet
		if pts, err := strconv.ParseFloat(fields[0], 64); err == nil {
			p.PTSMS = int64(math.Round(pts * 1000))
		}
		size, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("testmedia: ffprobe packet line %q: size: %v", line, err)
		}
		p.Size = size
		p.Key = strings.Contains(fields[2], "K")
		pkts = append(pkts, p)
	}
	return pkts
}

// FrameSizes decodes the first video stream of path with ffprobe -show_frames
// and returns each decoded frame's size in order. Unlike the headers, it
// shows mid-stream resolution changes.
func FrameSizes(t testing.TB, path string) []image.Point {
	t.Helper()
	res := mustRun(t, "ffprobe", nil, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=width,height", "-of", "csv=p=0", path)
	var sizes []image.Point
	for _, line := range strings.Split(string(res.stdout), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		w, h, ok := strings.Cut(line, ",")
		x, errW := strconv.Atoi(w)
		y, errH := strconv.Atoi(h)
		if !ok || errW != nil || errH != nil {
			t.Fatalf("testmedia: ffprobe frame line %q: want width,height", line)
		}
		sizes = append(sizes, image.Pt(x, y))
	}
	return sizes
}
