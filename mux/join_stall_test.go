package mux_test

// Join of split parts of an A/V file whose last video frame before a key
// frame is followed by a long gap (Chrome MediaRecorder under load) used to
// place the next part before the end of the previous part's audio, writing
// audio blocks with equal timestamps, out of sync with their video. The
// next part now starts where the previous part's audio ends: here exactly
// where it was in the input.

import (
	"errors"
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
