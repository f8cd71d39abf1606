package testmedia

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeTB records a fatal failure instead of failing the real test, so tests
// can check that a helper fails, and with what message.
type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Log(...any)          {}

func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fakeTB on its own goroutine (Fatal ends it) and
// returns the failure message, or "" and false if fn did not fail.
func fatalOf(t *testing.T, fn func(tb testing.TB)) (string, bool) {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg, f.failed
}

func TestRequire(t *testing.T) {
	Require(t, "ffmpeg", "ffprobe", "mkvmerge", "mkvinfo", "chromium")

	// With an empty PATH every tool is missing; the message names the
	// Debian package.
	t.Setenv("PATH", t.TempDir())
	tests := []struct {
		tool, pkg string
	}{
		{"ffmpeg", "ffmpeg"},
		{"ffprobe", "ffmpeg"},
		{"mkvmerge", "mkvtoolnix"},
		{"mkvinfo", "mkvtoolnix"},
		{"chromium", "chromium"},
	}
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			msg, failed := fatalOf(t, func(tb testing.TB) { Require(tb, tc.tool) })
			want := fmt.Sprintf("testmedia: %s not found (install Debian package %s; make test installs it)", tc.tool, tc.pkg)
			if !failed || msg != want {
				t.Errorf("Require(%s) with empty PATH = %q (failed %v), want %q", tc.tool, msg, failed, want)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		msg, failed := fatalOf(t, func(tb testing.TB) { Require(tb, "vlc") })
		if !failed || !strings.Contains(msg, `unknown tool "vlc"`) {
			t.Errorf("Require(vlc) = %q (failed %v), want an unknown-tool failure", msg, failed)
		}
	})
}

func TestFFmpegWebM(t *testing.T) {
	Require(t, "ffmpeg", "ffprobe", "mkvmerge", "mkvinfo")
	dir := t.TempDir()
	tests := []struct {
		name        string
		spec        Spec
		frames      int
		w, h        int
		keyEvery    int
		hasDuration bool // ffprobe and mkvmerge report a duration
		cues        bool // the Segment has a Cues child
		sizeKnown   bool // the Segment's size is not "unknown"
		audio       string
	}{
		{"defaults", Spec{}, 10, 160, 120, 20, true, true, true, ""},
		{"keyint", Spec{FPS: 15, Seconds: 2, KeyInt: 5}, 30, 160, 120, 5, true, true, true, ""},
		{"opus", Spec{Opus: true}, 10, 160, 120, 20, true, true, true, "opus"},
		{"live", Spec{Live: true}, 10, 160, 120, 20, false, false, false, ""},
		{"pipe", Spec{Pipe: true, Opus: true, Seconds: 1.25}, 13, 160, 120, 20, false, false, false, "opus"},
		{"source", Spec{Width: 192, Height: 108, Source: "color=c=red", Bitrate: "50k", KeyInt: 3}, 10, 192, 108, 3, true, true, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.spec.Frames(); got != tc.frames {
				t.Fatalf("Spec.Frames() = %d, want %d", got, tc.frames)
			}
			path := FFmpegWebM(t, dir, tc.spec)

			p := FFprobe(t, path)
			if p.Frames != tc.frames || p.Width != tc.w || p.Height != tc.h || p.VideoCodec != "vp8" {
				t.Errorf("FFprobe = %d frames %dx%d %s, want %d frames %dx%d vp8", p.Frames, p.Width, p.Height, p.VideoCodec, tc.frames, tc.w, tc.h)
			}
			if p.AudioCodec != tc.audio {
				t.Errorf("FFprobe audio = %q, want %q", p.AudioCodec, tc.audio)
			}
			if p.HasDuration != tc.hasDuration {
				t.Errorf("FFprobe HasDuration = %v, want %v", p.HasDuration, tc.hasDuration)
			}
			fps := tc.spec.withDefaults().FPS
			frameMS := int64(1000 / fps)
			if wantMS := int64(tc.frames) * 1000 / int64(fps); tc.hasDuration && (p.DurationMS < wantMS || p.DurationMS > wantMS+frameMS) {
				t.Errorf("FFprobe DurationMS = %d, want %d within a frame (%d ms)", p.DurationMS, wantMS, frameMS)
			}

			m := MkvmergeJ(t, path)
			if !m.Recognized || !m.Supported || m.ExitCode != 0 || m.HasDuration != tc.hasDuration {
				t.Errorf("MkvmergeJ = %+v, want recognized, supported, exit 0, HasDuration %v", m, tc.hasDuration)
			}
			if len(m.Tracks) == 0 || m.Tracks[0].Codec != "VP8" || m.Tracks[0].Width != tc.w || m.Tracks[0].Height != tc.h {
				t.Errorf("MkvmergeJ tracks = %+v, want VP8 %dx%d first", m.Tracks, tc.w, tc.h)
			}

			children := SegmentChildren(t, path)
			if got := slices.Contains(children, "Cues"); got != tc.cues {
				t.Errorf("SegmentChildren = %q: Cues present %v, want %v", children, got, tc.cues)
			}
			size := SegmentSize(t, path)
			if _, err := strconv.ParseInt(size, 10, 64); (err == nil) != tc.sizeKnown {
				t.Errorf("SegmentSize = %q, want known %v", size, tc.sizeKnown)
			}

			// ffmpeg buffers whole Clusters, so even its live output
			// gives every Cluster a size.
			if info := Mkvinfo(t, path, "-a", "-z"); strings.Contains(info, "Cluster size is unknown") {
				t.Errorf("Mkvinfo(%s, -a -z) has an unknown-size Cluster, want sized Clusters", path)
			}

			pkts := Packets(t, path)
			if len(pkts) != tc.frames {
				t.Fatalf("Packets: %d packets, want %d", len(pkts), tc.frames)
			}
			for i, pk := range pkts {
				if want := i%tc.keyEvery == 0; pk.Key != want {
					t.Errorf("Packets[%d].Key = %v, want %v (keyframe every %d)", i, pk.Key, want, tc.keyEvery)
				}
				// With Opus, ffmpeg shifts every timestamp by the audio's
				// pre-skip (6.5 ms) so none is negative.
				start := int64(0)
				if tc.audio == "opus" {
					start = 7
				}
				if want := start + int64(math.Round(float64(i)*1000/float64(fps))); pk.PTSMS != want {
					t.Errorf("Packets[%d].PTSMS = %d, want %d", i, pk.PTSMS, want)
				}
			}
			if got := FFmpegDecodeErrors(t, path); got != "" {
				t.Errorf("FFmpegDecodeErrors = %q, want none", got)
			}
		})
	}
}

func TestPacketHashesAndRemux(t *testing.T) {
	Require(t, "ffmpeg", "mkvmerge")
	dir := t.TempDir()
	in := FFmpegWebM(t, dir, Spec{Seconds: 2})
	out := MkvmergeRemux(t, in, filepath.Join(dir, "remux.webm"))

	orig := PacketHashes(t, in)
	if len(orig) != 20 {
		t.Fatalf("PacketHashes(ffmpeg file) = %d hashes, want 20", len(orig))
	}
	md5 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for i, h := range orig {
		if !md5.MatchString(h) {
			t.Errorf("PacketHashes[%d] = %q, want 32 hex digits", i, h)
		}
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(orig)))); n != len(orig) {
		t.Errorf("PacketHashes: %d distinct of %d, want all distinct (testsrc2 changes every frame)", n, len(orig))
	}
	// Remuxing copies the packets: same payloads, different container.
	if got := PacketHashes(t, out); !slices.Equal(got, orig) {
		t.Errorf("PacketHashes(remux) = %q, want %q", got, orig)
	}
	m := MkvmergeJ(t, out)
	if !strings.Contains(m.Muxer, "libebml") || !m.HasDuration || m.DurationNS != 2e9 {
		t.Errorf("MkvmergeJ(remux) = muxer %q duration %v %d, want libebml, 2e9 ns", m.Muxer, m.HasDuration, m.DurationNS)
	}
	// The packet hashes are of the payload: the remux's bytes differ.
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(out)
	if bytes.Equal(a, b) {
		t.Errorf("MkvmergeRemux(%s) wrote identical bytes, want mkvmerge's own layout", in)
	}
}

func TestConcatResolutions(t *testing.T) {
	Require(t, "ffmpeg", "ffprobe", "mkvmerge")
	sizes := []image.Point{{160, 120}, {320, 240}, {160, 120}}
	path := ConcatResolutions(t, t.TempDir(), sizes...)

	got := FrameSizes(t, path)
	var want []image.Point
	for _, s := range sizes {
		for range 10 {
			want = append(want, s)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("FrameSizes(concat) = %v, want %v", got, want)
	}
	// The headers know only the first size.
	p := FFprobe(t, path)
	if p.Width != 160 || p.Height != 120 || p.Frames != 30 || p.DurationMS != 3000 {
		t.Errorf("FFprobe(concat) = %dx%d %d frames %d ms, want 160x120 30 frames 3000 ms", p.Width, p.Height, p.Frames, p.DurationMS)
	}
	m := MkvmergeJ(t, path)
	if len(m.Tracks) != 1 || m.Tracks[0].Width != 160 || m.Tracks[0].Height != 120 {
		t.Errorf("MkvmergeJ(concat) tracks = %+v, want one 160x120 track", m.Tracks)
	}
	for i, pk := range Packets(t, path) {
		if want := i%10 == 0; pk.Key != want {
			t.Errorf("Packets[%d].Key = %v, want %v (each clip starts with a keyframe)", i, pk.Key, want)
		}
		if pk.PTSMS != int64(i)*100 {
			t.Errorf("Packets[%d].PTSMS = %d, want %d", i, pk.PTSMS, i*100)
		}
	}
}

func TestCut(t *testing.T) {
	Require(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	in := FFmpegWebM(t, dir, Spec{Seconds: 2})
	size := Size(t, in)
	half := size / 2
	out := filepath.Join(dir, "cut.webm")
	Cut(t, in, out, half)
	if got := Size(t, out); got != half {
		t.Fatalf("Size(Cut(%d)) = %d, want %d", half, got, half)
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(a[:half], b) {
		t.Errorf("Cut(%d) bytes differ from the input's first %d", half, half)
	}
	if p := FFprobe(t, out); p.Frames <= 0 || p.Frames >= 20 {
		t.Errorf("FFprobe(cut at half).Frames = %d, want between 0 and 20 exclusive", p.Frames)
	}

	msg, failed := fatalOf(t, func(tb testing.TB) { Cut(tb, in, filepath.Join(dir, "long.webm"), size+1) })
	if !failed || !strings.Contains(msg, "EOF") {
		t.Errorf("Cut(size+1) = %q (failed %v), want an EOF failure", msg, failed)
	}
}

func TestNotWebM(t *testing.T) {
	Require(t, "ffmpeg", "mkvmerge")
	dir := t.TempDir()
	txt := filepath.Join(dir, "notes.webm")
	if err := os.WriteFile(txt, []byte(strings.Repeat("not a video\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := FFmpegDecodeErrors(t, txt); got == "" {
		t.Errorf("FFmpegDecodeErrors(text file) = %q, want an error", got)
	}
	if m := MkvmergeJ(t, txt); m.Recognized || m.Supported || len(m.Tracks) != 0 {
		t.Errorf("MkvmergeJ(text file) = %+v, want not recognized, no tracks", m)
	}
	msg, failed := fatalOf(t, func(tb testing.TB) { MkvmergeJ(tb, filepath.Join(dir, "missing.webm")) })
	if !failed || !strings.Contains(msg, "exit status 2") {
		t.Errorf("MkvmergeJ(missing file) = %q (failed %v), want an exit status 2 failure", msg, failed)
	}
}

func TestChromeMediaRecorder(t *testing.T) {
	Require(t, "chromium", "ffprobe", "mkvmerge", "mkvinfo")
	dir := t.TempDir()
	tests := []struct {
		name      string
		alpha     bool
		block     string // the block element mkvinfo names
		additions bool   // BlockAdditions present
	}{
		{"opaque", false, "Simple block", false},
		{"alpha", true, "Block group", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ChromeRecord(t, dir, ChromeSpec{Seconds: 1, Width: 160, Height: 120, Alpha: tc.alpha})

			p := FFprobe(t, path)
			// Timestamps follow the wall clock; a loaded 2-core machine
			// drops frames, so only bound the count.
			if p.VideoCodec != "vp8" || p.Width != 160 || p.Height != 120 || p.Frames < 5 || p.Frames > 40 || p.HasDuration {
				t.Errorf("FFprobe(chrome) = %+v, want vp8 160x120, 5..40 frames, no duration", p)
			}
			m := MkvmergeJ(t, path)
			if !m.Recognized || m.Muxer != "Chrome" || m.HasDuration || len(m.Tracks) != 1 || m.Tracks[0].Codec != "VP8" {
				t.Errorf("MkvmergeJ(chrome) = %+v, want recognized, muxer Chrome, no duration, one VP8 track", m)
			}
			children := SegmentChildren(t, path)
			if slices.Contains(children, "Cues") || slices.Contains(children, "Seek head") || !slices.Contains(children, "Cluster") {
				t.Errorf("SegmentChildren(chrome) = %q, want Clusters and no Cues or Seek head", children)
			}
			if got := SegmentSize(t, path); got != "unknown" {
				t.Errorf("SegmentSize(chrome) = %q, want unknown", got)
			}
			info := Mkvinfo(t, path, "-a", "-z")
			if !strings.Contains(info, "+ Cluster size is unknown") {
				t.Errorf("Mkvinfo(chrome, -a -z) lacks %q:\n%s", "+ Cluster size is unknown", info)
			}
			if n := strings.Count(info, "+ "+tc.block); n != p.Frames {
				t.Errorf("Mkvinfo(chrome): %d %q, want one per frame (%d)", n, tc.block, p.Frames)
			}
			if got := strings.Contains(info, "+ Additions"); got != tc.additions {
				t.Errorf("Mkvinfo(chrome): BlockAdditions present %v, want %v", got, tc.additions)
			}
			pkts := Packets(t, path)
			if len(pkts) == 0 || !pkts[0].Key {
				t.Errorf("Packets(chrome) = %+v, want a keyframe first", pkts)
			}
			for i := 1; i < len(pkts); i++ {
				if pkts[i].PTSMS <= pkts[i-1].PTSMS || pkts[i].PTSMS > 1500 {
					t.Errorf("Packets(chrome)[%d].PTSMS = %d after %d, want increasing and under 1500", i, pkts[i].PTSMS, pkts[i-1].PTSMS)
				}
			}

			// A second call is served from the cache: a new file, the
			// same bytes.
			again := ChromeRecord(t, dir, ChromeSpec{Seconds: 1, Width: 160, Height: 120, Alpha: tc.alpha})
			a, _ := os.ReadFile(path)
			b, _ := os.ReadFile(again)
			if again == path || !bytes.Equal(a, b) {
				t.Errorf("ChromeRecord again = %s (%d bytes), want a new path with the same %d bytes as %s", again, len(b), len(a), path)
			}
		})
	}
}

func TestChromePlayback(t *testing.T) {
	Require(t, "chromium", "ffmpeg")
	dir := t.TempDir()
	ffmpegFile := FFmpegWebM(t, dir, Spec{Seconds: 2})
	tests := []struct {
		name      string
		path      string
		duration  float64 // +Inf for unknown
		seekOK    bool
		frameTime float64 // -1: no seek, so no frame reported
	}{
		{"ffmpeg", ffmpegFile, 2, true, 1},
		{"chrome", ChromeMediaRecorder(t, dir, 1, 160, 120), math.Inf(1), false, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ChromePlay(t, dir, tc.path)
			durOK := math.IsInf(tc.duration, 1) == math.IsInf(p.Duration, 1) && (math.IsInf(p.Duration, 1) || math.Abs(p.Duration-tc.duration) <= 0.1)
			if !durOK || p.SeekOK != tc.seekOK || math.Abs(p.FrameTime-tc.frameTime) > 0.1 || p.Error != "" {
				t.Errorf("ChromePlay(%s) = %+v, want duration %v, seekOK %v, frame at %v, no error", tc.name, p, tc.duration, tc.seekOK, tc.frameTime)
			}
		})
	}
	t.Run("ChromePlayback", func(t *testing.T) {
		d, ok := ChromePlayback(t, dir, ffmpegFile)
		if d != 2 || !ok {
			t.Errorf("ChromePlayback(ffmpeg 2 s) = %v, %v, want 2, true", d, ok)
		}
	})
}
