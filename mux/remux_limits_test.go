package mux_test

// Limits of Split, Join and Repair: memory on long key-frame intervals,
// inputs that start at a negative timestamp, and alpha planes that are
// not carried over.

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

// opusHead returns an Opus identification header (RFC 7845 section 5.1)
// for a mono 48 kHz stream: the CodecPrivate of an A_OPUS track.
func opusHead() []byte {
	b := []byte("OpusHead")
	b = append(b, 1, 1)                            // version, channels
	b = binary.LittleEndian.AppendUint16(b, 312)   // pre-skip
	b = binary.LittleEndian.AppendUint32(b, 48000) // input sample rate
	b = binary.LittleEndian.AppendUint16(b, 0)     // output gain
	return append(b, 0)                            // channel mapping family
}

// longInterval writes with reckit's Writer a 64x64 input of n synthetic
// VP8 frames at 100 fps (10 ms) with a key frame at frame 0 and at frame
// n/2 only, and a 20 ms Opus-like audio frame every other video frame. The
// audio frame just before the second key frame's time is written after
// it in the file. It returns the path and the number of audio frames.
func longInterval(t *testing.T, dir string, n int) (string, int) {
	t.Helper()
	path := filepath.Join(dir, "long.webm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := mux.NewWriter(f, mux.WriterOptions{Width: 64, Height: 64, FrameDuration: 10 * time.Millisecond,
		Audio: &mux.AudioTrack{CodecID: "A_OPUS", CodecPrivate: opusHead(), SamplingFrequency: 48000, Channels: 1,
			DefaultDuration: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	audio := make([]byte, 8)
	var pending []time.Duration // audio held back past the second key frame
	na := 0
	for i := 0; i < n; i++ {
		ts := time.Duration(i) * 10 * time.Millisecond
		key := i == 0 || i == n/2
		if err := w.WriteFrame(ts, key, testmedia.SynthVP8(rng, key, 64, 64, 24)); err != nil {
			t.Fatalf("WriteFrame(%d) = %v", i, err)
		}
		for _, at := range pending {
			if err := w.WriteAudio(at, audio, 0); err != nil {
				t.Fatalf("WriteAudio(%v) = %v", at, err)
			}
			na++
		}
		pending = pending[:0]
		if i%2 == 1 {
			at := ts - 10*time.Millisecond
			if i+1 == n/2 {
				pending = append(pending, at)
				continue
			}
			if err := w.WriteAudio(at, audio, 0); err != nil {
				t.Fatalf("WriteAudio(%v) = %v", at, err)
			}
			na++
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, na
}

// memSink is a fileSink whose outputs measure the live heap on every
// write: peak is the largest seen while parts were written.
type memSink struct {
	*fileSink
	peak uint64
}

func (s *memSink) Create(i int) (io.WriteSeeker, error) {
	w, err := s.fileSink.Create(i)
	if err != nil {
		return nil, err
	}
	return &memWriter{w, s}, nil
}

type memWriter struct {
	io.WriteSeeker
	s *memSink
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.s.peak = max(w.s.peak, liveHeap())
	return w.WriteSeeker.Write(p)
}

// liveHeap returns the bytes of live heap objects, after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSplitLongIntervalMemory splits an input of 200,000 video and 100,000
// audio frames in two key-frame intervals of 1,000 s each, by duration
// (frames streamed to the parts) and by size (frame records past a cap
// spilled to a scratch file), from a file (payloads by range) and from a
// stream (payloads through memory). The parts must hold every frame, each
// scan ok, stay under the size limit, and the heap must not grow with the
// interval: the records alone of one interval take 20 MiB or more.
func TestSplitLongIntervalMemory(t *testing.T) {
	const n = 200_000
	dir := t.TempDir()
	in, na := longInterval(t, dir, n)
	st, err := os.Stat(in)
	if err != nil {
		t.Fatal(err)
	}
	limit := st.Size()*2/3 + 1
	// Before the fix, one interval's records took 26-32 MiB here.
	// Cutting by size holds a 6 MiB payload buffer and 16k records.
	for _, tc := range []struct {
		name      string
		seekable  bool
		opts      mux.SplitOptions
		reason    string
		heapBound int64
	}{
		{"duration/file", true, mux.SplitOptions{MaxDuration: 10 * time.Minute}, "duration", 8 << 20},
		{"duration/stream", false, mux.SplitOptions{MaxDuration: 10 * time.Minute}, "duration", 8 << 20},
		{"size/file", true, mux.SplitOptions{MaxBytes: limit}, "size", 16 << 20},
		{"size/stream", false, mux.SplitOptions{MaxBytes: limit}, "size", 16 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var r io.Reader = streamOnly{f}
			if tc.seekable {
				r = sectionOf(t, f)
			}
			src, err := mux.OpenSource(in, r)
			if err != nil {
				t.Fatal(err)
			}
			opts := tc.opts
			var warnings []string
			opts.Warn = func(m string) { warnings = append(warnings, m) }
			if opts.MaxBytes > 0 {
				spill := &countingSpill{t: t, dir: t.TempDir()}
				opts.Spill = spill.new
			}
			sink := &memSink{fileSink: newFileSink(t.TempDir(), "long")}
			base := liveHeap()
			res, err := mux.Split(context.Background(), src, opts, sink)
			if err != nil {
				t.Fatalf("Split(%s) = %v", tc.name, err)
			}
			if grew := int64(sink.peak) - int64(base); grew > tc.heapBound {
				t.Errorf("Split(%s): live heap grew by %.1f MiB while writing, want at most %d MiB", tc.name, float64(grew)/(1<<20), tc.heapBound>>20)
			}
			t.Logf("Split(%s): peak heap growth %.1f MiB", tc.name, float64(int64(sink.peak)-int64(base))/(1<<20))
			if len(warnings) != 0 {
				t.Errorf("Split(%s) warnings = %q, want none", tc.name, warnings)
			}
			if len(res.Parts) != 2 || len(sink.paths) != 2 {
				t.Fatalf("Split(%s) = %d parts, want 2", tc.name, len(res.Parts))
			}
			var frames, audio int64
			for i, p := range res.Parts {
				frames += p.Frames
				audio += p.AudioFrames
				if i == 1 && p.Reason != tc.reason {
					t.Errorf("Split(%s) part 2 reason = %q, want %q", tc.name, p.Reason, tc.reason)
				}
				if p.Frames != n/2 || p.Keyframes != 1 {
					t.Errorf("Split(%s) part %d = %d frames, %d key frames; want %d, 1", tc.name, i+1, p.Frames, p.Keyframes, n/2)
				}
				if opts.MaxBytes > 0 && p.Bytes > opts.MaxBytes {
					t.Errorf("Split(%s) part %d = %d bytes, want at most %d", tc.name, i+1, p.Bytes, opts.MaxBytes)
				}
				rep := scan(t, sink.paths[i])
				if rep.Verdict != inspect.OK || rep.Frames != p.Frames+p.AudioFrames || rep.Bytes != p.Bytes {
					t.Errorf("Scan(part %d) = %s (%s), %d frames, %d bytes; want ok, %d, %d", i+1, rep.Verdict, rep.Reason,
						rep.Frames, rep.Bytes, p.Frames+p.AudioFrames, p.Bytes)
				}
			}
			if frames != n || audio != int64(na) {
				t.Errorf("Split(%s) = %d video, %d audio frames in all; want %d, %d", tc.name, frames, audio, n, na)
			}
			// The audio frame written after the second key frame but
			// earlier belongs to the first part.
			if want := int64(n / 4); res.Parts[0].AudioFrames != want {
				t.Errorf("Split(%s) part 1 = %d audio frames, want %d", tc.name, res.Parts[0].AudioFrames, want)
			}
		})
	}
}

// negativeInput makes, with ffmpeg, a WebM whose timestamps start at
// -500 ms (-avoid_negative_ts disabled -output_ts_offset -0.5), with an
// Opus track when opus is set, then cuts its last 2,000 bytes off.
func negativeInput(t *testing.T, dir string, opus bool) string {
	t.Helper()
	src := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 2, Opus: opus})
	out := filepath.Join(dir, "negative.webm")
	if opus {
		out = filepath.Join(dir, "negative-opus.webm")
	}
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-i", src, "-c", "copy",
		"-avoid_negative_ts", "disabled", "-output_ts_offset", "-0.5", "-f", "webm", "-y", out}
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(out, st.Size()-2000); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRepairNegativeStart repairs inputs that start at -500 ms: the whole
// timeline moves 500 ms later, the output scans ok, and its first video
// timestamp (as ffprobe reads it) is what the input's was plus 500 ms.
func TestRepairNegativeStart(t *testing.T) {
	t.Parallel()
	testmedia.Require(t, "ffmpeg", "ffprobe")
	for _, tc := range []struct {
		name string
		opus bool
	}{
		{"video", false},
		{"opus", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := negativeInput(t, dir, tc.opus)
			inPk := trackPackets(t, in, "v:0")
			if len(inPk) == 0 || inPk[0].PTS >= 0 {
				t.Fatalf("fixture %s: first video pts %v, want negative", in, inPk)
			}
			out := filepath.Join(dir, "repaired.webm")
			res, err := repairFile(t, in, out, true)
			if err != nil {
				t.Fatalf("Repair(%s) = %v", tc.name, err)
			}
			// ffmpeg moves a file with Opus by its pre-skip (7 ms).
			if res.ShiftMS < 490 || res.ShiftMS > 500 {
				t.Errorf("Repair(%s).ShiftMS = %d, want 490-500", tc.name, res.ShiftMS)
			}
			if rep := scan(t, out); rep.Verdict != inspect.OK {
				t.Errorf("Scan(repaired %s) = %s (%s), want ok", tc.name, rep.Verdict, rep.Reason)
			}
			outPk := trackPackets(t, out, "v:0")
			want := inPk[0].PTS + float64(res.ShiftMS)/1000
			if len(outPk) == 0 || math.Abs(outPk[0].PTS-want) > 0.0015 || outPk[0].PTS < 0 {
				t.Errorf("Repair(%s): first video pts %v, want %.3f (input's %.3f + shift)", tc.name, outPk[:min(1, len(outPk))], want, inPk[0].PTS)
			}
			if tc.opus {
				// ffprobe shows Opus times less the pre-skip (CodecDelay).
				inA, outA := trackPackets(t, in, "a:0"), trackPackets(t, out, "a:0")
				if len(inA) == 0 || len(outA) == 0 || math.Abs(outA[0].PTS-(inA[0].PTS+float64(res.ShiftMS)/1000)) > 0.0015 {
					t.Errorf("Repair(%s): first audio pts %v, want the input's %v + %d ms", tc.name, outA[:min(1, len(outA))], inA[:min(1, len(inA))], res.ShiftMS)
				}
			}
		})
	}
}

// TestWriterNegativeVideo: the Writer refuses a video frame before 0.
func TestWriterNegativeVideo(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		name string
		ts   time.Duration
		ok   bool
	}{
		{"zero", 0, true},
		{"negative", -500 * time.Millisecond, false},
		{"just-below", -time.Nanosecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := mux.NewWriter(&testmedia.SeekBuffer{}, mux.WriterOptions{Width: 64, Height: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			err = w.WriteFrame(tc.ts, true, testmedia.SynthVP8(rng, true, 64, 64, 32))
			if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "negative")) {
				t.Errorf("WriteFrame(%v) = %v, want ok %v (else a 'negative' error)", tc.ts, err, tc.ok)
			}
		})
	}
}

// TestAlphaWarning: a VP8 file with an alpha plane (ffmpeg yuva420p) sets
// Source.Alpha once walked, and Split, Join and Repair say its alpha plane
// is not carried over, while still writing complete files; an opaque file
// gets no warning.
func TestAlphaWarning(t *testing.T) {
	t.Parallel()
	testmedia.Require(t, "ffmpeg")
	dir := t.TempDir()
	in := filepath.Join(dir, "alpha.webm")
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=2",
		"-vf", "format=yuva420p", "-c:v", "libvpx", "-pix_fmt", "yuva420p", "-auto-alt-ref", "0", "-g", "10", "-f", "webm", "-y", in}
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, b)
	}
	opaque := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 1})
	for _, tc := range []struct {
		path  string
		alpha bool
	}{{in, true}, {opaque, false}} {
		f, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		src, err := mux.OpenSource(tc.path, f)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = src.NextFrame(nil)
		}
		f.Close()
		if err != io.EOF || src.Alpha != tc.alpha {
			t.Errorf("Source(%s).Alpha after the walk = %v (end %v), want %v", filepath.Base(tc.path), src.Alpha, err, tc.alpha)
		}
	}
	want := in + ": " + mux.AlphaWarning
	res, _, warnings, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxDuration: time.Second})
	if err != nil || len(res.Parts) != 2 {
		t.Fatalf("Split(alpha) = %v, %v; want 2 parts", res, err)
	}
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("Split(alpha) warnings = %q, want [%q]", warnings, want)
	}
	var jw []string
	if _, err := joinFiles(t, filepath.Join(dir, "joined.webm"), []string{in, in}, mux.JoinOptions{Force: true,
		Warn: func(m string) { jw = append(jw, m) }}); err != nil {
		t.Fatalf("Join(alpha) = %v", err)
	}
	var alphaWarnings int
	for _, m := range jw {
		if m == want {
			alphaWarnings++
		}
	}
	if alphaWarnings != 2 {
		t.Errorf("Join(alpha, alpha) warnings = %q, want %q twice", jw, want)
	}
	rr, err := repairFile(t, in, filepath.Join(dir, "repaired.webm"), true)
	if err != nil || !rr.AlphaDropped {
		t.Errorf("Repair(alpha part) = %+v, %v; want AlphaDropped", rr, err)
	}
	rr, err = repairFile(t, opaque, filepath.Join(dir, "repaired-opaque.webm"), true)
	if err != nil || rr.AlphaDropped {
		t.Errorf("Repair(opaque) = %+v, %v; want no AlphaDropped", rr, err)
	}
}
