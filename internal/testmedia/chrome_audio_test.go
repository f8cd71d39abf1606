package testmedia

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// avPacket is one packet of a stream as ffprobe reports it, in seconds.
type avPacket struct{ pts, dur float64 }

// streamPackets returns the packets of stream sel ("v:0", "a:0") of path.
func streamPackets(t *testing.T, path, sel string) []avPacket {
	t.Helper()
	res := mustRun(t, "ffprobe", nil, "-v", "error", "-select_streams", sel,
		"-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", path)
	var out []avPacket
	for _, line := range strings.Fields(string(res.stdout)) {
		f := strings.Split(line, ",")
		pts, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("ffprobe packet line %q: %v", line, err)
		}
		var dur float64
		if len(f) > 1 {
			dur, _ = strconv.ParseFloat(f[1], 64) // "N/A" for Chrome's video
		}
		out = append(out, avPacket{pts, dur})
	}
	return out
}

var meanVolume = regexp.MustCompile(`mean_volume: (-?[0-9.]+|-inf) dB`)

// audioMeanVolume decodes the first audio stream of path and returns
// ffmpeg's volumedetect mean volume in dB (-Inf for digital silence).
func audioMeanVolume(t *testing.T, path string) float64 {
	t.Helper()
	res := mustRun(t, "ffmpeg", nil, "-hide_banner", "-nostdin", "-i", path, "-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-")
	m := meanVolume.FindStringSubmatch(string(res.stderr))
	if m == nil {
		t.Fatalf("ffmpeg volumedetect %s: no mean_volume in %q", path, tail(res.stderr))
	}
	if m[1] == "-inf" {
		return math.Inf(-1)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("ffmpeg volumedetect %s: %v", path, err)
	}
	return v
}

// TestChromeRecordAudio checks the Audio and KeyInterval recordings: two
// tracks as Chrome writes them (VP8 first, then Opus, 48 kHz), Opus packets
// over the whole recording carrying the tone (not silence), key frames as
// often as asked, and that ChromePlay plays such a file (unknown duration
// raw; an ffmpeg file with Opus has a finite one and seeks).
func TestChromeRecordAudio(t *testing.T) {
	Require(t, "chromium", "ffprobe", "ffmpeg", "mkvmerge")
	dir := t.TempDir()
	const key = 500 * time.Millisecond
	tests := []struct {
		name string
		spec ChromeSpec
	}{
		{"audio", ChromeSpec{Seconds: 2, Audio: true}},
		{"audio key frames 500 ms", ChromeSpec{Seconds: 2, Audio: true, KeyInterval: key}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ChromeRecord(t, dir, tc.spec)
			m := MkvmergeJ(t, path)
			var tracks []string
			for _, tr := range m.Tracks {
				tracks = append(tracks, tr.Type+" "+tr.CodecID)
			}
			if !m.Recognized || m.Muxer != "Chrome" || m.HasDuration || !slices.Equal(tracks, []string{"video V_VP8", "audio A_OPUS"}) {
				t.Errorf("MkvmergeJ(chrome audio) = %+v, tracks %q; want muxer Chrome, no duration, [video V_VP8, audio A_OPUS]", m, tracks)
			}
			p := FFprobe(t, path)
			if p.AudioCodec != "opus" || p.Streams != 2 {
				t.Errorf("FFprobe(chrome audio) = %+v, want 2 streams, opus audio", p)
			}
			v, a := streamPackets(t, path, "v:0"), streamPackets(t, path, "a:0")
			if len(v) < 5 || len(a) < 2 {
				t.Fatalf("chrome audio: %d video, %d audio packets; want at least 5 and 2", len(v), len(a))
			}
			// Audio over the whole recording: it starts near the video's
			// start, ends near the video's end, and has no hole (Chrome
			// sends 60 ms Opus packets; allow a loaded machine 250 ms).
			const slack = 0.25
			vEnd := v[len(v)-1].pts
			aEnd := a[len(a)-1].pts + a[len(a)-1].dur
			if a[0].pts > v[0].pts+slack || aEnd < vEnd-slack {
				t.Errorf("chrome audio: audio from %.3f to %.3f s, video from %.3f to %.3f s; want audio over the whole video (within %v s)",
					a[0].pts, aEnd, v[0].pts, vEnd, slack)
			}
			for i := 1; i < len(a); i++ {
				if gap := a[i].pts - (a[i-1].pts + a[i-1].dur); gap > slack {
					t.Errorf("chrome audio: %.3f s without audio before the packet at %.3f s, want at most %v s", gap, a[i].pts, slack)
				}
			}
			// The tone is at half amplitude: about -9 dB mean; silence
			// is -91 dB or -inf.
			if vol := audioMeanVolume(t, path); vol < -30 {
				t.Errorf("chrome audio: mean volume %.1f dB, want the tone (over -30 dB)", vol)
			}
			keys := 0
			var lastKey, maxKeyGap, maxGap int64
			pkts := Packets(t, path)
			for i, pk := range pkts {
				if i > 0 {
					maxGap = max(maxGap, pk.PTSMS-pkts[i-1].PTSMS)
				}
				if pk.Key {
					if keys > 0 {
						maxKeyGap = max(maxKeyGap, pk.PTSMS-lastKey)
					}
					keys++
					lastKey = pk.PTSMS
				}
			}
			if tc.spec.KeyInterval > 0 {
				// A key frame is due once the interval has passed: the
				// next frame, a frame gap at most, after it.
				if keys < 3 || maxKeyGap > tc.spec.KeyInterval.Milliseconds()+maxGap {
					t.Errorf("chrome audio: %d key frames, at most %d ms apart; want at least 3, at most %v plus a frame gap", keys, maxKeyGap, tc.spec.KeyInterval)
				}
			} else if keys < 1 {
				t.Errorf("chrome audio: no key frame")
			}
			// The track says AlphaMode 1 although the canvas is opaque:
			// no packet carries an alpha plane (BlockAdditions, which
			// framemd5 shows as side data, "S=").
			mode := strings.TrimSpace(string(mustRun(t, "ffprobe", nil, "-v", "error", "-select_streams", "v:0",
				"-show_entries", "stream_tags=alpha_mode", "-of", "csv=p=0", path).stdout))
			md5s := string(mustRun(t, "ffmpeg", nil, "-hide_banner", "-nostdin", "-v", "error", "-i", path,
				"-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-").stdout)
			if side := strings.Count(md5s, "S="); mode != "1" || side != 0 {
				t.Errorf("chrome audio: alpha_mode %q, %d packets with side data; want \"1\" (Chromium 156 marks every canvas track), 0", mode, side)
			}
			play := ChromePlay(t, dir, path)
			if !math.IsInf(play.Duration, 1) || play.Error != "" {
				t.Errorf("ChromePlay(chrome audio) = %+v, want an unknown (+Inf) duration and no error", play)
			}
		})
	}
	t.Run("ffmpeg opus", func(t *testing.T) {
		path := FFmpegWebM(t, dir, Spec{Seconds: 2, Opus: true})
		play := ChromePlay(t, dir, path)
		if math.Abs(play.Duration-2) > 0.1 || !play.SeekOK || math.Abs(play.FrameTime-play.SeekTarget) > 0.1 || play.Error != "" {
			t.Errorf("ChromePlay(ffmpeg with opus) = %+v, want about 2 s, a seek to the middle with a frame there, no error", play)
		}
	})
}
