package inspect_test

import (
	"bytes"
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
)

func scanFile(t testing.TB, path string) *inspect.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := inspect.Scan(context.Background(), path, f, st.Size(), inspect.ScanOptions{Hash: true})
	if err != nil {
		t.Fatalf("Scan(%s) = %v", path, err)
	}
	return rep
}

func scanBytes(t testing.TB, data []byte) *inspect.Report {
	t.Helper()
	rep, err := inspect.Scan(context.Background(), "mem", bytes.NewReader(data), int64(len(data)), inspect.ScanOptions{})
	if err != nil {
		t.Fatalf("Scan = %v", err)
	}
	return rep
}

// TestScanRealFiles checks info's facts against ffprobe and mkvmerge on
// files made by the real tools.
func TestScanRealFiles(t *testing.T) {
	testmedia.Require(t, "ffmpeg", "ffprobe", "mkvmerge")
	dir := t.TempDir()
	base := testmedia.Spec{Width: 320, Height: 240, FPS: 15, Seconds: 3, KeyInt: 15}
	withOpus := base
	withOpus.Opus = true
	piped := base
	piped.Pipe = true
	live := base
	live.Pipe, live.Live = true, true
	libvpx := testmedia.FFmpegWebM(t, dir, base)
	tests := []struct {
		name        string
		path        string
		verdict     inspect.Verdict
		headerDur   bool
		resolutions int
	}{
		{"ffmpeg libvpx", libvpx, inspect.OK, true, 1},
		{"ffmpeg with opus", testmedia.FFmpegWebM(t, dir, withOpus), inspect.OK, true, 1},
		{"mkvmerge remux", testmedia.MkvmergeRemux(t, libvpx, filepath.Join(dir, "remux.webm")), inspect.OK, true, 1},
		{"ffmpeg to a pipe", testmedia.FFmpegWebM(t, dir, piped), inspect.Unseekable, false, 1},
		{"ffmpeg live to a pipe", testmedia.FFmpegWebM(t, dir, live), inspect.Unseekable, false, 1},
		{"resolution change", testmedia.ConcatResolutions(t, dir, image.Pt(640, 360), image.Pt(1280, 720)), inspect.OK, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := scanFile(t, tc.path)
			if rep.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s), want %s", rep.Verdict, rep.Reason, tc.verdict)
			}
			p := testmedia.FFprobe(t, tc.path)
			var video inspect.TrackReport
			for _, tr := range rep.Tracks {
				if tr.Kind == "video" {
					video = tr
				}
			}
			if video.Frames != int64(p.Frames) {
				t.Errorf("video frames = %d, ffprobe says %d", video.Frames, p.Frames)
			}
			if (rep.HeaderDurationMS != nil) != tc.headerDur {
				t.Errorf("header duration present = %v, want %v", rep.HeaderDurationMS != nil, tc.headerDur)
			}
			if p.HasDuration && absDiff(rep.DurationMS, p.DurationMS) > 8 {
				t.Errorf("measured duration = %d ms, ffprobe says %d ms", rep.DurationMS, p.DurationMS)
			}
			if len(video.Resolutions) != tc.resolutions {
				t.Errorf("resolutions = %+v, want %d", video.Resolutions, tc.resolutions)
			}
			m := testmedia.MkvmergeJ(t, tc.path)
			if m.HasDuration && absDiff(rep.DurationMS, m.DurationNS/1e6) > 8 {
				t.Errorf("measured duration = %d ms, mkvmerge says %d ns", rep.DurationMS, m.DurationNS)
			}
			if len(rep.SHA256) != 64 {
				t.Errorf("sha256 = %q, want 64 hex digits", rep.SHA256)
			}
		})
	}
}

func TestScanChromeMediaRecorder(t *testing.T) {
	testmedia.Require(t, "chromium", "ffprobe")
	dir := t.TempDir()
	path := testmedia.ChromeMediaRecorder(t, dir, 2, 320, 240)
	rep := scanFile(t, path)
	if rep.Verdict != inspect.Unseekable {
		t.Fatalf("verdict = %s (%s), want unseekable", rep.Verdict, rep.Reason)
	}
	if rep.SegmentSizeKnown || rep.Cues || rep.HeaderDurationMS != nil {
		t.Errorf("segment size known %v, cues %v, header duration %v: want none (MediaRecorder layout)",
			rep.SegmentSizeKnown, rep.Cues, rep.HeaderDurationMS)
	}
	p := testmedia.FFprobe(t, path)
	if rep.Tracks[0].Frames != int64(p.Frames) || p.Frames == 0 {
		t.Errorf("frames = %d, ffprobe says %d", rep.Tracks[0].Frames, p.Frames)
	}
}

// TestScanEveryCut cuts a small file at every byte offset: never a panic,
// always incomplete (or not-webm before the EBML header is whole), with an
// offset, and never more frames than the whole file.
func TestScanEveryCut(t *testing.T) {
	testmedia.Require(t, "ffmpeg")
	dir := t.TempDir()
	for _, spec := range []testmedia.Spec{{Seconds: 1, Bitrate: "50k"}, {Seconds: 1, Bitrate: "50k", Pipe: true}} {
		path := testmedia.FFmpegWebM(t, dir, spec)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		whole := scanBytes(t, data)
		prevFrames := int64(0)
		for n := 0; n < len(data); n++ {
			rep := scanBytes(t, data[:n])
			switch rep.Verdict {
			case inspect.Incomplete, inspect.NotWebM:
			case inspect.Unseekable:
				// A live-layout file cut exactly between two Clusters is
				// indistinguishable from a finished one.
				if !spec.Pipe {
					t.Fatalf("cut at %d: verdict unseekable on a seekable-layout file", n)
				}
			default:
				t.Fatalf("cut at %d: verdict %s (%s), want incomplete", n, rep.Verdict, rep.Reason)
			}
			if rep.Verdict == inspect.Incomplete && rep.Offset == nil {
				t.Fatalf("cut at %d: incomplete without an offset", n)
			}
			if rep.Frames > whole.Frames || rep.Frames < prevFrames {
				t.Fatalf("cut at %d: %d frames (previous cut %d, whole %d)", n, rep.Frames, prevFrames, whole.Frames)
			}
			prevFrames = rep.Frames
		}
		if prevFrames < whole.Frames-1 {
			t.Errorf("last cut kept %d of %d frames", prevFrames, whole.Frames)
		}
	}
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
