package vp8enc

import (
	"bytes"
	"fmt"
	"testing"
)

func TestKeyFrameMatchesXImageDecoder(t *testing.T) {
	sizes := [][2]int{{16, 16}, {1, 1}, {17, 15}, {321, 241}, {640, 360}, {1920, 1080}}
	kinds := []string{"gradient", "text", "noise", "flat", "camera"}
	for _, sz := range sizes {
		for _, kind := range kinds {
			if sz[0] == 1920 && kind != "text" && kind != "noise" {
				continue // keep the run short: two 1080p cases suffice
			}
			if raceEnabled && sz[0] == 1920 && kind != "text" {
				continue // the race detector makes 1080p slow: one case
			}
			for _, quality := range []int{0, 1, 100} {
				if sz[0] == 1920 && quality != 0 {
					continue // 1080p at the default quality only
				}
				name := fmt.Sprintf("%dx%d/%s/q%d", sz[0], sz[1], kind, quality)
				t.Run(name, func(t *testing.T) {
					enc, err := New(sz[0], sz[1], Options{Quality: quality})
					if err != nil {
						t.Fatalf("New(%d, %d) = %v, want nil", sz[0], sz[1], err)
					}
					src := pattern(kind, sz[0], sz[1], 0, 1)
					frame, key, err := enc.Encode(src, nil, false)
					if err != nil || !key {
						t.Fatalf("Encode() = key %v, err %v, want key true, nil", key, err)
					}
					got := decodeKey(t, frame)
					if d := diffYCbCr(got, enc.Reconstruction()); d != "" {
						t.Errorf("decode(Encode(%s)) != Reconstruction(): %s", name, d)
					}
				})
			}
		}
	}
}

// TestAllIntraModesDecode encodes content that makes the encoder choose
// every 16x16 mode and every B_PRED submode, in key and inter frames, and
// checks both decoders against Reconstruction().
func TestAllIntraModesDecode(t *testing.T) {
	const w, h = 160, 128
	enc, err := New(w, h, Options{Quality: 90})
	if err != nil {
		t.Fatal(err)
	}
	ivf := newIVF(w, h)
	var want []byte
	kinds := []string{"text", "camera", "noise", "gradient", "text"}
	for i, kind := range kinds {
		src := pattern(kind, w, h, i, uint64(i))
		frame, key, err := enc.Encode(src, nil, i == 3)
		if err != nil {
			t.Fatalf("Encode(%s) = %v", kind, err)
		}
		if key {
			if d := diffYCbCr(decodeKey(t, frame), enc.Reconstruction()); d != "" {
				t.Errorf("x/image decode(frame %d) != Reconstruction(): %s", i, d)
			}
		}
		ivf.add(frame)
		want = rawI420(want, enc.Reconstruction())
	}
	var ymodes, bmodes [numBModes]int
	for _, w := range enc.workers {
		for i := range ymodes {
			ymodes[i] += w.stats.ymodes[i]
			bmodes[i] += w.stats.bmodes[i]
		}
	}
	for m, n := range ymodes[:modeB+1] {
		if n == 0 {
			t.Errorf("luma mode %d chosen 0 times, want > 0", m)
		}
	}
	for m, n := range bmodes {
		if n == 0 {
			t.Errorf("submode %d chosen 0 times, want > 0", m)
		}
	}
	t.Logf("luma modes %v, submodes %v", ymodes[:modeB+1], bmodes)
	if got := ffmpegDecode(t, ivf.bytes()); !bytes.Equal(got, want) {
		t.Errorf("ffmpeg decode != Reconstruction(): %s", firstDiff(got, want))
	}
}
