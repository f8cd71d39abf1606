package vp8enc

import (
	"errors"
	"image"
	"testing"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		opts Options
		want error
	}{
		{"1x1", 1, 1, Options{}, nil},
		{"4096x2304", 4096, 2304, Options{}, nil},
		{"portrait 2304x4096", 2304, 4096, Options{}, nil},
		{"zero width", 0, 10, Options{}, ErrSize},
		{"negative height", 10, -1, Options{}, ErrSize},
		{"too wide", 4097, 16, Options{}, ErrSize},
		{"too many pixels", 4096, 4096, Options{}, ErrSize},
		{"quality 101", 16, 16, Options{Quality: 101}, ErrQuality},
		{"quality -1", 16, 16, Options{Quality: -1}, ErrQuality},
		{"loop filter 64", 16, 16, Options{LoopFilter: 64}, ErrLoopFilter},
		{"loop filter -2", 16, 16, Options{LoopFilter: -2}, ErrLoopFilter},
		{"loop filter off", 16, 16, Options{LoopFilter: -1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.w, tc.h, tc.opts)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("New(%d, %d, %+v) = %v, want %v", tc.w, tc.h, tc.opts, err, tc.want)
			}
		})
	}
}

func TestQuantizerIndex(t *testing.T) {
	tests := []struct{ quality, want int }{{1, 127}, {100, 0}, {DefaultQuality, 26}, {50, 64}, {-5, 127}, {500, 0}}
	for _, tc := range tests {
		if got := QuantizerIndex(tc.quality); got != tc.want {
			t.Errorf("QuantizerIndex(%d) = %d, want %d", tc.quality, got, tc.want)
		}
	}
}

func TestEncodeRejectsMismatchedImage(t *testing.T) {
	enc, err := New(32, 16, Options{})
	if err != nil {
		t.Fatal(err)
	}
	short := image.NewYCbCr(image.Rect(0, 0, 32, 16), image.YCbCrSubsampleRatio420)
	short.Y = short.Y[:100]
	tests := []struct {
		name string
		img  *image.YCbCr
	}{
		{"nil", nil},
		{"wrong size", image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)},
		{"4:4:4", image.NewYCbCr(image.Rect(0, 0, 32, 16), image.YCbCrSubsampleRatio444)},
		{"short luma plane", short},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, _, err := enc.Encode(tc.img, nil, false)
			if !errors.Is(err, ErrImage) || frame != nil {
				t.Errorf("Encode(%s) = %d bytes, %v, want nil, ErrImage", tc.name, len(frame), err)
			}
		})
	}
	if enc.Reconstruction() != nil {
		t.Errorf("Reconstruction() before a successful Encode = non-nil, want nil")
	}
}

// TestOffsetImageAndStride encodes the same picture from a sub-image with a
// non-zero origin and a wide stride, and from a plain image: the frames
// must be identical.
func TestOffsetImageAndStride(t *testing.T) {
	const w, h = 45, 27
	plain := pattern("gradient", w, h, 0, 1)
	big := image.NewYCbCr(image.Rect(0, 0, 100, 60), image.YCbCrSubsampleRatio420)
	sub := big.SubImage(image.Rect(10, 6, 10+w, 6+h)).(*image.YCbCr)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sub.Y[sub.YOffset(10+x, 6+y)] = plain.Y[plain.YOffset(x, y)]
			sub.Cb[sub.COffset(10+x, 6+y)] = plain.Cb[plain.COffset(x, y)]
			sub.Cr[sub.COffset(10+x, 6+y)] = plain.Cr[plain.COffset(x, y)]
		}
	}
	a, _ := New(w, h, Options{})
	b, _ := New(w, h, Options{})
	fa, _, errA := a.Encode(plain, nil, false)
	fb, _, errB := b.Encode(sub, nil, false)
	if errA != nil || errB != nil {
		t.Fatalf("Encode() = %v, %v, want nil, nil", errA, errB)
	}
	if string(fa) != string(fb) {
		t.Errorf("Encode(sub-image) = %d bytes, differs from Encode(plain) = %d bytes", len(fb), len(fa))
	}
	// The second frame with a hint in the sub-image's coordinates must code
	// the changed macroblock only.
	sub.Y[sub.YOffset(10+40, 6+20)] ^= 0xff
	fb, key, err := b.Encode(sub, []image.Rectangle{image.Rect(10+40, 6+20, 10+41, 6+21)}, false)
	if err != nil || key {
		t.Fatalf("Encode(hinted) = key %v, %v, want false, nil", key, err)
	}
	rec := b.Reconstruction()
	if got, want := rec.Y[rec.YOffset(40, 20)], sub.Y[sub.YOffset(50, 26)]; absDiff(got, want) > 16 {
		t.Errorf("Reconstruction().Y(40,20) = %d, want about %d", got, want)
	}
}

func TestStaticFramesAreTinyAndStable(t *testing.T) {
	img := pattern("text", 320, 240, 0, 1)
	enc, _ := New(320, 240, Options{})
	if _, _, err := enc.Encode(img, nil, false); err != nil {
		t.Fatal(err)
	}
	first := append([]byte(nil), enc.Reconstruction().Y...)
	for i := 0; i < 3; i++ {
		frame, key, err := enc.Encode(img, nil, false)
		if err != nil || key {
			t.Fatalf("Encode(static %d) = key %v, %v", i, key, err)
		}
		if len(frame) > 64 {
			t.Errorf("len(Encode(static %d)) = %d, want <= 64", i, len(frame))
		}
		if string(enc.Reconstruction().Y) != string(first) {
			t.Errorf("Reconstruction() after static frame %d changed, want stable", i)
		}
	}
	// forceKey makes a key frame even without changes.
	if _, key, _ := enc.Encode(img, []image.Rectangle{}, true); !key {
		t.Errorf("Encode(forceKey) key = false, want true")
	}
}

// TestWorkersDoNotChangeOutput encodes the same sequence with 1, 2 and 3
// workers: every frame must be byte-identical.
func TestWorkersDoNotChangeOutput(t *testing.T) {
	const w, h, n = 200, 120, 20
	var ref [][]byte
	for _, workers := range []int{1, 2, 3} {
		enc, err := New(w, h, Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			img, hints := screenSequence(w, h, i)
			frame, _, err := enc.Encode(img, hints, false)
			if err != nil {
				t.Fatalf("Encode(workers %d, frame %d) = %v", workers, i, err)
			}
			if workers == 1 {
				ref = append(ref, append([]byte(nil), frame...))
			} else if string(frame) != string(ref[i]) {
				t.Errorf("Encode(workers %d, frame %d) = %d bytes, differs from 1 worker (%d bytes)", workers, i, len(frame), len(ref[i]))
			}
		}
	}
}

// TestFirstPartitionFallback lowers the first partition limit so that a
// frame with B_PRED macroblocks exceeds it: the encoder must code the frame
// again without B_PRED, and fail with ErrTooLarge when even that is too big.
func TestFirstPartitionFallback(t *testing.T) {
	defer func(v int) { maxFirstPartition = v }(maxFirstPartition)
	src := pattern("noise", 64, 64, 0, 5)
	enc, _ := New(64, 64, Options{})
	full, _, err := enc.Encode(src, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	firstLen := func(f []byte) int { return int(f[0])>>5 | int(f[1])<<3 | int(f[2])<<11 }
	limit := firstLen(full) // the B_PRED frame no longer fits
	maxFirstPartition = limit

	enc, _ = New(64, 64, Options{})
	frame, _, err := enc.Encode(src, nil, false)
	if err != nil {
		t.Fatalf("Encode(limit %d) = %v, want nil", limit, err)
	}
	if got := firstLen(frame); got >= limit {
		t.Errorf("first partition = %d bytes, want < %d", got, limit)
	}
	if d := diffYCbCr(decodeKey(t, frame), enc.Reconstruction()); d != "" {
		t.Errorf("decode(fallback frame) != Reconstruction(): %s", d)
	}

	// An inter frame that does not fit is coded again as a key frame.
	maxFirstPartition = 1 << 19
	flat := pattern("flat", 64, 64, 0, 1)
	probe, _ := New(64, 64, Options{})
	probe.Encode(flat, nil, false)
	inter, _, err := probe.Encode(src, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ = New(64, 64, Options{})
	if _, _, err := enc.Encode(flat, nil, false); err != nil {
		t.Fatal(err)
	}
	maxFirstPartition = firstLen(inter)
	frame, key, err := enc.Encode(src, nil, false)
	if err != nil || !key {
		t.Fatalf("Encode(inter over limit) = key %v, %v, want true, nil", key, err)
	}
	if d := diffYCbCr(decodeKey(t, frame), enc.Reconstruction()); d != "" {
		t.Errorf("decode(inter fallback frame) != Reconstruction(): %s", d)
	}

	maxFirstPartition = 10
	if _, _, err := enc.Encode(src, nil, false); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Encode(limit 10) = %v, want ErrTooLarge", err)
	}
	// After a failure the next frame is a key frame.
	maxFirstPartition = 1 << 19
	if _, key, err := enc.Encode(src, nil, false); err != nil || !key {
		t.Errorf("Encode(after failure) = key %v, %v, want true, nil", key, err)
	}
}

// TestHintsAreTrusted changes a macroblock that no hint covers: the encoder
// must skip it (keep the previous reconstruction), while nil hints code it.
func TestHintsAreTrusted(t *testing.T) {
	a := pattern("gradient", 64, 32, 0, 1)
	b := pattern("gradient", 64, 32, 0, 1)
	fillRect(b, image.Rect(40, 8, 56, 24), 0)
	for _, tc := range []struct {
		name    string
		hints   []image.Rectangle
		changed bool
	}{
		{"empty hints", []image.Rectangle{}, false},
		{"hint elsewhere", []image.Rectangle{image.Rect(0, 0, 8, 8)}, false},
		{"hint covering", []image.Rectangle{image.Rect(50, 10, 51, 11)}, true},
		{"nil hints", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, _ := New(64, 32, Options{})
			if _, _, err := enc.Encode(a, nil, false); err != nil {
				t.Fatal(err)
			}
			before := enc.Reconstruction().Y[enc.Reconstruction().YOffset(50, 10)]
			if _, _, err := enc.Encode(b, tc.hints, false); err != nil {
				t.Fatal(err)
			}
			after := enc.Reconstruction().Y[enc.Reconstruction().YOffset(50, 10)]
			if changed := absDiff(before, after) > 32; changed != tc.changed {
				t.Errorf("Y(50,10) %d -> %d: changed = %v, want %v", before, after, changed, tc.changed)
			}
		})
	}
}
