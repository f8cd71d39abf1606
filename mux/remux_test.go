package mux_test

// Acceptance tests for Split, Join and Repair (mux/remux.go). Inputs come
// from real tools (ffmpeg, mkvmerge, Chromium) through internal/testmedia;
// every output is checked with inspect.Scan (reckit's own verdict), ffprobe,
// mkvmerge -J and an ffmpeg decode, and its frame payloads are compared with
// the input's through ffmpeg's framemd5.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

// fileSink is a mux.PartSink writing NAME-00i.webm files into dir, through
// NAME-00i.webm.partial like the CLI does.
type fileSink struct {
	dir, base string
	open      map[int]*os.File
	paths     []string // committed parts, in order
}

func newFileSink(dir, base string) *fileSink {
	return &fileSink{dir: dir, base: base, open: map[int]*os.File{}}
}

func (s *fileSink) name(i int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s-%03d.webm", s.base, i))
}

func (s *fileSink) Create(i int) (io.WriteSeeker, error) {
	f, err := os.Create(s.name(i) + ".partial")
	if err != nil {
		return nil, err
	}
	s.open[i] = f
	return f, nil
}

func (s *fileSink) Commit(i int, info *mux.PartInfo) error {
	f := s.open[i]
	delete(s.open, i)
	if err := f.Close(); err != nil {
		return err
	}
	info.Name = s.name(i)
	if err := os.Rename(f.Name(), info.Name); err != nil {
		return err
	}
	s.paths = append(s.paths, info.Name)
	return nil
}

func (s *fileSink) Abort(i int) {
	if f := s.open[i]; f != nil {
		f.Close()
		os.Remove(f.Name())
		delete(s.open, i)
	}
}

// streamOnly hides every method but Read: a pipe or stdin.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

// splitFile runs mux.Split on path into parts in dir: through an
// io.SectionReader when seekable (payloads copied by range, as the CLI
// does), else through a non-seekable reader (payloads through memory). It returns the result, the part paths and the
// warnings.
func splitFile(t *testing.T, path, dir string, seekable bool, opts mux.SplitOptions) (*mux.SplitResult, []string, []string, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = streamOnly{f}
	if seekable {
		r = sectionOf(t, f)
	}
	src, err := mux.OpenSource(path, r)
	if err != nil {
		t.Fatalf("OpenSource(%s) = %v", path, err)
	}
	var warnings []string
	opts.Warn = func(m string) { warnings = append(warnings, m) }
	sink := newFileSink(dir, strings.TrimSuffix(filepath.Base(path), ".webm"))
	res, err := mux.Split(context.Background(), src, opts, sink)
	return res, sink.paths, warnings, err
}

// sectionOf returns f as an io.SectionReader over its whole size.
func sectionOf(t *testing.T, f *os.File) *io.SectionReader {
	t.Helper()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return io.NewSectionReader(f, 0, st.Size())
}

// joinFiles runs mux.Join on paths into out. Parts at even indexes are read
// through an io.SectionReader (payloads copied by range), the others as
// plain files (payloads read), so one output mixes both paths.
func joinFiles(t *testing.T, out string, paths []string, opts mux.JoinOptions) (*mux.JoinResult, error) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	open := func(i int) (io.Reader, io.Closer, string, error) {
		pf, err := os.Open(paths[i])
		if err != nil {
			return nil, nil, "", err
		}
		if i%2 == 0 {
			return sectionOf(t, pf), pf, paths[i], nil
		}
		return pf, pf, paths[i], nil
	}
	return mux.Join(context.Background(), len(paths), open, f, opts)
}

// repairFile runs mux.Repair on path into out: through an io.SectionReader
// when seekable, else as a stream.
func repairFile(t *testing.T, path, out string, seekable bool) (*mux.RepairResult, error) {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var r io.Reader = streamOnly{in}
	if seekable {
		r = sectionOf(t, in)
	}
	src, err := mux.OpenSource(path, r)
	if err != nil {
		t.Fatalf("OpenSource(%s) = %v", path, err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return mux.Repair(context.Background(), src, f)
}

// scan returns reckit's own verdict on path.
func scan(t *testing.T, path string) *inspect.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := inspect.Scan(context.Background(), path, f, st.Size(), inspect.ScanOptions{})
	if err != nil {
		t.Fatalf("Scan(%s) = %v", path, err)
	}
	return rep
}

// ffprobeCheck reads every packet of path with ffprobe at log level
// warning. It returns the first video stream's codec, its packet count and
// what ffprobe printed on stderr (nothing for a clean file).
func ffprobeCheck(t *testing.T, path string) (codec string, packets int, complaints string) {
	t.Helper()
	testmedia.Require(t, "ffprobe")
	cmd := exec.Command("ffprobe", "-hide_banner", "-v", "warning", "-count_packets", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,nb_read_packets", "-of", "csv=p=0", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", 0, fmt.Sprintf("ffprobe: %v: %s", err, stderr.String())
	}
	codec, n, _ := strings.Cut(strings.TrimSpace(stdout.String()), ",")
	packets, _ = strconv.Atoi(n)
	return codec, packets, strings.TrimSpace(stderr.String())
}

// ffmpegCheck decodes path with ffmpeg (like testmedia.FFmpegDecodeErrors)
// and, in the same run, hashes its video packets (like
// testmedia.PacketHashes): one process instead of two.
func ffmpegCheck(t *testing.T, path string) (hashes []string, decodeErrors string) {
	t.Helper()
	testmedia.Require(t, "ffmpeg")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path,
		"-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-",
		"-map", "0", "-f", "null", "-")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	if err != nil && msg == "" {
		msg = err.Error()
	}
	return parseFramemd5(t, stdout.String()), msg
}

// parseFramemd5 returns the packet hashes of framemd5 output. A packet with
// side data (a BlockAddition) has more fields after its hash
// ("S=1, size, hash"), which testmedia.PacketHashes does not accept.
func parseFramemd5(t *testing.T, out string) []string {
	t.Helper()
	var hashes []string
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		if len(fields) < 6 {
			t.Fatalf("framemd5 line %q: want at least 6 fields", line)
		}
		hashes = append(hashes, strings.TrimSpace(fields[5]))
	}
	return hashes
}

// sideDataHashes is testmedia.PacketHashes for files whose packets may carry
// side data (Chrome's alpha BlockAdditions); it also counts those packets.
func sideDataHashes(t *testing.T, path string) (hashes []string, withSideData int) {
	t.Helper()
	testmedia.Require(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path,
		"-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg framemd5 %s: %v", path, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "S=") {
			withSideData++
		}
	}
	return parseFramemd5(t, string(out)), withSideData
}

// checkAccepted fails the test unless reckit, ffprobe, mkvmerge and an
// ffmpeg decode all accept path as a complete, clean, seekable VP8 WebM. It
// returns reckit's report and the packet hashes.
func checkAccepted(t *testing.T, path string) (*inspect.Report, []string) {
	t.Helper()
	return checkAcceptedLike(t, path, "")
}

// ffmpegAddress matches the context addresses in ffmpeg's messages.
var ffmpegAddress = regexp.MustCompile(` @ 0x[0-9a-f]+`)

// checkAcceptedLike is checkAccepted for an output made from input (when
// not ""): the ffmpeg decode may print what it prints for the input itself.
// Chrome's wall-clock timestamps can make ffmpeg's own frame-rate
// conversion to the null muxer complain ("non monotonically increasing
// dts") about the input already; the output must not add to that.
func checkAcceptedLike(t *testing.T, path, input string) (*inspect.Report, []string) {
	t.Helper()
	rep := scan(t, path)
	if rep.Verdict != inspect.OK {
		t.Errorf("Scan(%s).Verdict = %s (%s), want ok", path, rep.Verdict, rep.Reason)
	}
	if !rep.Cues || rep.HeaderDurationMS == nil || *rep.HeaderDurationMS != rep.DurationMS {
		t.Errorf("Scan(%s): cues %v, header duration %v, measured %d ms; want Cues and a Duration equal to the measured one",
			path, rep.Cues, rep.HeaderDurationMS, rep.DurationMS)
	}
	codec, packets, msg := ffprobeCheck(t, path)
	if msg != "" {
		t.Errorf("ffprobe -v warning %s = %q, want nothing", path, msg)
	}
	if codec != "vp8" || int64(packets) != rep.Frames {
		t.Errorf("ffprobe(%s) = codec %q, %d packets; want vp8, %d", path, codec, packets, rep.Frames)
	}
	m := testmedia.MkvmergeJ(t, path)
	if m.ExitCode != 0 || !m.Recognized || !m.Supported || len(m.Errors) > 0 || len(m.Warnings) > 0 || len(m.Tracks) != 1 {
		t.Errorf("MkvmergeJ(%s) = exit %d, recognized %v, supported %v, errors %q, warnings %q, %d tracks; want a clean 0, 1 track",
			path, m.ExitCode, m.Recognized, m.Supported, m.Errors, m.Warnings, len(m.Tracks))
	}
	if !m.HasDuration || m.DurationNS/1e6 != rep.DurationMS {
		t.Errorf("MkvmergeJ(%s) duration = %d ns (present %v), want %d ms", path, m.DurationNS, m.HasDuration, rep.DurationMS)
	}
	hashes, msg := ffmpegCheck(t, path)
	if msg != "" && input != "" {
		inMsg := testmedia.FFmpegDecodeErrors(t, input)
		if ffmpegAddress.ReplaceAllString(inMsg, "") == ffmpegAddress.ReplaceAllString(msg, "") {
			t.Logf("ffmpeg -v error -i %s -f null - = %q, as for its input %s", path, msg, input)
			msg = ""
		}
	}
	if msg != "" {
		t.Errorf("ffmpeg -v error -i %s -f null - = %q, want nothing", path, msg)
	}
	if int64(len(hashes)) != rep.Frames {
		t.Errorf("ffmpeg framemd5 %s: %d packets, want %d", path, len(hashes), rep.Frames)
	}
	return rep, hashes
}

// concatHashes returns the packet hashes of paths, one after the other.
func concatHashes(t *testing.T, paths []string) []string {
	t.Helper()
	var all []string
	for _, p := range paths {
		all = append(all, testmedia.PacketHashes(t, p)...)
	}
	return all
}

// payloadHashes returns the MD5 of every video frame payload of path as
// reckit's reader sees it: the same values as ffmpeg's framemd5 with -c copy
// (TestSplitBySize1080p checks that on its input), without a process.
func payloadHashes(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := mux.OpenSource(path, f)
	if err != nil {
		t.Fatalf("OpenSource(%s) = %v", path, err)
	}
	var out []string
	var buf []byte
	for {
		fr, err := src.NextFrame(buf)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("NextFrame(%s) = %v", path, err)
		}
		buf = fr.Data[:0]
		if fr.Audio {
			continue
		}
		out = append(out, fmt.Sprintf("%x", md5.Sum(fr.Data)))
	}
}

// sameHashes fails the test unless got equals want.
func sameHashes(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		first := -1
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				first = i
				break
			}
		}
		t.Errorf("%s: %d frame hashes, want %d (first difference at frame %d)", what, len(got), len(want), first)
	}
}

// tag returns a global tag of rep.
func tag(rep *inspect.Report, name string) (string, bool) {
	for _, s := range rep.Tags {
		if s.Name == name {
			return s.Value, true
		}
	}
	return "", false
}

// datedCopy remuxes in through mux.NewWriter into a new file in dir whose
// Info carries date as DateUTC. Payloads are copied as they are.
func datedCopy(t *testing.T, in, dir string, date time.Time) string {
	t.Helper()
	return shiftedCopy(t, in, dir, date, 0)
}

// shiftedCopy is datedCopy with every timestamp moved by shift.
func shiftedCopy(t *testing.T, in, dir string, date time.Time, shift time.Duration) string {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := mux.OpenSource(in, f)
	if err != nil {
		t.Fatalf("OpenSource(%s) = %v", in, err)
	}
	out, err := os.CreateTemp(dir, "dated-*.webm")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w, err := mux.NewWriter(out, mux.WriterOptions{Width: src.Video.Width, Height: src.Video.Height,
		FrameDuration: src.FrameDuration(), DateUTC: date, Title: "fixture",
		Tags: []mux.SimpleTag{{Name: mux.TagDevice, Value: "host-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for {
		fr, err := src.NextFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextFrame(%s) = %v", in, err)
		}
		buf = fr.Data[:0]
		if err := w.WriteFrame(fr.TS+shift, fr.Key, fr.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Name()
}

// blockSpan is one video frame's place in a file.
type blockSpan struct{ off, end int64 } // block element start, payload end

// blockSpans lists the frames of a complete file with their offsets.
func blockSpans(t *testing.T, path string) []blockSpan {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := mux.NewReader(f, mux.ReaderOptions{})
	if _, err := r.ReadHeader(); err != nil {
		t.Fatalf("ReadHeader(%s) = %v", path, err)
	}
	var out []blockSpan
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next(%s) = %v", path, err)
		}
		out = append(out, blockSpan{b.Offset, b.DataOffset + b.DataSize})
	}
}

// completeBefore returns how many frames of spans are complete in the first
// n bytes, and where the last of them ends.
func completeBefore(spans []blockSpan, n int64) (int, int64) {
	frames, end := 0, int64(0)
	for _, s := range spans {
		if s.end > n {
			break
		}
		frames, end = frames+1, s.end
	}
	return frames, end
}

// keyTimes returns the timestamps (ms) of path's key frames, from ffprobe.
func keyTimes(t *testing.T, path string) []int64 {
	t.Helper()
	var out []int64
	for _, p := range testmedia.Packets(t, path) {
		if p.Key {
			out = append(out, p.PTSMS)
		}
	}
	return out
}

// durationStarts lists where a split by d must start parts, given the key
// frame times (ms): the first key frame, then for every multiple of d the
// first key frame at or after it.
func durationStarts(keys []int64, d time.Duration) []int64 {
	starts := []int64{keys[0]}
	for b := d.Milliseconds(); b <= keys[len(keys)-1]; b += d.Milliseconds() {
		for _, k := range keys {
			if k >= b {
				if k != starts[len(starts)-1] {
					starts = append(starts, k)
				}
				break
			}
		}
	}
	return starts
}

// checkParts checks what every split part must be: the size reported is
// the size on disk, reckit and the peers accept it, timestamps start at 0,
// DateUTC is the input's plus the part's start, PART_NUMBER and the
// previous/next SegmentUID tags link the parts, and the parts hold the
// input's frames (hashes), in order.
func checkParts(t *testing.T, res *mux.SplitResult, paths []string, date time.Time, wantHashes []string) {
	t.Helper()
	if len(res.Parts) != len(paths) {
		t.Fatalf("Split: %d parts in the result, %d committed", len(res.Parts), len(paths))
	}
	var all []string
	for i, p := range res.Parts {
		path := paths[i]
		if p.Index != i+1 || p.Name != path {
			t.Errorf("part %d: Index %d, Name %q; want %d, %q", i+1, p.Index, p.Name, i+1, path)
		}
		if size := testmedia.Size(t, path); size != p.Bytes {
			t.Errorf("part %d: os.Stat size = %d, PartInfo.Bytes = %d", i+1, size, p.Bytes)
		}
		rep, hashes := checkAccepted(t, path)
		all = append(all, hashes...)
		if rep.FirstTimestampMS != 0 || rep.Frames != p.Frames || rep.DurationMS != p.DurationMS {
			t.Errorf("part %d: first timestamp %d ms, %d frames, %d ms; want 0, %d, %d",
				i+1, rep.FirstTimestampMS, rep.Frames, rep.DurationMS, p.Frames, p.DurationMS)
		}
		if rep.SegmentUID != p.SegmentUID {
			t.Errorf("part %d: SegmentUID %s, PartInfo says %s", i+1, rep.SegmentUID, p.SegmentUID)
		}
		if !date.IsZero() {
			want := date.Add(time.Duration(p.StartMS) * time.Millisecond)
			if rep.DateUTC == nil || !rep.DateUTC.Equal(want) {
				t.Errorf("part %d: DateUTC = %v, want %v (input's + %d ms)", i+1, rep.DateUTC, want, p.StartMS)
			}
		}
		if v, _ := tag(rep, mux.TagPart); v != strconv.Itoa(i+1) {
			t.Errorf("part %d: %s = %q, want %d", i+1, mux.TagPart, v, i+1)
		}
		prev, hasPrev := tag(rep, mux.TagPrevUID)
		switch {
		case i == 0 && hasPrev:
			t.Errorf("part 1: %s = %q, want none", mux.TagPrevUID, prev)
		case i > 0 && prev != res.Parts[i-1].SegmentUID:
			t.Errorf("part %d: %s = %q, want part %d's SegmentUID %s", i+1, mux.TagPrevUID, prev, i, res.Parts[i-1].SegmentUID)
		}
		next, hasNext := tag(rep, mux.TagNextUID)
		switch {
		case i == len(res.Parts)-1 && hasNext:
			t.Errorf("last part: %s = %q, want none", mux.TagNextUID, next)
		case i < len(res.Parts)-1 && next != res.Parts[i+1].SegmentUID:
			t.Errorf("part %d: %s = %q, want part %d's SegmentUID %s", i+1, mux.TagNextUID, next, i+2, res.Parts[i+1].SegmentUID)
		}
	}
	sameHashes(t, "split parts", all, wantHashes)
}

// TestSplitJoinRoundTrip splits a dated input by duration and by size,
// checks every part, joins the parts back and checks that nothing was lost.
func TestSplitJoinRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	date := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	// Key frames every 0.7 s, so duration boundaries fall between them.
	in := datedCopy(t, testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 6, KeyInt: 7}), dir, date)
	inRep := scan(t, in)
	inHashes := testmedia.PacketHashes(t, in)
	keys := keyTimes(t, in)
	if len(inHashes) != 60 || len(keys) != 9 {
		t.Fatalf("fixture: %d frames, %d key frames; want 60, 9", len(inHashes), len(keys))
	}
	size := testmedia.Size(t, in)

	tests := []struct {
		name       string
		opts       mux.SplitOptions
		wantStarts []int64 // nil: not checked
	}{
		{"duration 2s", mux.SplitOptions{MaxDuration: 2 * time.Second}, durationStarts(keys, 2*time.Second)},
		{"size a third", mux.SplitOptions{MaxBytes: size / 3}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			res, parts, warnings, err := splitFile(t, in, out, true, tc.opts)
			if err != nil {
				t.Fatalf("Split(%s) = %v", tc.name, err)
			}
			if res.Stopped != nil || len(warnings) > 0 {
				t.Errorf("Split: Stopped %v, warnings %q; want none", res.Stopped, warnings)
			}
			if len(parts) < 2 {
				t.Fatalf("Split: %d parts, want several", len(parts))
			}
			var starts []int64
			for _, p := range res.Parts {
				starts = append(starts, p.StartMS)
				if tc.opts.MaxBytes > 0 && p.Bytes > tc.opts.MaxBytes {
					t.Errorf("part %d: %d bytes, over the %d-byte limit", p.Index, p.Bytes, tc.opts.MaxBytes)
				}
			}
			if tc.wantStarts != nil && !slices.Equal(starts, tc.wantStarts) {
				t.Errorf("part starts = %v ms, want %v (first key frame at or after each boundary; keys at %v)", starts, tc.wantStarts, keys)
			}
			checkParts(t, res, parts, date, inHashes)

			joined := filepath.Join(out, "joined.webm")
			jr, err := joinFiles(t, joined, parts, mux.JoinOptions{})
			if err != nil {
				t.Fatalf("Join(parts) = %v", err)
			}
			rep, hashes := checkAccepted(t, joined)
			if jr.Frames != 60 || rep.Frames != 60 || jr.DurationMS != inRep.DurationMS || rep.DurationMS != inRep.DurationMS {
				t.Errorf("Join: result %d frames %d ms, file %d frames %d ms; want 60 frames, %d ms",
					jr.Frames, jr.DurationMS, rep.Frames, rep.DurationMS, inRep.DurationMS)
			}
			if rep.DateUTC == nil || !rep.DateUTC.Equal(date) {
				t.Errorf("joined DateUTC = %v, want %v", rep.DateUTC, date)
			}
			if v, _ := tag(rep, mux.TagDevice); v != "host-1" {
				t.Errorf("joined %s = %q, want the input's host-1", mux.TagDevice, v)
			}
			for _, name := range []string{mux.TagPrevUID, mux.TagNextUID, mux.TagPart} {
				if v, ok := tag(rep, name); ok {
					t.Errorf("joined file carries %s = %q, want no part tag", name, v)
				}
			}
			sameHashes(t, "joined", hashes, inHashes)
		})
	}
}

// TestJoinOrder checks that Join refuses parts given out of order (their
// links or dates say so) unless Force, and writes nothing when it refuses.
func TestJoinOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := datedCopy(t, testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 3, KeyInt: 10}), dir, date)
	_, parts, _, err := splitFile(t, in, dir, true, mux.SplitOptions{MaxDuration: time.Second})
	if err != nil || len(parts) != 3 {
		t.Fatalf("Split = %d parts, %v; want 3, nil", len(parts), err)
	}
	// Two undated, unlinked copies: one for the DateUTC check.
	early := datedCopy(t, parts[1], dir, date)
	late := datedCopy(t, parts[0], dir, date.Add(time.Hour))

	tests := []struct {
		name    string
		paths   []string
		wantErr error
	}{
		{"in order", parts, nil},
		{"swapped links", []string{parts[1], parts[0], parts[2]}, mux.ErrOrder},
		{"last first", []string{parts[2], parts[0], parts[1]}, mux.ErrOrder},
		{"same part twice", []string{parts[0], parts[0]}, mux.ErrOrder},
		{"dates backwards", []string{late, early}, mux.ErrOrder},
		{"dates forwards", []string{early, late}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.webm")
			_, err := joinFiles(t, out, tc.paths, mux.JoinOptions{})
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("Join(%s) = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				if n := testmedia.Size(t, out); n != 0 {
					t.Errorf("Join(%s) refused but wrote %d bytes", tc.name, n)
				}
				var warnings []string
				jr, err := joinFiles(t, out, tc.paths, mux.JoinOptions{Force: true, Warn: func(m string) { warnings = append(warnings, m) }})
				if err != nil {
					t.Fatalf("Join(%s, Force) = %v, want nil", tc.name, err)
				}
				if len(warnings) == 0 || !strings.Contains(warnings[0], "--force") {
					t.Errorf("Join(%s, Force) warnings = %q, want one naming the forced order", tc.name, warnings)
				}
				if rep := scan(t, out); rep.Verdict != inspect.OK || rep.Frames != jr.Frames {
					t.Errorf("Join(%s, Force): verdict %s, %d frames; want ok, %d", tc.name, rep.Verdict, rep.Frames, jr.Frames)
				}
			}
		})
	}
}

// TestJoinByTime checks that ByTime places each part at its DateUTC offset
// from the first, and right after the previous part when they overlap.
func TestJoinByTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	date := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clip := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 2, KeyInt: 10})
	a := datedCopy(t, clip, dir, date)
	// A first part whose timestamps start at 5 s (DateUTC is the time of
	// timestamp 0, as in reckit's own parts).
	shifted := shiftedCopy(t, clip, dir, date, 5*time.Second)
	tests := []struct {
		name         string
		first        string
		second       time.Duration // DateUTC of the second part, after the first's
		byTime       bool
		wantStartMS  int64 // of the second part's first frame
		wantWarnings int
		wantDate     time.Time // of the joined file
	}{
		{"gap kept", a, 10 * time.Second, true, 10000, 0, date},
		{"gap closed without by-time", a, 10 * time.Second, false, 2000, 0, date},
		{"overlap placed after", a, time.Second, true, 2000, 1, date},
		{"first part from 5s", shifted, 10 * time.Second, true, 5000, 0, date.Add(5 * time.Second)},
		{"first part from 5s without by-time", shifted, 10 * time.Second, false, 2000, 0, date.Add(5 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.first
			b := datedCopy(t, clip, t.TempDir(), date.Add(tc.second))
			out := filepath.Join(t.TempDir(), "out.webm")
			var warnings []string
			jr, err := joinFiles(t, out, []string{a, b}, mux.JoinOptions{ByTime: tc.byTime,
				Warn: func(m string) { warnings = append(warnings, m) }})
			if err != nil {
				t.Fatalf("Join = %v", err)
			}
			if len(warnings) != tc.wantWarnings {
				t.Errorf("Join warnings = %q, want %d", warnings, tc.wantWarnings)
			}
			pk := testmedia.Packets(t, out)
			if len(pk) != 40 || pk[20].PTSMS != tc.wantStartMS || !pk[20].Key {
				t.Fatalf("Join: %d packets, packet 20 at %d ms (key %v); want 40, %d ms, key", len(pk), pk[min(20, len(pk)-1)].PTSMS, pk[min(20, len(pk)-1)].Key, tc.wantStartMS)
			}
			wantDur := tc.wantStartMS + 2000
			rep, _ := checkAccepted(t, out)
			if jr.DurationMS != wantDur || rep.DurationMS != wantDur {
				t.Errorf("Join duration: result %d ms, file %d ms; want %d", jr.DurationMS, rep.DurationMS, wantDur)
			}
			if rep.DateUTC == nil || !rep.DateUTC.Equal(tc.wantDate) || rep.FirstTimestampMS != 0 {
				t.Errorf("joined DateUTC %v, first timestamp %d ms; want %v, 0", rep.DateUTC, rep.FirstTimestampMS, tc.wantDate)
			}
		})
	}
}

// TestJoinMkvmergeParts joins the parts mkvmerge --split writes, and shows
// what links those parts carry.
func TestJoinMkvmergeParts(t *testing.T) {
	t.Parallel()
	testmedia.Require(t, "mkvmerge")
	dir := t.TempDir()
	in := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 4, KeyInt: 10})
	inHashes := testmedia.PacketHashes(t, in)
	tests := []struct {
		name, ext string
		link      bool // --link: PrevUID/NextUID in each part's Info
	}{
		{"webm", "webm", false},
		{"mkv", "mkv", false},
		{"mkv linked", "mkv", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ext := tc.ext
			out := t.TempDir()
			args := []string{"-q", "-o", filepath.Join(out, "part."+ext), "--split", "size:30k", in}
			if tc.link {
				args = append(args, "--link")
			}
			cmd := exec.Command("mkvmerge", args...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("mkvmerge --split size:30k: %v: %s", err, msg)
			}
			parts, err := filepath.Glob(filepath.Join(out, "part-*."+ext))
			if err != nil || len(parts) < 2 {
				t.Fatalf("mkvmerge --split: parts %q (%v), want several", parts, err)
			}
			for _, p := range parts {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				h, err := mux.NewReader(f, mux.ReaderOptions{}).ReadHeader()
				f.Close()
				if err != nil {
					t.Fatalf("ReadHeader(%s) = %v", p, err)
				}
				_, prev := h.FindTag(mux.TagPrevUID)
				_, next := h.FindTag(mux.TagNextUID)
				if prev || next {
					t.Errorf("%s: mkvmerge part carries reckit link tags", p)
				}
				// mkvmerge 74 writes no SegmentUID into webm parts, one
				// into mkv parts, and PrevUID/NextUID (Info elements,
				// which reckit does not read) only with --link.
				t.Logf("%s: SegmentUID %q, DateUTC %v", filepath.Base(p), h.SegmentUIDHex(), h.Info.DateUTC)
			}
			joined := filepath.Join(out, "joined.webm")
			jr, err := joinFiles(t, joined, parts, mux.JoinOptions{})
			if err != nil {
				t.Fatalf("Join(mkvmerge parts) = %v", err)
			}
			rep, hashes := checkAccepted(t, joined)
			if jr.Frames != 40 || rep.DurationMS != 4000 {
				t.Errorf("Join(mkvmerge parts): %d frames, %d ms; want 40, 4000", jr.Frames, rep.DurationMS)
			}
			sameHashes(t, "joined mkvmerge parts", hashes, inHashes)
		})
	}
}

// TestUnsupportedInputs checks that a file with a track reckit cannot carry
// over (a second audio track, an audio codec other than Opus and Vorbis, a
// subtitle track) is refused by every operation with ErrUnsupported before
// anything is written.
func TestUnsupportedInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vp8 := testmedia.FFmpegWebM(t, dir, testmedia.Spec{})
	// A WebVTT subtitle track, from a cue file written here.
	vtt := filepath.Join(dir, "cues.vtt")
	if err := os.WriteFile(vtt, []byte("WEBVTT\n\n00:00:00.100 --> 00:00:00.800\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	subs := filepath.Join(dir, "subs.webm")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", vp8, "-i", vtt,
		"-map", "0", "-map", "1", "-c:v", "copy", "-c:s", "webvtt", "-f", "webm", "-y", subs).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (webvtt): %v: %s", err, b)
	}
	tests := []struct {
		name, path, wantInErr string
	}{
		{"two audio tracks", avFile(t, dir, 1, 10, "webm", nil, "libopus", "libopus"), "second audio track"},
		{"flac audio", avFile(t, dir, 1, 10, "matroska", nil, "flac"), "A_FLAC"},
		{"subtitles", subs, "D_WEBVTT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := mux.OpenSource(tc.path, f); !errors.Is(err, mux.ErrUnsupported) || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("OpenSource(%s) = %v, want ErrUnsupported naming %s", tc.name, err, tc.wantInErr)
			}
			out := filepath.Join(t.TempDir(), "out.webm")
			if _, err := joinFiles(t, out, []string{vp8, tc.path}, mux.JoinOptions{Force: true}); !errors.Is(err, mux.ErrUnsupported) {
				t.Errorf("Join(vp8, %s) = %v, want ErrUnsupported", tc.name, err)
			}
			if n := testmedia.Size(t, out); n != 0 {
				t.Errorf("Join(vp8, %s) refused but wrote %d bytes", tc.name, n)
			}
		})
	}
}

// TestSplitBySize1080p splits a 1080p input under size limits down to less
// than one key-frame interval: every part is within the limit, byte-exact on
// disk, except a part holding one interval larger than the limit, which
// comes with a warning; nothing is cut inside an interval.
func TestSplitBySize1080p(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const keyInt = 5
	in := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Width: 1920, Height: 1080, FPS: 10, Seconds: 3, KeyInt: keyInt, Bitrate: "40M"})
	size := testmedia.Size(t, in)
	pk := testmedia.Packets(t, in)
	inHashes := testmedia.PacketHashes(t, in)
	sameHashes(t, "reckit's payload hashes of the input vs ffmpeg's", payloadHashes(t, in), inHashes)
	// Payload bytes of each key-frame interval.
	var gops []int64
	for _, p := range pk {
		if p.Key {
			gops = append(gops, 0)
		}
		gops[len(gops)-1] += int64(p.Size)
	}
	t.Logf("input %d bytes, %d frames, intervals %v", size, len(pk), gops)
	if len(gops) != 6 || size < 2<<20 {
		t.Fatalf("fixture: %d intervals, %d bytes; want 6 and over 2 MiB", len(gops), size)
	}
	minG, maxG := slices.Min(gops), slices.Max(gops)

	tests := []struct {
		name  string
		limit int64
		peers bool // check every part with the peers too (slow at 1080p)
	}{
		{"half an interval", minG / 2, false},
		{"between intervals", (minG + maxG) / 2, false},
		{"two intervals", 2*maxG + 4096, true},
		{"a third", size / 3, false},
		{"whole file", 2 * size, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			res, parts, warnings, err := splitFile(t, in, out, true, mux.SplitOptions{MaxBytes: tc.limit})
			if err != nil {
				t.Fatalf("Split(limit %d) = %v", tc.limit, err)
			}
			over, frames := 0, int64(0)
			var hashes []string
			for i, p := range res.Parts {
				got := testmedia.Size(t, parts[i])
				if got != p.Bytes {
					t.Errorf("part %d: os.Stat size = %d, PartInfo.Bytes = %d", p.Index, got, p.Bytes)
				}
				if got > tc.limit {
					over++
					if p.Keyframes != 1 {
						t.Errorf("part %d: %d bytes over the %d-byte limit with %d key-frame intervals, want only a lone oversized interval",
							p.Index, got, tc.limit, p.Keyframes)
					}
					if !slices.ContainsFunc(warnings, func(w string) bool { return strings.HasSuffix(w, fmt.Sprintf("part %d exceeds it", p.Index)) }) {
						t.Errorf("part %d: %d bytes over the %d-byte limit without a warning naming it (warnings %q)", p.Index, got, tc.limit, warnings)
					}
				}
				// Whole intervals only: each part starts on a key frame
				// and holds keyInt frames per key frame (the input has no
				// short interval).
				if p.Frames != p.Keyframes*keyInt || p.StartMS != frames*100 {
					t.Errorf("part %d: %d frames, %d key frames, starts at %d ms; want whole %d-frame intervals from %d ms",
						p.Index, p.Frames, p.Keyframes, p.StartMS, keyInt, frames*100)
				}
				frames += p.Frames
				if tc.peers {
					_, h := checkAccepted(t, parts[i])
					hashes = append(hashes, h...)
				} else if rep := scan(t, parts[i]); rep.Verdict != inspect.OK {
					t.Errorf("Scan(part %d).Verdict = %s (%s), want ok", p.Index, rep.Verdict, rep.Reason)
				} else {
					hashes = append(hashes, payloadHashes(t, parts[i])...)
				}
			}
			if over != len(warnings) {
				t.Errorf("%d parts over the limit, %d warnings %q", over, len(warnings), warnings)
			}
			if frames != int64(len(pk)) {
				t.Errorf("parts hold %d frames, want %d", frames, len(pk))
			}
			if tc.limit < minG && len(parts) != len(gops) {
				t.Errorf("limit below every interval: %d parts, want one per interval (%d)", len(parts), len(gops))
			}
			if tc.limit > size+size/10 && len(parts) != 1 {
				t.Errorf("limit above the file size: %d parts, want 1", len(parts))
			}
			sameHashes(t, "size parts", hashes, inHashes)
		})
	}
}

// TestSplitAtResolutionChange splits a 640x360/1280x720/640x360 file at its
// two in-band resolution changes, then joins the parts back.
func TestSplitAtResolutionChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sizes := []image.Point{{640, 360}, {1280, 720}, {640, 360}}
	in := testmedia.ConcatClips(t, dir, testmedia.Spec{FPS: 10, Seconds: 1, KeyInt: 5, Bitrate: "100k"}, sizes...)
	inHashes := testmedia.PacketHashes(t, in)
	inSizes := testmedia.FrameSizes(t, in)
	res, parts, _, err := splitFile(t, in, dir, true, mux.SplitOptions{AtResolutionChange: true})
	if err != nil {
		t.Fatalf("Split(at resolution change) = %v", err)
	}
	if len(parts) != 3 {
		t.Fatalf("Split: %d parts, want 3", len(parts))
	}
	checkParts(t, res, parts, time.Time{}, inHashes)
	wantReason := []string{"start", "resolution", "resolution"}
	for i, p := range res.Parts {
		want := sizes[i]
		if p.Width != want.X || p.Height != want.Y || p.Reason != wantReason[i] || p.StartMS != int64(i)*1000 || p.Frames != 10 {
			t.Errorf("part %d = %dx%d, %s, from %d ms, %d frames; want %v, %s, from %d ms, 10 frames",
				i+1, p.Width, p.Height, p.Reason, p.StartMS, p.Frames, want, wantReason[i], i*1000)
		}
		rep := scan(t, parts[i])
		if len(rep.Tracks) != 1 || rep.Tracks[0].Width != want.X || rep.Tracks[0].Height != want.Y || len(rep.Tracks[0].Resolutions) != 1 {
			t.Errorf("part %d Tracks = %+v, want one %v track with one resolution", i+1, rep.Tracks, want)
		}
		if pr := testmedia.FFprobe(t, parts[i]); pr.Width != want.X || pr.Height != want.Y {
			t.Errorf("FFprobe(part %d) = %dx%d, want %v", i+1, pr.Width, pr.Height, want)
		}
		for j, s := range testmedia.FrameSizes(t, parts[i]) {
			if s != want {
				t.Errorf("part %d frame %d decodes at %v, want %v", i+1, j, s, want)
				break
			}
		}
	}
	joined := filepath.Join(dir, "joined.webm")
	jr, err := joinFiles(t, joined, parts, mux.JoinOptions{})
	if err != nil {
		t.Fatalf("Join(parts) = %v", err)
	}
	if jr.Resolutions != 2 || jr.Width != 640 || jr.Height != 360 {
		t.Errorf("Join = %d distinct resolutions, %dx%d; want 2, 640x360", jr.Resolutions, jr.Width, jr.Height)
	}
	_, hashes := checkAccepted(t, joined)
	sameHashes(t, "joined", hashes, inHashes)
	if got := testmedia.FrameSizes(t, joined); !slices.Equal(got, inSizes) {
		t.Errorf("joined frame sizes = %v, want the input's %v", got, inSizes)
	}
}

// TestSplitStream splits live-written inputs read as a stream (a pipe, or
// stdin), which have no Segment size, Cues or Duration.
func TestSplitStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec testmedia.Spec
	}{
		{"live", testmedia.Spec{Seconds: 3, KeyInt: 10, Live: true}},
		{"pipe", testmedia.Spec{Seconds: 3, KeyInt: 10, Pipe: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := testmedia.FFmpegWebM(t, dir, tc.spec)
			if rep := scan(t, in); rep.Verdict != inspect.Unseekable {
				t.Fatalf("fixture verdict = %s, want unseekable", rep.Verdict)
			}
			inHashes := testmedia.PacketHashes(t, in)
			res, parts, warnings, err := splitFile(t, in, dir, false, mux.SplitOptions{MaxDuration: time.Second})
			if err != nil || res.Stopped != nil || len(warnings) > 0 {
				t.Fatalf("Split(stream) = %v, Stopped %v, warnings %q; want none", err, res.Stopped, warnings)
			}
			if len(parts) != 3 {
				t.Fatalf("Split(stream): %d parts, want 3", len(parts))
			}
			checkParts(t, res, parts, time.Time{}, inHashes)
		})
	}
}

// TestSplitCutInput splits an input cut inside a block: every complete frame
// is in the parts, and the result says exactly which bytes were left out.
func TestSplitCutInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	full := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 4, KeyInt: 10})
	spans := blockSpans(t, full)
	size := testmedia.Size(t, full)
	// Cut in the middle of the payload of the frame at 60 % of the file.
	var cutAt int64
	for _, s := range spans {
		if s.end > size*6/10 {
			cutAt = s.end - (s.end-s.off)/2
			break
		}
	}
	cut := filepath.Join(dir, "cut.webm")
	testmedia.Cut(t, full, cut, cutAt)
	wantFrames, wantEnd := completeBefore(spans, cutAt)
	wantHashes := testmedia.PacketHashes(t, full)[:wantFrames]

	tests := []struct {
		name     string
		seekable bool
		wantLeft int64
	}{
		{"file", true, cutAt - wantEnd},
		{"stream", false, -1}, // size unknown
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			res, parts, _, err := splitFile(t, cut, out, tc.seekable, mux.SplitOptions{MaxDuration: time.Second})
			if err != nil {
				t.Fatalf("Split(cut) = %v, want a result with Stopped", err)
			}
			if !errors.Is(res.Stopped, mux.ErrTruncated) {
				t.Errorf("Split(cut).Stopped = %v, want ErrTruncated", res.Stopped)
			}
			if res.LeftOutOffset != wantEnd || res.LeftOut != tc.wantLeft {
				t.Errorf("Split(cut) left out %d bytes from %d, want %d from %d", res.LeftOut, res.LeftOutOffset, tc.wantLeft, wantEnd)
			}
			var frames int64
			for _, p := range res.Parts {
				frames += p.Frames
			}
			if frames != int64(wantFrames) {
				t.Errorf("Split(cut) parts hold %d frames, want the %d complete ones", frames, wantFrames)
			}
			if tc.seekable {
				checkParts(t, res, parts, time.Time{}, wantHashes)
				return
			}
			for i, p := range parts {
				if rep := scan(t, p); rep.Verdict != inspect.OK {
					t.Errorf("Scan(part %d).Verdict = %s, want ok", i+1, rep.Verdict)
				}
			}
			sameHashes(t, "parts of the cut stream", concatHashes(t, parts), wantHashes)
		})
	}
}

// TestRepair repairs a file cut at 60 % and live-written files: the output
// is complete and seekable, holds every complete frame, keeps the Info, and
// the result names what was dropped.
func TestRepair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	date := time.Date(2025, 12, 31, 23, 59, 30, 0, time.UTC)
	full := datedCopy(t, testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 4, KeyInt: 10}), dir, date)
	size := testmedia.Size(t, full)
	cut := filepath.Join(dir, "cut.webm")
	testmedia.Cut(t, full, cut, size*6/10)
	fullRep := scan(t, full)
	fullHashes := testmedia.PacketHashes(t, full)

	tests := []struct {
		name        string
		path        string
		seekable    bool
		wantVerdict inspect.Verdict // of the input
		wantDropped bool
		date        time.Time
	}{
		{"cut at 60%", cut, true, inspect.Incomplete, true, date},
		{"cut at 60% as a stream", cut, false, inspect.Incomplete, true, date},
		{"live", testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 2, Live: true}), true, inspect.Unseekable, false, time.Time{}},
		{"pipe", testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 2, Pipe: true}), false, inspect.Unseekable, false, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := scan(t, tc.path)
			if before.Verdict != tc.wantVerdict {
				t.Fatalf("fixture verdict = %s, want %s", before.Verdict, tc.wantVerdict)
			}
			inSize := testmedia.Size(t, tc.path)
			wantFrames, wantEnd := completeBefore(blockSpans(t, fullOr(tc.path, cut, full)), inSize)
			allHashes := fullHashes
			if tc.path != cut {
				allHashes = testmedia.PacketHashes(t, tc.path)
			}
			wantHashes := allHashes[:wantFrames]
			out := filepath.Join(t.TempDir(), "fixed.webm")
			res, err := repairFile(t, tc.path, out, tc.seekable)
			if err != nil {
				t.Fatalf("Repair(%s) = %v", tc.name, err)
			}
			rep, hashes := checkAccepted(t, out)
			if res.Frames != int64(wantFrames) || rep.Frames != int64(wantFrames) || res.Bytes != testmedia.Size(t, out) {
				t.Errorf("Repair: result %d frames %d bytes, file %d frames %d bytes; want %d frames",
					res.Frames, res.Bytes, rep.Frames, testmedia.Size(t, out), wantFrames)
			}
			sameHashes(t, "repaired", hashes, wantHashes)
			if rep.DurationMS != res.DurationMS || rep.DurationMS != int64(wantFrames)*100 {
				t.Errorf("Repair duration: result %d ms, file %d ms; want %d", res.DurationMS, rep.DurationMS, wantFrames*100)
			}
			if before.SegmentUID != "" && rep.SegmentUID != before.SegmentUID {
				t.Errorf("repaired SegmentUID = %s, want the input's %s", rep.SegmentUID, before.SegmentUID)
			}
			if !tc.date.IsZero() {
				if rep.DateUTC == nil || !rep.DateUTC.Equal(tc.date) || rep.Title != "fixture" {
					t.Errorf("repaired DateUTC %v, Title %q; want %v, fixture", rep.DateUTC, rep.Title, tc.date)
				}
				if v, _ := tag(rep, mux.TagDevice); v != "host-1" {
					t.Errorf("repaired %s = %q, want host-1", mux.TagDevice, v)
				}
			}
			if !tc.wantDropped {
				if res.Problem != nil || res.DroppedOffset != -1 || res.DroppedBytes != 0 {
					t.Errorf("Repair(complete input): Problem %v, dropped %d bytes from %d; want nothing dropped", res.Problem, res.DroppedBytes, res.DroppedOffset)
				}
				return
			}
			wantLeft := inSize - wantEnd
			if !tc.seekable {
				wantLeft = -1
			}
			if !errors.Is(res.Problem, mux.ErrTruncated) || res.DroppedOffset != wantEnd || res.DroppedBytes != wantLeft {
				t.Errorf("Repair(cut): Problem %v, dropped %d bytes from %d; want ErrTruncated, %d from %d",
					res.Problem, res.DroppedBytes, res.DroppedOffset, wantLeft, wantEnd)
			}
			if res.DroppedFromMS != int64(wantFrames)*100 {
				t.Errorf("Repair(cut).DroppedFromMS = %d, want %d", res.DroppedFromMS, wantFrames*100)
			}
			if fullRep.Frames <= int64(wantFrames) {
				t.Errorf("fixture: the cut keeps %d of %d frames, want fewer", wantFrames, fullRep.Frames)
			}
		})
	}
}

// fullOr returns full for the cut file, else path (a complete file).
func fullOr(path, cut, full string) string {
	if path == cut {
		return full
	}
	return path
}

// TestRepairChrome repairs real Chrome MediaRecorder files (unknown sizes,
// no Cues or Duration; with a transparent canvas, BlockGroups with
// BlockAdditions) and plays the result in headless Chromium: a finite
// duration equal to the measured one, and a seek to the middle that lands
// there.
func TestRepairChrome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec testmedia.ChromeSpec
	}{
		{"opaque", testmedia.ChromeSpec{Seconds: 1}},
		{"alpha", testmedia.ChromeSpec{Seconds: 1, Alpha: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := testmedia.ChromeRecord(t, dir, tc.spec)
			before := scan(t, in)
			if before.Verdict == inspect.OK {
				t.Fatalf("Chrome file verdict = ok, want a file that needs repair")
			}
			inHashes, inSide := sideDataHashes(t, in)
			out := filepath.Join(dir, "fixed.webm")
			res, err := repairFile(t, in, out, true)
			if err != nil {
				t.Fatalf("Repair(Chrome %s) = %v", tc.name, err)
			}
			rep, hashes := checkAcceptedLike(t, out, in)
			if res.Frames != int64(len(inHashes)) || res.Problem != nil {
				t.Errorf("Repair(Chrome): %d frames, problem %v; want all %d, none", res.Frames, res.Problem, len(inHashes))
			}
			sameHashes(t, "repaired Chrome file", hashes, inHashes)
			inPk, outPk := testmedia.Packets(t, in), testmedia.Packets(t, out)
			if !slices.Equal(inPk, outPk) {
				t.Errorf("Repair(Chrome) packets (time, size, key) differ from the input's:\n got %v\nwant %v", outPk, inPk)
			}
			if _, outSide := sideDataHashes(t, out); outSide != inSide {
				// Known limitation: Repair writes SimpleBlocks only, so the
				// alpha plane Chrome keeps in BlockAdditions is not carried
				// over; the colour frames are.
				t.Logf("Repair(Chrome %s): %d of %d input packets carry side data (BlockAdditions), %d in the output",
					tc.name, inSide, len(inHashes), outSide)
			}

			// The raw Chrome file splits and joins back too. Chrome puts
			// few key frames in (often only the first): parts start at
			// the key frames the boundaries allow.
			const every = 300 * time.Millisecond
			wantStarts := durationStarts(keyTimes(t, in), every)
			sres, parts, _, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxDuration: every})
			if err != nil || sres.Stopped != nil || len(parts) != len(wantStarts) {
				t.Fatalf("Split(Chrome %s) = %d parts, %v, Stopped %v; want %d (at %v ms), no error", tc.name, len(parts), err, sres.Stopped, len(wantStarts), wantStarts)
			}
			for i, p := range sres.Parts {
				if p.StartMS != wantStarts[i] {
					t.Errorf("Chrome part %d starts at %d ms, want %d", i+1, p.StartMS, wantStarts[i])
				}
			}
			var partHashes []string
			for i, p := range parts {
				if r := scan(t, p); r.Verdict != inspect.OK || r.FirstTimestampMS != 0 {
					t.Errorf("Scan(Chrome part %d) = %s, first timestamp %d ms; want ok, 0", i+1, r.Verdict, r.FirstTimestampMS)
				}
				partHashes = append(partHashes, payloadHashes(t, p)...)
			}
			sameHashes(t, "Chrome split parts", partHashes, inHashes)
			joined := filepath.Join(dir, "joined.webm")
			if _, err := joinFiles(t, joined, parts, mux.JoinOptions{}); err != nil {
				t.Fatalf("Join(Chrome parts) = %v", err)
			}
			jrep, jhashes := checkAcceptedLike(t, joined, in)
			sameHashes(t, "joined Chrome parts", jhashes, inHashes)
			if d := jrep.DurationMS - rep.DurationMS; d < -gapOf(t, out) || d > gapOf(t, out) {
				t.Errorf("joined Chrome parts last %d ms, the repaired file %d ms: want within a frame", jrep.DurationMS, rep.DurationMS)
			}
			// The largest gap between frames: the tolerance for "within a
			// frame" on a wall-clock timeline.
			gap := gapOf(t, out)
			play := testmedia.ChromePlay(t, dir, out)
			if play.Error != "" || math.IsInf(play.Duration, 0) || math.IsNaN(play.Duration) {
				t.Fatalf("ChromePlay(repaired) = %+v, want a finite duration and no error", play)
			}
			if d := math.Abs(play.Duration*1000 - float64(rep.DurationMS)); d > float64(gap) {
				t.Errorf("Chromium duration = %.3f s, measured %d ms: off by %.0f ms, more than a frame (%d ms)", play.Duration, rep.DurationMS, d, gap)
			}
			if !play.SeekOK || play.FrameTime < 0 || math.Abs(play.FrameTime-play.SeekTarget)*1000 > float64(gap) {
				t.Errorf("ChromePlay seek to %.3f s: ok %v, frame at %.3f s; want a frame within %d ms", play.SeekTarget, play.SeekOK, play.FrameTime, gap)
			}
		})
	}
}

// gapOf returns the largest gap (ms) between consecutive frames of path.
func gapOf(t *testing.T, path string) int64 {
	t.Helper()
	pk := testmedia.Packets(t, path)
	gap := int64(0)
	for i := 1; i < len(pk); i++ {
		gap = max(gap, pk[i].PTSMS-pk[i-1].PTSMS)
	}
	return gap
}

// TestNoCompleteFrame checks that an input without one complete key frame
// is a failure for Split and Repair (not a partial success), naming the
// input's problem, with nothing written.
func TestNoCompleteFrame(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	full := testmedia.FFmpegWebM(t, dir, testmedia.Spec{})
	spans := blockSpans(t, full)
	tiny := filepath.Join(dir, "tiny.webm")
	testmedia.Cut(t, full, tiny, spans[0].end-1) // inside the first frame
	tests := []struct {
		name string
		run  func(out string) error
	}{
		{"split", func(out string) error {
			res, parts, _, err := splitFile(t, tiny, out, true, mux.SplitOptions{MaxDuration: time.Second})
			if res != nil && len(res.Parts)+len(parts) > 0 {
				t.Errorf("Split(tiny) wrote %d parts, want none", len(parts))
			}
			return err
		}},
		{"repair", func(out string) error {
			res, err := repairFile(t, tiny, filepath.Join(out, "fixed.webm"), true)
			if res != nil {
				t.Errorf("Repair(tiny) = %+v, want no result", res)
			}
			if n := testmedia.Size(t, filepath.Join(out, "fixed.webm")); n != 0 {
				t.Errorf("Repair(tiny) wrote %d bytes, want none", n)
			}
			os.Remove(filepath.Join(out, "fixed.webm"))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			err := tc.run(out)
			if !errors.Is(err, mux.ErrTruncated) || !strings.Contains(err.Error(), "no complete key frame") {
				t.Errorf("%s(tiny) = %v, want ErrTruncated and \"no complete key frame\"", tc.name, err)
			}
			if left, _ := os.ReadDir(out); len(left) > 0 {
				t.Errorf("%s(tiny) left %d files in the output directory, want none", tc.name, len(left))
			}
		})
	}
}

// countingSpill counts the scratch files Split asks for.
type countingSpill struct {
	t       *testing.T
	dir     string
	created int
}

func (c *countingSpill) new() (mux.SpillFile, error) {
	f, err := os.CreateTemp(c.dir, "spill-*")
	if err != nil {
		return nil, err
	}
	c.created++
	c.t.Cleanup(func() { f.Close() })
	return f, nil
}

// TestSplitSpill splits a 1080p input whose key-frame intervals (about 10 MB
// each, of noise) are larger than what Split keeps in memory: they go
// through one scratch file, reused, and come out byte for byte.
func TestSplitSpill(t *testing.T) {
	t.Parallel()
	testmedia.Require(t, "ffmpeg")
	dir := t.TempDir()
	in := filepath.Join(dir, "life.webm")
	// Conway's life from random cells barely compresses: about 1.6 MB a
	// frame at 1080p with a low quantizer. testmedia.Spec cannot ask for
	// it (the life source has no duration option).
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi",
		"-i", "life=random_fill_ratio=0.5:mold=0:ratio=0.5:size=1920x1080:rate=10", "-frames:v", "12",
		"-c:v", "libvpx", "-b:v", "400M", "-qmin", "0", "-qmax", "4", "-g", "6", "-auto-alt-ref", "0",
		"-threads", "1", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p", "-f", "webm", in)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg life: %v: %s", err, msg)
	}
	inHashes := testmedia.PacketHashes(t, in)
	gops := map[int]int64{}
	k := -1
	for _, p := range testmedia.Packets(t, in) {
		if p.Key {
			k++
		}
		gops[k] += int64(p.Size)
	}
	if len(inHashes) != 12 || len(gops) != 2 || gops[0] < 9<<20 || gops[1] < 9<<20 {
		t.Fatalf("fixture: %d frames, intervals %v bytes; want 12 frames in 2 intervals over 9 MiB", len(inHashes), gops)
	}
	spill := &countingSpill{t: t, dir: dir}
	limit := int64(5 << 20)
	// Spilling happens only when payloads go through memory: a stream.
	res, parts, warnings, err := splitFile(t, in, t.TempDir(), false, mux.SplitOptions{MaxBytes: limit, Spill: spill.new})
	if err != nil {
		t.Fatalf("Split(spill) = %v", err)
	}
	if spill.created != 1 {
		t.Errorf("Split made %d scratch files, want 1 (reused for every large interval)", spill.created)
	}
	if len(parts) != 2 || len(warnings) != 2 {
		t.Errorf("Split: %d parts, warnings %q; want 2 parts, each over the limit with a warning", len(parts), warnings)
	}
	var hashes []string
	for i, p := range parts {
		if rep := scan(t, p); rep.Verdict != inspect.OK || rep.Frames != 6 || rep.Bytes != res.Parts[i].Bytes {
			t.Errorf("Scan(part %d) = %s, %d frames, %d bytes; want ok, 6, %d", i+1, rep.Verdict, rep.Frames, rep.Bytes, res.Parts[i].Bytes)
		}
		hashes = append(hashes, payloadHashes(t, p)...)
	}
	sameHashes(t, "spilled parts", hashes, inHashes)
	if msg := testmedia.FFmpegDecodeErrors(t, parts[len(parts)-1]); msg != "" {
		t.Errorf("FFmpegDecodeErrors(last part) = %q, want nothing", msg)
	}
}

// blockHashes returns the SHA-256 of every video block element of path
// (header and payload, as bytes in the file), in order.
func blockHashes(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range blockSpans(t, path) {
		sum := sha256.Sum256(data[s.off:s.end])
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

// TestRemuxKeepsBlocks checks that split, join and repair of a file read
// through an io.SectionReader keep every block byte for byte, headers
// included (the output Clusters are aligned with the input's, so relative
// timestamps do not change): the condition for copying runs of blocks as
// one range.
func TestRemuxKeepsBlocks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 6, KeyInt: 10})
	want := blockHashes(t, in)
	if len(want) != 60 {
		t.Fatalf("fixture: %d blocks, want 60", len(want))
	}
	_, parts, _, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxDuration: 2 * time.Second})
	if err != nil || len(parts) != 3 {
		t.Fatalf("Split = %d parts, %v; want 3 parts", len(parts), err)
	}
	var got []string
	for _, p := range parts {
		got = append(got, blockHashes(t, p)...)
	}
	sameHashes(t, "split blocks", got, want)
	joined := filepath.Join(dir, "joined.webm")
	if _, err := joinFiles(t, joined, parts, mux.JoinOptions{}); err != nil {
		t.Fatalf("Join = %v", err)
	}
	sameHashes(t, "joined blocks", blockHashes(t, joined), want)
	cut := filepath.Join(dir, "cut.webm")
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	repaired := filepath.Join(dir, "repaired.webm")
	res, err := repairFile(t, cut, repaired, true)
	if err != nil {
		t.Fatalf("Repair = %v", err)
	}
	if res.Frames < 20 {
		t.Fatalf("Repair kept %d frames, want at least 20", res.Frames)
	}
	sameHashes(t, "repaired blocks", blockHashes(t, repaired), want[:res.Frames])
}
