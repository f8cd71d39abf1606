package mux_test

// Split, join and repair of files with an audio track next to the VP8
// video: inputs made by ffmpeg (testsrc2 and a sine tone, VP8 with Opus or
// Vorbis), every output checked with inspect.Scan, ffprobe, mkvmerge -J
// and an ffmpeg decode, and its packets (time, size, payload hash, per
// track) compared with the input's through ffprobe.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

// avFile encodes a WebM with ffmpeg: secs seconds of testsrc2 at 10 fps
// (160x120, a key frame every keyInt frames) and, for each audio codec
// given (libopus, libvorbis), a 48 kHz mono sine track; extra arguments go
// before the output (e.g. "-live", "1"). The format is webm, or matroska
// when the codecs need it.
func avFile(t *testing.T, dir string, secs, keyInt int, format string, extra []string, codecs ...string) string {
	t.Helper()
	testmedia.Require(t, "ffmpeg")
	out, err := os.CreateTemp(dir, "av-*.webm")
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	d := strconv.Itoa(secs)
	args := []string{"-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=" + d}
	for i := range codecs {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000:duration=%s", 440+110*i, d))
	}
	args = append(args, "-map", "0:v:0")
	for i, c := range codecs {
		args = append(args, "-map", fmt.Sprintf("%d:a:0", i+1), fmt.Sprintf("-c:a:%d", i), c)
	}
	args = append(args, "-ac", "1", "-b:a", "48k", "-frames:v", strconv.Itoa(secs*10),
		"-c:v", "libvpx", "-b:v", "200k", "-g", strconv.Itoa(keyInt), "-auto-alt-ref", "0", "-threads", "1",
		"-pix_fmt", "yuv420p")
	args = append(args, extra...)
	args = append(args, "-f", format, "-y", out.Name())
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, b)
	}
	return out.Name()
}

// avPacket is one packet of a track as ffprobe reports it.
type avPacket struct {
	PTS, Dur float64 // seconds
	Size     int
	Hash     string
}

// trackPackets returns the packets of stream sel ("v:0", "a:0") of path,
// in file order, from ffprobe -show_packets with MD5 payload hashes.
func trackPackets(t *testing.T, path, sel string) []avPacket {
	t.Helper()
	testmedia.Require(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", sel, "-show_data_hash", "MD5",
		"-show_entries", "packet=pts_time,duration_time,size,data_hash", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe -show_packets %s %s: %v", sel, path, err)
	}
	var j struct {
		Packets []struct {
			PTS  string `json:"pts_time"`
			Dur  string `json:"duration_time"`
			Size string `json:"size"`
			Hash string `json:"data_hash"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &j); err != nil {
		t.Fatalf("ffprobe json %s: %v", path, err)
	}
	var pk []avPacket
	for _, p := range j.Packets {
		pts, _ := strconv.ParseFloat(p.PTS, 64)
		dur, _ := strconv.ParseFloat(p.Dur, 64)
		size, _ := strconv.Atoi(p.Size)
		pk = append(pk, avPacket{pts, dur, size, p.Hash})
	}
	return pk
}

// lacedBlocks counts the laced blocks of path (reckit's reader yields one
// Block per laced frame; the first of each has LaceIndex 0).
func lacedBlocks(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := mux.NewReader(f, mux.ReaderOptions{})
	n := 0
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("Next(%s) = %v", path, err)
		}
		if b.LaceCount > 1 && b.LaceIndex == 0 {
			n++
		}
	}
}

func hashesOf(pk []avPacket) []string {
	var h []string
	for _, p := range pk {
		h = append(h, p.Hash)
	}
	return h
}

// avReport is what checkAV found in a file.
type avReport struct {
	rep          *inspect.Report
	video, audio []avPacket
	endMS        int64 // the end of the last packet of either track, from ffprobe, from the first
}

// checkAV fails the test unless reckit, ffprobe, mkvmerge and an ffmpeg
// decode all accept path as a complete, clean, seekable WebM with one VP8
// and one audio track of codec codecID, whose header Duration covers both
// tracks (the end of the last packet of either, from ffprobe).
func checkAV(t *testing.T, path, codecID string) avReport {
	t.Helper()
	return checkAVLike(t, path, codecID, "")
}

// checkAVLike is checkAV for an output made from input (when not ""), a
// file on a wall-clock timeline such as Chrome's: the ffmpeg decode keeps
// the frame times (-fps_mode passthrough), since ffmpeg's own constant-rate
// conversion to the null muxer can complain ("non monotonically increasing
// dts") about irregular but valid times, depending on where a part starts.
func checkAVLike(t *testing.T, path, codecID, input string) avReport {
	t.Helper()
	rep := scan(t, path)
	if rep.Verdict != inspect.OK || !rep.Cues || rep.HeaderDurationMS == nil {
		t.Errorf("Scan(%s) = %s (%s), cues %v, header duration %v; want ok, Cues, a Duration", path, rep.Verdict, rep.Reason, rep.Cues, rep.HeaderDurationMS)
	}
	v, a := trackPackets(t, path, "v:0"), trackPackets(t, path, "a:0")
	if len(v) == 0 || len(a) == 0 {
		t.Fatalf("ffprobe(%s): %d video and %d audio packets, want both tracks", path, len(v), len(a))
	}
	// Block times in the file: ffprobe moves Opus by its CodecDelay
	// (ffmpeg writes 6.5 ms; Chrome writes none).
	codecDelay, frameDur := trackDurations(t, path)
	delay := codecDelay.Seconds()
	first := math.Min(v[0].PTS, a[0].PTS+delay)
	// A video frame the file gives no duration for (no DefaultDuration,
	// as in Chrome's files; ffprobe then reports 0 or a guess) lasts, for
	// the Writer, the gap before it.
	lastV := v[len(v)-1]
	vEnd := lastV.PTS + lastV.Dur
	if frameDur == 0 && len(v) > 1 {
		vEnd = lastV.PTS + (lastV.PTS - v[len(v)-2].PTS)
	}
	end := math.Max(vEnd, a[len(a)-1].PTS+delay+a[len(a)-1].Dur)
	// Rounding to the ms tick: 1 ms. The Writer estimates the length of
	// a last laced block from the block before it, exact for Opus (frames
	// of one length), a few ms off for Vorbis (short and long blocks).
	tolerance := int64(1)
	if codecID == "A_VORBIS" && lacedBlocks(t, path) > 0 {
		tolerance = 5
	}
	// The Writer also takes the length of the last audio block from the
	// gap before it, where ffprobe reads the codec's own (the Opus TOC).
	// On an evenly spaced track the two agree; on Chrome's wall-clock
	// timeline the gaps jitter around the packet length, and the header
	// may differ from ffprobe's end by that jitter.
	if audioJitter(a) > 0 {
		n := len(a)
		tolerance += int64(math.Round(math.Abs((a[n-1].PTS-a[n-2].PTS)-a[n-1].Dur) * 1000))
	}
	want := int64(math.Round((end - first) * 1000))
	if rep.HeaderDurationMS != nil && absInt(*rep.HeaderDurationMS-want) > tolerance {
		t.Errorf("%s: header Duration %d ms, want %d within %d ms (the end of the last packet of either track, from ffprobe)", path, *rep.HeaderDurationMS, want, tolerance)
	}
	m := testmedia.MkvmergeJ(t, path)
	var ids []string
	for _, tr := range m.Tracks {
		ids = append(ids, tr.CodecID)
	}
	if m.ExitCode != 0 || !m.Recognized || !m.Supported || len(m.Errors) > 0 || len(m.Warnings) > 0 ||
		!slices.Equal(ids, []string{"V_VP8", codecID}) || !m.HasDuration || m.DurationNS/1e6 != derefOr(rep.HeaderDurationMS) {
		t.Errorf("MkvmergeJ(%s) = exit %d, recognized %v, supported %v, errors %q, warnings %q, tracks %v, duration %d ns; want a clean 0, [V_VP8 %s], %v ms",
			path, m.ExitCode, m.Recognized, m.Supported, m.Errors, m.Warnings, ids, m.DurationNS, codecID, rep.HeaderDurationMS)
	}
	if input == "" {
		if msg := testmedia.FFmpegDecodeErrors(t, path); msg != "" {
			t.Errorf("ffmpeg -v error -i %s -f null - = %q, want nothing", path, msg)
		}
	} else if msg := passthroughDecodeErrors(t, path); msg != "" {
		t.Errorf("ffmpeg -v error -i %s -fps_mode passthrough -enc_time_base -1 -f null - = %q, want nothing", path, msg)
	}
	if int64(len(v)+len(a)) != rep.Frames {
		t.Errorf("%s: ffprobe %d+%d packets, reckit %d blocks", path, len(v), len(a), rep.Frames)
	}
	return avReport{rep, v, a, want}
}

// passthroughDecodeErrors decodes every stream of path with ffmpeg at log
// level error, keeping frame times as they are (and in the file's own time
// base, so that two frames a few ms apart are not rounded onto one tick of
// a guessed frame rate), and returns what it printed (nothing for a clean
// file).
func passthroughDecodeErrors(t *testing.T, path string) string {
	t.Helper()
	testmedia.Require(t, "ffmpeg")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path,
		"-map", "0", "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	if err != nil && msg == "" {
		msg = err.Error()
	}
	return msg
}

// audioJitter returns the largest difference (s) between an audio
// packet's duration and the gap to the next packet: 0 on an evenly spaced
// track (ffmpeg's), tens of ms on Chrome's wall-clock timeline.
func audioJitter(a []avPacket) float64 {
	j := 0.0
	for i := 0; i+1 < len(a); i++ {
		j = math.Max(j, math.Abs((a[i+1].PTS-a[i].PTS)-a[i].Dur))
	}
	if j < 0.0005 {
		return 0
	}
	return j
}

// trackDurations returns the CodecDelay of path's audio track (0 without
// one) and the DefaultDuration of its video track (0 without one), from
// reckit's reader.
func trackDurations(t *testing.T, path string) (codecDelay, frameDur time.Duration) {
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
	if src.Audio != nil {
		codecDelay = time.Duration(src.Audio.CodecDelay)
	}
	return codecDelay, src.FrameDuration()
}

func absInt(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func derefOr(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// samePackets fails the test unless got and want hold the same packets:
// payload hashes, sizes and times (to the millisecond).
func samePackets(t *testing.T, what string, got, want []avPacket) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d packets, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Hash != w.Hash || g.Size != w.Size || math.Abs(g.PTS-w.PTS) > 0.0005 {
			t.Errorf("%s: packet %d = %+v, want %+v", what, i, g, w)
			return
		}
	}
}

// TestAudioSplitJoin splits ffmpeg files with Opus and Vorbis audio, and
// their mkvmerge remuxes (laced audio blocks), by duration and by size (as
// files and as streams), checks every part, and joins the parts back into a
// file whose packets, in both tracks, are the input's: the same payloads at
// the same times.
func TestAudioSplitJoin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opus := avFile(t, dir, 6, 10, "webm", nil, "libopus")
	vorbis := avFile(t, dir, 6, 10, "webm", nil, "libvorbis")
	size := testmedia.Size(t, opus)
	testmedia.Require(t, "mkvmerge")
	mkvOpus := testmedia.MkvmergeRemux(t, opus, filepath.Join(dir, "mkv-opus.webm"))
	mkvVorbis := testmedia.MkvmergeRemux(t, vorbis, filepath.Join(dir, "mkv-vorbis.webm"))
	tests := []struct {
		name, in, codec string
		seekable        bool
		opts            mux.SplitOptions
		wantParts       int // 0: at least 2
	}{
		{"mkvmerge opus duration 2s", mkvOpus, "A_OPUS", true, mux.SplitOptions{MaxDuration: 2 * time.Second}, 3},
		{"mkvmerge vorbis size a third stream", mkvVorbis, "A_VORBIS", false, mux.SplitOptions{MaxBytes: testmedia.Size(t, mkvVorbis) / 3}, 0},
		{"opus duration 2s", opus, "A_OPUS", true, mux.SplitOptions{MaxDuration: 2 * time.Second}, 3},
		{"opus duration 2s stream", opus, "A_OPUS", false, mux.SplitOptions{MaxDuration: 2 * time.Second}, 3},
		{"opus size a third", opus, "A_OPUS", true, mux.SplitOptions{MaxBytes: size / 3}, 0},
		{"opus size a quarter stream", opus, "A_OPUS", false, mux.SplitOptions{MaxBytes: size / 4}, 0},
		{"vorbis duration 3s", vorbis, "A_VORBIS", true, mux.SplitOptions{MaxDuration: 3 * time.Second}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := avReport{video: trackPackets(t, tc.in, "v:0"), audio: trackPackets(t, tc.in, "a:0")}
			if tc.in == opus || tc.in == vorbis {
				in = checkAV(t, tc.in, tc.codec)
			}
			laced := tc.in == mkvOpus || tc.in == mkvVorbis
			if laced {
				if lacedBlocks(t, tc.in) == 0 {
					t.Fatalf("fixture %s: no laced audio block, want mkvmerge's lacing", tc.in)
				}
			}
			out := t.TempDir()
			res, parts, warnings, err := splitFile(t, tc.in, out, tc.seekable, tc.opts)
			if err != nil || res.Stopped != nil || len(warnings) > 0 {
				t.Fatalf("Split(%s) = %v, Stopped %v, warnings %q; want no error", tc.name, err, res.Stopped, warnings)
			}
			if (tc.wantParts > 0 && len(parts) != tc.wantParts) || len(parts) < 2 {
				t.Fatalf("Split(%s): %d parts, want %d (at least 2)", tc.name, len(parts), tc.wantParts)
			}
			var v, a []string
			var audioFrames int64
			for i, p := range res.Parts {
				if tc.opts.MaxBytes > 0 && p.Bytes > tc.opts.MaxBytes {
					t.Errorf("part %d: %d bytes, over the %d-byte limit", i+1, p.Bytes, tc.opts.MaxBytes)
				}
				if got := testmedia.Size(t, parts[i]); got != p.Bytes {
					t.Errorf("part %d: %d bytes on disk, PartInfo.Bytes %d", i+1, got, p.Bytes)
				}
				r := checkAV(t, parts[i], tc.codec)
				if r.rep.FirstTimestampMS != 0 && i > 0 {
					t.Errorf("part %d: first video timestamp %d ms, want 0 (a part starts at its key frame)", i+1, r.rep.FirstTimestampMS)
				}
				if int64(len(r.video)) != p.Frames || int64(len(r.audio)) != p.AudioFrames || r.rep.DurationMS > p.DurationMS {
					t.Errorf("part %d: %d video, %d audio packets, video %d ms; PartInfo says %d, %d, %d ms overall",
						i+1, len(r.video), len(r.audio), r.rep.DurationMS, p.Frames, p.AudioFrames, p.DurationMS)
				}
				// Audio belongs to the part whose time range holds it:
				// from this part's key frame to the next part's. A laced
				// block goes whole by its first frame's time: its other
				// frames (mkvmerge laces about 160 ms) may pass the end.
				if i+1 < len(res.Parts) {
					next := res.Parts[i+1].StartMS - p.StartMS
					if laced {
						next += 250
					}
					for _, pk := range r.audio {
						if ms := int64(math.Round(pk.PTS * 1000)); ms >= next {
							t.Errorf("part %d: audio packet at %d ms, at or after the next part's start (%d ms in)", i+1, ms, next)
							break
						}
					}
				}
				v = append(v, hashesOf(r.video)...)
				a = append(a, hashesOf(r.audio)...)
				audioFrames += p.AudioFrames
			}
			sameHashes(t, "split parts, video", v, hashesOf(in.video))
			sameHashes(t, "split parts, audio", a, hashesOf(in.audio))
			if audioFrames != int64(len(in.audio)) {
				t.Errorf("PartInfo.AudioFrames add up to %d, want %d", audioFrames, len(in.audio))
			}

			joined := filepath.Join(out, "joined.webm")
			jr, err := joinFiles(t, joined, parts, mux.JoinOptions{})
			if err != nil {
				t.Fatalf("Join(parts) = %v", err)
			}
			j := checkAV(t, joined, tc.codec)
			samePackets(t, "joined video", j.video, in.video)
			samePackets(t, "joined audio", j.audio, in.audio)
			if jr.Frames != int64(len(in.video)) || jr.AudioFrames != int64(len(in.audio)) || jr.DurationMS != *j.rep.HeaderDurationMS {
				t.Errorf("Join = %d video, %d audio frames, %d ms; want %d, %d, %d ms (the file's header)",
					jr.Frames, jr.AudioFrames, jr.DurationMS, len(in.video), len(in.audio), *j.rep.HeaderDurationMS)
			}
			if in.rep != nil && *in.rep.HeaderDurationMS != jr.DurationMS {
				t.Errorf("Join = %d ms, the input's header says %d ms", jr.DurationMS, *in.rep.HeaderDurationMS)
			}
		})
	}
}

// TestAudioSplitSizeTight splits by sizes just around what a part of the
// first two seconds (two key-frame intervals with their audio) takes. The
// size estimate counts the audio blocks: a limit a byte short of that part
// gets a smaller part, never a larger one; a limit with room for what Close
// may add (the Cues estimate, a bound) gets that part exactly.
func TestAudioSplitSizeTight(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := avFile(t, dir, 4, 10, "webm", nil, "libopus")
	res, _, _, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxDuration: 2 * time.Second})
	if err != nil || len(res.Parts) != 2 {
		t.Fatalf("Split(2s) = %d parts, %v; want 2", len(res.Parts), err)
	}
	// A part of the first two seconds takes res.Parts[0].Bytes (give or
	// take the width of the random TrackUIDs: a byte or two).
	exact, two := res.Parts[0].Bytes, res.Parts[0]
	// What the size check reserves for Close beyond the part's blocks: the
	// Cues of a few CuePoints (at most 31 bytes each), bounded from above.
	const closeSlack = 12 + 6*31
	tests := []struct {
		name      string
		limit     int64
		wantFirst bool // part 1 holds the first two seconds (else less)
	}{
		{"one byte less", exact - 1, false},
		{"with room for the Cues bound", exact + closeSlack, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, parts, _, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxBytes: tc.limit})
			if err != nil {
				t.Fatalf("Split(%d bytes) = %v", tc.limit, err)
			}
			for i, p := range res.Parts {
				if p.Bytes > tc.limit {
					t.Errorf("part %d: %d bytes, over the %d-byte limit", i+1, p.Bytes, tc.limit)
				}
			}
			p := res.Parts[0]
			if got := p.Frames == two.Frames && p.AudioFrames == two.AudioFrames; got != tc.wantFirst {
				t.Errorf("Split(%d bytes): part 1 has %d video, %d audio frames (%d bytes); the first two seconds are %d, %d (%d bytes): want them %v",
					tc.limit, p.Frames, p.AudioFrames, p.Bytes, two.Frames, two.AudioFrames, exact, tc.wantFirst)
			}
			if !tc.wantFirst && p.Frames >= two.Frames {
				t.Errorf("Split(%d bytes): part 1 has %d video frames, want fewer than %d", tc.limit, p.Frames, two.Frames)
			}
			checkAV(t, parts[0], "A_OPUS")
		})
	}
}

// TestAudioRepair repairs an Opus file cut at 60 % (as a file and as a
// stream) and a live-written one: every complete block of both tracks is
// kept, with its time, and the result plays and seeks in Chromium.
func TestAudioRepair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	full := avFile(t, dir, 4, 10, "webm", nil, "libopus")
	cut := filepath.Join(dir, "cut.webm")
	testmedia.Cut(t, full, cut, testmedia.Size(t, full)*6/10)
	live := avFile(t, dir, 3, 10, "webm", []string{"-live", "1"}, "libopus")
	tests := []struct {
		name, in, ref string // ref: the complete file in has the blocks of
		seekable      bool
		play          bool
	}{
		{"cut at 60%", cut, full, true, true},
		{"cut at 60% as a stream", cut, full, false, false},
		{"live", live, live, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inSize := testmedia.Size(t, tc.in)
			spans := blockSpans(t, tc.ref)
			blocks, end := completeBefore(spans, inSize)
			refV, refA := trackPackets(t, tc.ref, "v:0"), trackPackets(t, tc.ref, "a:0")
			out := filepath.Join(t.TempDir(), "fixed.webm")
			res, err := repairFile(t, tc.in, out, tc.seekable)
			if err != nil {
				t.Fatalf("Repair(%s) = %v", tc.name, err)
			}
			r := checkAV(t, out, "A_OPUS")
			if res.Frames+res.AudioFrames != int64(blocks) || int64(len(r.video)) != res.Frames || int64(len(r.audio)) != res.AudioFrames {
				t.Errorf("Repair: %d video + %d audio frames, file %d + %d; want %d blocks in all",
					res.Frames, res.AudioFrames, len(r.video), len(r.audio), blocks)
			}
			if len(r.video) > len(refV) || len(r.audio) > len(refA) {
				t.Fatalf("Repair: more packets than the complete file")
			}
			samePackets(t, "repaired video", r.video, refV[:len(r.video)])
			samePackets(t, "repaired audio", r.audio, refA[:len(r.audio)])
			if res.DurationMS != *r.rep.HeaderDurationMS {
				t.Errorf("Repair.DurationMS = %d, header %d", res.DurationMS, *r.rep.HeaderDurationMS)
			}
			if tc.in == tc.ref {
				if res.Problem != nil || res.DroppedOffset != -1 {
					t.Errorf("Repair(complete) = problem %v, dropped from %d; want nothing dropped", res.Problem, res.DroppedOffset)
				}
			} else {
				if len(r.video) == len(refV) || len(r.audio) == len(refA) {
					t.Errorf("fixture: the cut keeps %d/%d video, %d/%d audio packets; want fewer", len(r.video), len(refV), len(r.audio), len(refA))
				}
				if !errors.Is(res.Problem, mux.ErrTruncated) || res.DroppedOffset != end || res.DroppedFromMS != res.DurationMS {
					t.Errorf("Repair(cut) = problem %v, dropped from byte %d, from %d ms; want ErrTruncated, %d, %d ms",
						res.Problem, res.DroppedOffset, res.DroppedFromMS, end, res.DurationMS)
				}
			}
			if !tc.play {
				return
			}
			play := testmedia.ChromePlay(t, t.TempDir(), out)
			if play.Error != "" || math.IsInf(play.Duration, 0) || math.IsNaN(play.Duration) {
				t.Fatalf("ChromePlay(repaired) = %+v, want a finite duration and no error", play)
			}
			if d := math.Abs(play.Duration*1000 - float64(res.DurationMS)); d > 100 {
				t.Errorf("Chromium duration = %.3f s, the file's %d ms: off by %.0f ms, more than a frame", play.Duration, res.DurationMS, d)
			}
			if !play.SeekOK || play.FrameTime < 0 || math.Abs(play.FrameTime-play.SeekTarget) > 0.1 {
				t.Errorf("ChromePlay seek to %.3f s: ok %v, frame at %.3f s; want a frame within 100 ms", play.SeekTarget, play.SeekOK, play.FrameTime)
			}
		})
	}
}

// TestJoinAudioMismatch checks that Join refuses parts whose audio tracks
// differ (one without audio, Opus and Vorbis) unless Force, writing
// nothing; with Force it keeps the first part's audio track and leaves out
// the audio of the parts that differ.
func TestJoinAudioMismatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vp8 := testmedia.FFmpegWebM(t, dir, testmedia.Spec{Seconds: 2})
	opus := avFile(t, dir, 2, 10, "webm", nil, "libopus")
	vorbis := avFile(t, dir, 2, 10, "webm", nil, "libvorbis")
	tests := []struct {
		name       string
		parts      []string
		wantTracks []string // with Force
		wantAudio  int      // audio frames kept with Force: from these parts
	}{
		{"video then opus", []string{vp8, opus}, []string{"V_VP8"}, 0},
		{"opus then video", []string{opus, vp8}, []string{"V_VP8", "A_OPUS"}, 1},
		{"opus then vorbis", []string{opus, vorbis}, []string{"V_VP8", "A_OPUS"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "joined.webm")
			if _, err := joinFiles(t, out, tc.parts, mux.JoinOptions{}); !errors.Is(err, mux.ErrMismatch) {
				t.Errorf("Join(%s) = %v, want ErrMismatch", tc.name, err)
			}
			if n := testmedia.Size(t, out); n != 0 {
				t.Errorf("Join(%s) refused but wrote %d bytes", tc.name, n)
			}
			var warned []string
			res, err := joinFiles(t, out, tc.parts, mux.JoinOptions{Force: true, Warn: func(m string) { warned = append(warned, m) }})
			if err != nil || len(warned) != 1 {
				t.Fatalf("Join(%s, Force) = %v, warnings %q; want success and one warning", tc.name, err, warned)
			}
			m := testmedia.MkvmergeJ(t, out)
			var ids []string
			for _, tr := range m.Tracks {
				ids = append(ids, tr.CodecID)
			}
			wantAudio := 0
			if tc.wantAudio > 0 {
				wantAudio = len(trackPackets(t, tc.parts[0], "a:0"))
			}
			if !slices.Equal(ids, tc.wantTracks) || res.AudioFrames != int64(wantAudio) || res.Frames != 40 {
				t.Errorf("Join(%s, Force): tracks %v, %d video, %d audio frames; want %v, 40, %d", tc.name, ids, res.Frames, res.AudioFrames, tc.wantTracks, wantAudio)
			}
			if msg := testmedia.FFmpegDecodeErrors(t, out); msg != "" {
				t.Errorf("ffmpeg -v error -i %s -f null - = %q, want nothing", out, msg)
			}
		})
	}
}

// TestWriterAudio writes video and audio frames by value and reads them
// back with reckit's own reader: both tracks in order, the audio track's
// description, DiscardPadding, key flags, Cues on video key frames only,
// and the errors for audio going back or without an audio track.
func TestWriterAudio(t *testing.T) {
	t.Parallel()
	var buf testmedia.SeekBuffer
	at := &mux.AudioTrack{CodecID: "A_OPUS", CodecPrivate: []byte("OpusHead-test"), SamplingFrequency: 48000,
		Channels: 2, CodecDelay: 6500 * time.Microsecond, SeekPreRoll: 80 * time.Millisecond}
	w, err := mux.NewWriter(&buf, mux.WriterOptions{Width: 64, Height: 48, FrameDuration: 100 * time.Millisecond, Audio: at})
	if err != nil {
		t.Fatal(err)
	}
	type wrote struct {
		ts      time.Duration
		audio   bool
		discard time.Duration
		size    int
	}
	var want []wrote
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 60; i++ {
		ts := time.Duration(i) * 20 * time.Millisecond
		if i%5 == 0 {
			key := i%50 == 0
			f := testmedia.SynthVP8(rng, key, 64, 48, 200+i)
			if err := w.WriteFrame(ts, key, f); err != nil {
				t.Fatalf("WriteFrame(%v) = %v", ts, err)
			}
			want = append(want, wrote{ts, false, 0, len(f)})
		}
		var discard time.Duration
		if i == 59 {
			discard = 3 * time.Millisecond
		}
		p := bytes.Repeat([]byte{byte(i)}, 40+i)
		if err := w.WriteAudio(ts+time.Millisecond, p, discard); err != nil {
			t.Fatalf("WriteAudio(%v) = %v", ts, err)
		}
		want = append(want, wrote{ts + time.Millisecond, true, discard, len(p)})
	}
	if err := w.WriteAudio(0, []byte{1}, 0); err == nil {
		t.Errorf("WriteAudio(0) after 1181 ms = nil, want an error (goes back)")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Frames() != 12 || w.AudioFrames() != 60 || w.Duration() != 1201*time.Millisecond {
		t.Errorf("Writer: %d video, %d audio frames, %v; want 12, 60, 1.201s (the last audio frame ends at 1181+20 ms)", w.Frames(), w.AudioFrames(), w.Duration())
	}

	src, err := mux.OpenSource("mem", bytes.NewReader(buf.Bytes))
	if err != nil {
		t.Fatalf("OpenSource(written) = %v", err)
	}
	a := src.Audio
	if a == nil || a.Number != 2 || a.CodecID != "A_OPUS" || string(a.CodecPrivate) != "OpusHead-test" || a.SamplingFreq != 48000 ||
		a.Channels != 2 || a.CodecDelay != 6500000 || a.SeekPreRoll != 80000000 {
		t.Fatalf("OpenSource(written).Audio = %+v, want track 2, the AudioTrack written", a)
	}
	var got []wrote
	for {
		f, err := src.NextFrame(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextFrame = %v", err)
		}
		if f.Audio && !f.Key {
			t.Errorf("audio frame at %v without the key flag", f.TS)
		}
		got = append(got, wrote{f.TS, f.Audio, f.Discard, len(f.Data)})
	}
	if !slices.Equal(got, want) {
		t.Errorf("frames read back = %v, want %v", got, want)
	}
	rep := scan(t, writeTemp(t, buf.Bytes))
	if rep.Verdict != inspect.OK || rep.CuePoints != 2 {
		t.Errorf("Scan(written) = %s, %d cue points; want ok, 2 (the video key frames)", rep.Verdict, rep.CuePoints)
	}

	var plain testmedia.SeekBuffer
	w2, err := mux.NewWriter(&plain, mux.WriterOptions{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.WriteAudio(0, []byte{1}, 0); err == nil {
		t.Errorf("WriteAudio without an audio track = nil, want an error")
	}
	w2.Close()
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "w.webm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAudioRepairCutInGroup cuts an Opus file inside its last audio
// BlockGroup, after the Block but inside its DiscardPadding: that frame is
// not complete, so Repair drops it (and says so from the group's offset)
// and keeps every frame before it.
func TestAudioRepairCutInGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	full := avFile(t, dir, 2, 10, "webm", nil, "libopus")
	f, err := os.Open(full)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewReader(f, mux.ReaderOptions{})
	var group *mux.Block
	blocks, before := 0, 0 // before: blocks ahead of the group
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next(%s) = %v", full, err)
		}
		if !b.Simple {
			c := *b
			group = &c
			before = blocks
		}
		blocks++
	}
	f.Close()
	if group == nil || group.ElementEnd <= group.DataOffset+group.DataSize {
		t.Fatalf("fixture: no audio BlockGroup with elements after its Block (ffmpeg writes DiscardPadding on the last Opus packet)")
	}
	for _, seekable := range []bool{true, false} {
		t.Run(fmt.Sprintf("seekable %v", seekable), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "cut.webm")
			testmedia.Cut(t, full, cut, group.ElementEnd-1)
			out := filepath.Join(t.TempDir(), "fixed.webm")
			res, err := repairFile(t, cut, out, seekable)
			if err != nil {
				t.Fatalf("Repair = %v", err)
			}
			if res.DroppedOffset != group.Offset || res.Frames+res.AudioFrames != int64(before) || before < blocks-2 {
				t.Errorf("Repair(cut in the last BlockGroup) = dropped from %d, %d+%d frames; want from %d, %d (of %d)",
					res.DroppedOffset, res.Frames, res.AudioFrames, group.Offset, before, blocks)
			}
			checkAV(t, out, "A_OPUS")
		})
	}
}

// TestAudioRepairChrome repairs real Chrome MediaRecorder files with audio
// (a WebAudio tone next to the canvas: Chrome writes VP8 as track 1 and
// Opus as track 2, without CodecDelay, in unknown-size Clusters, on a
// wall-clock timeline): every packet of both tracks is kept with its
// payload and time, the peers accept the result with its two tracks, and
// headless Chromium plays it with a finite duration equal to the measured
// one and seeks to the middle. The raw file also splits by duration and
// joins back to the same packets. Chrome's default makes only the first
// frame a key frame; the second file asks for one every 500 ms, so the
// split has parts to cut.
func TestAudioRepairChrome(t *testing.T) {
	t.Parallel()
	const every = 500 * time.Millisecond
	tests := []struct {
		name      string
		spec      testmedia.ChromeSpec
		wantParts int // at least
	}{
		{"default key frames", testmedia.ChromeSpec{Seconds: 2, Audio: true}, 1},
		{"key frames every 500 ms", testmedia.ChromeSpec{Seconds: 2, Audio: true, KeyInterval: every}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := testmedia.ChromeRecord(t, dir, tc.spec)
			if before := scan(t, in); before.Verdict == inspect.OK {
				t.Fatalf("Chrome file verdict = ok, want a file that needs repair")
			}
			inV, inA := trackPackets(t, in, "v:0"), trackPackets(t, in, "a:0")
			if len(inV) == 0 || len(inA) == 0 {
				t.Fatalf("fixture %s: %d video, %d audio packets; want both tracks", in, len(inV), len(inA))
			}
			if delay, frameDur := trackDurations(t, in); delay != 0 || frameDur != 0 {
				t.Errorf("fixture %s: CodecDelay %v, DefaultDuration %v; want neither (Chrome writes neither)", in, delay, frameDur)
			}

			out := filepath.Join(dir, "fixed.webm")
			res, err := repairFile(t, in, out, true)
			if err != nil {
				t.Fatalf("Repair(Chrome %s) = %v", tc.name, err)
			}
			if res.Problem != nil || res.DroppedOffset != -1 || res.DroppedLead != 0 ||
				res.Frames != int64(len(inV)) || res.AudioFrames != int64(len(inA)) {
				t.Errorf("Repair(Chrome %s) = %d video, %d audio frames, problem %v, dropped from %d, %d lead; want %d, %d, nothing dropped",
					tc.name, res.Frames, res.AudioFrames, res.Problem, res.DroppedOffset, res.DroppedLead, len(inV), len(inA))
			}
			r := checkAVLike(t, out, "A_OPUS", in)
			samePackets(t, "repaired Chrome video", r.video, inV)
			samePackets(t, "repaired Chrome audio", r.audio, inA)
			if res.DurationMS != *r.rep.HeaderDurationMS {
				t.Errorf("Repair.DurationMS = %d, header %d; want them equal", res.DurationMS, *r.rep.HeaderDurationMS)
			}

			// The raw file splits by duration at the key frames the
			// boundaries allow, audio with the part whose time range
			// holds it, and joins back to the input's packets.
			wantStarts := durationStarts(keyTimes(t, in), every)
			sres, parts, warnings, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxDuration: every})
			if err != nil {
				t.Fatalf("Split(Chrome %s) = %v", tc.name, err)
			}
			// Chrome marks even an opaque canvas's track AlphaMode 1, with
			// no BlockAdditions: nothing is lost, nothing to warn about.
			if len(warnings) > 0 {
				t.Errorf("Split(Chrome %s) warnings = %q, want none (no BlockAdditions in the file)", tc.name, warnings)
			}
			if sres.Stopped != nil || len(parts) != len(wantStarts) || len(parts) < tc.wantParts {
				t.Fatalf("Split(Chrome %s) = %d parts, Stopped %v; want %d (at %v ms, at least %d)",
					tc.name, len(parts), sres.Stopped, len(wantStarts), wantStarts, tc.wantParts)
			}
			var v, a []string
			var nv, na []int // packets per part
			for i, p := range sres.Parts {
				if p.StartMS != wantStarts[i] {
					t.Errorf("Chrome part %d starts at %d ms, want %d", i+1, p.StartMS, wantStarts[i])
				}
				pr := checkAVLike(t, parts[i], "A_OPUS", in)
				if i > 0 && pr.rep.FirstTimestampMS != 0 {
					t.Errorf("Chrome part %d: first video timestamp %d ms, want 0", i+1, pr.rep.FirstTimestampMS)
				}
				if int64(len(pr.video)) != p.Frames || int64(len(pr.audio)) != p.AudioFrames {
					t.Errorf("Chrome part %d: %d video, %d audio packets; PartInfo says %d, %d", i+1, len(pr.video), len(pr.audio), p.Frames, p.AudioFrames)
				}
				if i+1 < len(sres.Parts) {
					next := sres.Parts[i+1].StartMS - p.StartMS
					for _, pk := range pr.audio {
						if ms := int64(math.Round(pk.PTS * 1000)); ms >= next {
							t.Errorf("Chrome part %d: audio packet at %d ms, at or after the next part's start (%d ms in)", i+1, ms, next)
							break
						}
					}
				}
				v = append(v, hashesOf(pr.video)...)
				a = append(a, hashesOf(pr.audio)...)
				nv, na = append(nv, len(pr.video)), append(na, len(pr.audio))
			}
			sameHashes(t, "Chrome split parts, video", v, hashesOf(inV))
			sameHashes(t, "Chrome split parts, audio", a, hashesOf(inA))
			joined := filepath.Join(dir, "joined.webm")
			jres, err := joinFiles(t, joined, parts, mux.JoinOptions{})
			if err != nil {
				t.Fatalf("Join(Chrome parts) = %v", err)
			}
			j := checkAVLike(t, joined, "A_OPUS", in)
			sameHashes(t, "joined Chrome parts, video", hashesOf(j.video), hashesOf(inV))
			sameHashes(t, "joined Chrome parts, audio", hashesOf(j.audio), hashesOf(inA))
			// Times: the parts carry no DateUTC, so Join places each part
			// one frame (the last gap) after the previous part's last
			// frame, where Chrome's wall clock had its key frame a gap of
			// its own later. Each part keeps its inner timing, audio with
			// its video, shifted as a whole by at most a frame per part.
			// (A long gap before a key frame, as a loaded machine makes,
			// moves the next part back into the previous part's audio:
			// Join then pushes that part's first audio blocks to the
			// previous one's timestamp, out of step with their video.)
			if len(j.video) == len(inV) && len(j.audio) == len(inA) {
				shifts := partShifts(t, j.video, inV, nv, j.audio, inA, na)
				inGap := gapOf(t, in)
				t.Logf("Join(Chrome %s parts): each part moved by %v ms from the input's timeline (largest frame gap %d ms)", tc.name, shifts, inGap)
				for i := 1; i < len(shifts); i++ {
					if d := absInt(shifts[i] - shifts[i-1]); d > inGap {
						t.Errorf("Join(Chrome parts): part %d moved %d ms against part %d, more than a frame (%d ms)", i+1, d, i, inGap)
					}
				}
			}
			if jres.Frames != int64(len(inV)) || jres.AudioFrames != int64(len(inA)) || jres.DurationMS != *j.rep.HeaderDurationMS {
				t.Errorf("Join(Chrome parts) = %d video, %d audio frames, %d ms; want %d, %d, %d ms (the file's header)",
					jres.Frames, jres.AudioFrames, jres.DurationMS, len(inV), len(inA), *j.rep.HeaderDurationMS)
			}

			// The largest gap between video frames: the tolerance for
			// "within a frame" on a wall-clock timeline. The measured
			// duration covers both tracks: the end of the last packet of
			// either, from ffprobe (Chrome's audio often ends after its
			// video; inspect's DurationMS spans the video track only).
			gap := gapOf(t, out)
			play := testmedia.ChromePlay(t, dir, out)
			t.Logf("ChromePlay(repaired %s) = %+v; header %d ms, measured %d ms (video only: %d ms), largest frame gap %d ms",
				tc.name, play, res.DurationMS, r.endMS, r.rep.DurationMS, gap)
			if play.Error != "" || math.IsInf(play.Duration, 0) || math.IsNaN(play.Duration) {
				t.Fatalf("ChromePlay(repaired) = %+v, want a finite duration and no error", play)
			}
			if d := math.Abs(play.Duration*1000 - float64(r.endMS)); d > float64(gap) {
				t.Errorf("Chromium duration = %.3f s, measured %d ms: off by %.0f ms, more than a frame (%d ms)", play.Duration, r.endMS, d, gap)
			}
			if !play.SeekOK || play.FrameTime < 0 || math.Abs(play.FrameTime-play.SeekTarget)*1000 > float64(gap) {
				t.Errorf("ChromePlay seek to %.3f s: ok %v, frame at %.3f s; want a frame within %d ms", play.SeekTarget, play.SeekOK, play.FrameTime, gap)
			}
		})
	}
}

// partShifts returns, for each part, how far (ms) the joined file moved
// its packets from the input's times, and fails the test unless every
// packet of a part, video and audio, moved by the same amount (the part's
// audio stays in sync with its video). nv and na count each part's video
// and audio packets, in order.
func partShifts(t *testing.T, jv, inV []avPacket, nv []int, ja, inA []avPacket, na []int) []int64 {
	t.Helper()
	ms := func(s float64) int64 { return int64(math.Round(s * 1000)) }
	var shifts []int64
	iv, ia := 0, 0
	for p := range nv {
		shift := ms(jv[iv].PTS) - ms(inV[iv].PTS)
		shifts = append(shifts, shift)
		for k := iv; k < iv+nv[p]; k++ {
			if got := ms(jv[k].PTS) - ms(inV[k].PTS); got != shift {
				t.Errorf("joined part %d: video packet %d moved %d ms, the part's first %d ms", p+1, k, got, shift)
				break
			}
		}
		for k := ia; k < ia+na[p]; k++ {
			if got := ms(ja[k].PTS) - ms(inA[k].PTS); got != shift {
				t.Errorf("joined part %d: audio packet %d moved %d ms, the part's video %d ms", p+1, k, got, shift)
				break
			}
		}
		iv, ia = iv+nv[p], ia+na[p]
	}
	return shifts
}
