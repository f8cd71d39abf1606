package mux_test

// Join of split parts of an A/V file whose last video frame before a key
// frame is followed by a long gap (Chrome MediaRecorder under load) used to
// place the next part before the end of the previous part's audio, writing
// audio blocks with equal timestamps, out of sync with their video. The
// next part now starts where the previous part's audio ends: here exactly
// where it was in the input.

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

func TestJoinAudioAfterStall(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "gap.webm")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	at := &mux.AudioTrack{CodecID: "A_OPUS", CodecPrivate: []byte("OpusHead-test"), SamplingFrequency: 48000, Channels: 2}
	w, err := mux.NewWriter(f, mux.WriterOptions{Width: 64, Height: 48, Audio: at})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	// Video: 0..330 ms every 33 ms, then a 170 ms stall, a key frame at
	// 500 ms and frames every 33 ms to 830 ms. Audio: 60 ms packets every
	// 60 ms from 0 to 900 ms (as Chrome's Opus).
	var video []int
	for ts := 0; ts <= 330; ts += 33 {
		video = append(video, ts)
	}
	for ts := 500; ts <= 830; ts += 33 {
		video = append(video, ts)
	}
	vi, ai := 0, 0
	for vi < len(video) || ai*60 <= 900 {
		if vi < len(video) && (ai*60 > 900 || video[vi] <= ai*60) {
			ts := video[vi]
			key := ts == 0 || ts == 500
			if err := w.WriteFrame(time.Duration(ts)*time.Millisecond, key, testmedia.SynthVP8(rng, key, 64, 48, 100)); err != nil {
				t.Fatal(err)
			}
			vi++
			continue
		}
		if err := w.WriteAudio(time.Duration(ai*60)*time.Millisecond, []byte{byte(ai), 1, 2, 3}, 0); err != nil {
			t.Fatal(err)
		}
		ai++
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res, parts, _, err := splitFile(t, in, t.TempDir(), true, mux.SplitOptions{MaxDuration: 500 * time.Millisecond})
	if err != nil || len(parts) != 2 {
		t.Fatalf("Split = %d parts, %v; want 2", len(res.Parts), err)
	}
	joined := filepath.Join(dir, "joined.webm")
	if _, err := joinFiles(t, joined, parts, mux.JoinOptions{}); err != nil {
		t.Fatalf("Join = %v", err)
	}
	jf, err := os.Open(joined)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	src, err := mux.OpenSource(joined, jf)
	if err != nil {
		t.Fatal(err)
	}
	var lastA time.Duration = -1
	var firstV2 time.Duration = -1
	for {
		fr, err := src.NextFrame(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !fr.Audio && fr.Key && fr.TS > 0 && firstV2 < 0 {
			firstV2 = fr.TS
		}
		if fr.Audio {
			if fr.TS <= lastA {
				t.Errorf("joined audio block at %v after one at %v: want strictly increasing", fr.TS, lastA)
			}
			lastA = fr.TS
		}
	}
	if firstV2 != 500*time.Millisecond {
		t.Errorf("part 2's key frame (500 ms in the input) at %v in the joined file, want 500ms", firstV2)
	}
}

// A part whose first block in file order is audio timed after its first
// video frame (a muxer may interleave so) used to be placed by that audio
// block: its earlier video frames came out before 0 and Join failed. A
// part now starts at the earlier of its first video and audio frames.
func TestJoinAudioFirstInFile(t *testing.T) {
	dir := t.TempDir()
	at := &mux.AudioTrack{CodecID: "A_OPUS", CodecPrivate: []byte("OpusHead-test"), SamplingFrequency: 48000, Channels: 2}
	rng := rand.New(rand.NewSource(2))
	var parts []string
	for p := 0; p < 2; p++ {
		path := filepath.Join(dir, fmt.Sprintf("p%d.webm", p))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := mux.NewWriter(f, mux.WriterOptions{Width: 64, Height: 48, Audio: at})
		if err != nil {
			t.Fatal(err)
		}
		// Audio at 60 ms is written before the video frames from 0 ms.
		if err := w.WriteAudio(60*time.Millisecond, []byte{0, 1, 2, 3}, 0); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if err := w.WriteFrame(time.Duration(i)*40*time.Millisecond, i == 0, testmedia.SynthVP8(rng, i == 0, 64, 48, 100)); err != nil {
				t.Fatal(err)
			}
			if i > 0 && i%3 == 0 {
				if err := w.WriteAudio(time.Duration(60+20*i)*time.Millisecond, []byte{byte(i), 1, 2, 3}, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		parts = append(parts, path)
	}
	joined := filepath.Join(dir, "joined.webm")
	res, err := joinFiles(t, joined, parts, mux.JoinOptions{})
	if err != nil {
		t.Fatalf("Join = %v", err)
	}
	if res.Frames != 20 {
		t.Errorf("Join kept %d video frames, want 20", res.Frames)
	}
	jf, err := os.Open(joined)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	src, err := mux.OpenSource(joined, jf)
	if err != nil {
		t.Fatal(err)
	}
	var keys []time.Duration
	for {
		fr, err := src.NextFrame(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !fr.Audio && fr.Key {
			keys = append(keys, fr.TS)
		}
	}
	// Part 2 follows part 1's last video frame (360 ms) by one frame.
	if len(keys) != 2 || keys[0] != 0 || keys[1] != 400*time.Millisecond {
		t.Errorf("joined key frames at %v, want [0s 400ms]", keys)
	}
}
