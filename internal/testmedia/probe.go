package testmedia

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// Probe is what ffprobe says about a file.
type Probe struct {
	Frames      int    // packets of the first video stream, counted by reading the file (-count_packets)
	DurationMS  int64  // the format duration in milliseconds; 0 when ffprobe reports none
	HasDuration bool   // ffprobe reported a format duration (false for live, piped and MediaRecorder files)
	Width       int    // first video stream's frame size, as declared in the headers
	Height      int    //
	VideoCodec  string // first video stream's codec, e.g. "vp8"
	FrameRate   string // first video stream's r_frame_rate, e.g. "10/1"
	AudioCodec  string // first audio stream's codec, e.g. "opus"; "" without audio
	Streams     int    // number of streams of any type
	FormatName  string // e.g. "matroska,webm"
}

type ffprobeJSON struct {
	Streams []struct {
		Index         int    `json:"index"`
		CodecType     string `json:"codec_type"`
		CodecName     string `json:"codec_name"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		RFrameRate    string `json:"r_frame_rate"`
		NbReadPackets string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// FFprobe runs ffprobe -count_packets on path and returns the facts it
// reports. It fails the test if ffprobe exits non-zero (it cannot read the
// file at all). Like the field, it trusts headers: on a truncated file it
// still reports the header's full duration.
func FFprobe(t testing.TB, path string) Probe {
	t.Helper()
	res := mustRun(t, "ffprobe", nil, "-v", "error", "-count_packets",
		"-show_entries", "stream=index,codec_type,codec_name,width,height,r_frame_rate,nb_read_packets:format=format_name,duration",
		"-of", "json", path)
	var j ffprobeJSON
	if err := json.Unmarshal(res.stdout, &j); err != nil {
		t.Fatalf("testmedia: ffprobe %s: parse JSON: %v", path, err)
	}
	p := Probe{Streams: len(j.Streams), FormatName: j.Format.FormatName}
	if d, err := strconv.ParseFloat(j.Format.Duration, 64); err == nil {
		p.DurationMS = int64(math.Round(d * 1000))
		p.HasDuration = true
	}
	video := false
	for _, s := range j.Streams {
		switch {
		case s.CodecType == "video" && !video:
			video = true
			p.VideoCodec = s.CodecName
			p.Width, p.Height = s.Width, s.Height
			p.FrameRate = s.RFrameRate
			if n, err := strconv.Atoi(s.NbReadPackets); err == nil {
				p.Frames = n
			}
		case s.CodecType == "audio" && p.AudioCodec == "":
			p.AudioCodec = s.CodecName
		}
	}
	return p
}

// MkvInfo is what `mkvmerge -J` says about a file (identification format
// version 17 and later).
type MkvInfo struct {
	ExitCode    int    // 0, or 1 when mkvmerge warned
	Recognized  bool   // container.recognized
	Supported   bool   // container.supported
	Type        string // container.type, e.g. "Matroska"
	HasDuration bool   // container.properties.duration is present
	DurationNS  int64  // container.properties.duration in nanoseconds
	Muxer       string // container.properties.muxing_application
	Tracks      []MkvTrack
	Errors      []string
	Warnings    []string
}

// MkvTrack is one track of MkvInfo.
type MkvTrack struct {
	ID      int    // mkvmerge's track ID
	Type    string // "video", "audio", ...
	Codec   string // e.g. "VP8", "Opus"
	CodecID string // e.g. "V_VP8"
	Width   int    // from pixel_dimensions; 0 for non-video tracks
	Height  int    //
}

type mkvmergeJSON struct {
	Container struct {
		Recognized bool   `json:"recognized"`
		Supported  bool   `json:"supported"`
		Type       string `json:"type"`
		Properties struct {
			Duration          *int64 `json:"duration"`
			MuxingApplication string `json:"muxing_application"`
		} `json:"properties"`
	} `json:"container"`
	Tracks []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Codec      string `json:"codec"`
		Properties struct {
			CodecID         string `json:"codec_id"`
			PixelDimensions string `json:"pixel_dimensions"`
		} `json:"properties"`
	} `json:"tracks"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

// MkvmergeJ runs `mkvmerge -J path` and returns the parsed identification.
// Exit code 1 (warnings) is accepted and recorded in ExitCode; any other
// non-zero exit fails the test. mkvmerge exits 0 with Recognized false on a
// file that is not Matroska at all.
func MkvmergeJ(t testing.TB, path string) MkvInfo {
	t.Helper()
	res, err := run("mkvmerge", nil, "-J", path)
	if err != nil {
		t.Fatal(err)
	}
	if res.code != 0 && res.code != 1 {
		t.Fatalf("testmedia: mkvmerge -J %s: exit status %d: %s %s", path, res.code, tail(res.stdout), tail(res.stderr))
	}
	var j mkvmergeJSON
	if err := json.Unmarshal(res.stdout, &j); err != nil {
		t.Fatalf("testmedia: mkvmerge -J %s: parse JSON: %v", path, err)
	}
	info := MkvInfo{
		ExitCode:   res.code,
		Recognized: j.Container.Recognized,
		Supported:  j.Container.Supported,
		Type:       j.Container.Type,
		Muxer:      j.Container.Properties.MuxingApplication,
		Errors:     j.Errors,
		Warnings:   j.Warnings,
	}
	if d := j.Container.Properties.Duration; d != nil {
		info.HasDuration = true
		info.DurationNS = *d
	}
	for _, tr := range j.Tracks {
		mt := MkvTrack{ID: tr.ID, Type: tr.Type, Codec: tr.Codec, CodecID: tr.Properties.CodecID}
		if w, h, ok := strings.Cut(tr.Properties.PixelDimensions, "x"); ok {
			mt.Width, _ = strconv.Atoi(w)
			mt.Height, _ = strconv.Atoi(h)
		}
		info.Tracks = append(info.Tracks, mt)
	}
	return info
}

// Mkvinfo returns the output of `mkvinfo [flags] path` (the element tree).
// Without flags mkvinfo stops at the first Cluster; pass "-o" to continue
// past it (and so see top-level Cues) or "-a" for every element. It fails the
// test if mkvinfo exits non-zero.
func Mkvinfo(t testing.TB, path string, flags ...string) string {
	t.Helper()
	args := append(append([]string{}, flags...), path)
	res, err := run("mkvinfo", nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	if res.code != 0 {
		t.Fatalf("testmedia: mkvinfo %s: exit status %d: %s %s", strings.Join(args, " "), res.code, tail(res.stdout), tail(res.stderr))
	}
	return string(res.stdout)
}

// SegmentChildren returns the names of the Segment's child elements in file
// order as `mkvinfo -o` prints them, e.g. "Seek head", "Segment information",
// "Tracks", "Cluster", "Cluster", "Cues". The Segment line itself is reported
// as "Segment: size N" or "Segment: size unknown" by Mkvinfo; see SegmentSize.
func SegmentChildren(t testing.TB, path string) []string {
	t.Helper()
	var names []string
	inSegment := false
	for _, line := range strings.Split(Mkvinfo(t, path, "-o"), "\n") {
		switch {
		case strings.HasPrefix(line, "+ "):
			inSegment = strings.HasPrefix(line, "+ Segment")
		case inSegment && strings.HasPrefix(line, "|+ "):
			name := strings.TrimPrefix(line, "|+ ")
			if i := strings.IndexAny(name, ":("); i >= 0 {
				name = name[:i]
			}
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

// SegmentSize returns the Segment's size as mkvinfo prints it: a decimal
// number of bytes, or "unknown" for a live-written Segment (EBML
// unknown-size, Matroska spec section 6.2).
func SegmentSize(t testing.TB, path string) string {
	t.Helper()
	for _, line := range strings.Split(Mkvinfo(t, path), "\n") {
		if rest, ok := strings.CutPrefix(line, "+ Segment: size "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("testmedia: mkvinfo %s: no Segment line", path)
	return ""
}
