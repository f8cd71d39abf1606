package vp8bench

import (
	"bytes"
	"errors"
	"image"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func newImg(w, h int, y byte) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = y
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

func TestSSE(t *testing.T) {
	tests := []struct {
		name        string
		w, h        int
		edit        func(*image.YCbCr)
		wantSSE     float64
		wantSamples float64
	}{
		{"identical 4x4", 4, 4, func(*image.YCbCr) {}, 0, 16 + 2*4},
		{"one luma off by 3", 4, 4, func(m *image.YCbCr) { m.Y[5] += 3 }, 9, 24},
		{"odd 3x3, one Cr off by 2", 3, 3, func(m *image.YCbCr) { m.Cr[3] -= 2 }, 4, 9 + 2*4},
		{"every luma off by 1", 5, 2, func(m *image.YCbCr) {
			for i := range m.Y {
				m.Y[i]++
			}
		}, 10, 10 + 2*3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newImg(tc.w, tc.h, 50), newImg(tc.w, tc.h, 50)
			tc.edit(b)
			sse, n := SSE(a, b)
			if sse != tc.wantSSE || n != tc.wantSamples {
				t.Errorf("SSE() = %v, %v samples, want %v, %v", sse, n, tc.wantSSE, tc.wantSamples)
			}
		})
	}
}

func TestPSNR(t *testing.T) {
	tests := []struct {
		name string
		s    Stats
		want float64
	}{
		{"MSE 1", Stats{SSE: 100, Samples: 100}, 48.1308},
		{"MSE 100", Stats{SSE: 1e4, Samples: 100}, 28.1308},
		{"exact", Stats{SSE: 0, Samples: 100}, MaxPSNR},
		{"no samples", Stats{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.PSNR(); math.Abs(got-tc.want) > 1e-3 {
				t.Errorf("PSNR(%+v) = %.4f, want %.4f", tc.s, got, tc.want)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	ref := Stats{Frames: 10, CPU: 100 * time.Millisecond, Bytes: 10000}
	tests := []struct {
		name  string
		clip  string
		key   bool
		test  Stats
		want  Target
		wantM bool
	}{
		{"typing inter equal", "typing", false, Stats{Frames: 10, CPU: 100 * time.Millisecond, Bytes: 15000}, Target{1, 1.5}, true},
		{"typing inter slower", "typing", false, Stats{Frames: 10, CPU: 101 * time.Millisecond, Bytes: 100}, Target{1, 1.5}, false},
		{"pointer inter too big", "pointer", false, Stats{Frames: 10, CPU: time.Millisecond, Bytes: 15001}, Target{1, 1.5}, false},
		{"pointer inter per frame", "pointer", false, Stats{Frames: 20, CPU: 150 * time.Millisecond, Bytes: 20000}, Target{1, 1.5}, true},
		{"key 3x", "drag", true, Stats{Frames: 10, CPU: 300 * time.Millisecond, Bytes: 16000}, Target{3, 1.6}, true},
		{"key 3.1x", "testsrc2", true, Stats{Frames: 10, CPU: 310 * time.Millisecond, Bytes: 100}, Target{3, 1.6}, false},
		{"scroll inter 5x, bytes free", "scroll", false, Stats{Frames: 10, CPU: 500 * time.Millisecond, Bytes: 1e6}, Target{MaxCPU: 5}, true},
		{"testsrc2 inter 6x", "testsrc2", false, Stats{Frames: 10, CPU: 600 * time.Millisecond}, Target{MaxCPU: 5}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := TargetFor(tc.clip, tc.key)
			if tg != tc.want {
				t.Fatalf("TargetFor(%q, %v) = %+v, want %+v", tc.clip, tc.key, tg, tc.want)
			}
			if got := tg.Met(tc.test, ref); got != tc.wantM {
				t.Errorf("%v.Met(%+v) = %v, want %v", tg, tc.test, got, tc.wantM)
			}
		})
	}
}

// fakeEncoder "encodes" to a fixed 100-byte frame and reconstructs the
// input with every luma sample raised by its level, so its PSNR is a known
// falling function of the level.
type fakeEncoder struct {
	level  int
	frames int
	rec    *image.YCbCr
}

func (f *fakeEncoder) Encode(img *image.YCbCr, hints []image.Rectangle, forceKey bool) ([]byte, bool, error) {
	f.rec = CopyFrame(img, nil).Img
	for i := range f.rec.Y {
		f.rec.Y[i] = byte(min(255, int(f.rec.Y[i])+f.level))
	}
	key := forceKey || f.frames == 0
	f.frames++
	return make([]byte, 100), key, nil
}

func (f *fakeEncoder) Reconstruction() (*image.YCbCr, error) { return f.rec, nil }
func (f *fakeEncoder) Close() error                          { return nil }

func openFake(w, h, level int) (Encoder, error) { return &fakeEncoder{level: level}, nil }

// fakePSNR is the PSNR of fakeEncoder at level on a w x h frame.
func fakePSNR(w, h, level int) float64 {
	n := float64(w*h + 2*((w+1)/2)*((h+1)/2))
	return psnr(float64(level*level*w*h), n)
}

func fakeClip(n int, keys ...int) *Clip {
	c := &Clip{Name: "fake"}
	for i := 0; i < n; i++ {
		c.Frames = append(c.Frames, Frame{Img: newImg(32, 16, byte(10*i))})
	}
	c.SetKeys(keys...)
	return c
}

func TestMeasure(t *testing.T) {
	r, err := Measure(fakeClip(6, 3), openFake, 2)
	if err != nil {
		t.Fatalf("Measure() = %v", err)
	}
	if r.Key.Frames != 2 || r.Inter.Frames != 4 || r.Key.Bytes != 200 || r.Inter.Bytes != 400 {
		t.Errorf("Measure() = key %d frames %d bytes, inter %d frames %d bytes, want 2, 200, 4, 400",
			r.Key.Frames, r.Key.Bytes, r.Inter.Frames, r.Inter.Bytes)
	}
	if got, want := r.All().PSNR(), fakePSNR(32, 16, 2); math.Abs(got-want) > 1e-9 {
		t.Errorf("Measure().All().PSNR() = %.4f, want %.4f", got, want)
	}
	if _, err := Measure(&Clip{Name: "empty"}, openFake, 0); !errors.Is(err, ErrClip) {
		t.Errorf("Measure(empty clip) = %v, want %v", err, ErrClip)
	}
	mixed := fakeClip(2)
	mixed.Frames[1].Img = newImg(16, 16, 0)
	if _, err := Measure(mixed, openFake, 0); !errors.Is(err, ErrClip) {
		t.Errorf("Measure(mixed sizes) = %v, want %v", err, ErrClip)
	}
}

func TestMatch(t *testing.T) {
	clip := fakeClip(3)
	tests := []struct {
		name    string
		target  float64
		want    int
		wantErr error
	}{
		{"exactly level 7", fakePSNR(32, 16, 7), 7, nil},
		{"nearer 12 than 11", fakePSNR(32, 16, 12) + 0.1, 12, nil},
		{"nearer 11 than 12", fakePSNR(32, 16, 11) - 0.1, 11, nil},
		{"better than level 1", fakePSNR(32, 16, 1) + 5, 1, ErrNoMatch},
		{"worse than level 40", fakePSNR(32, 16, 40) - 5, 40, ErrNoMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Match(clip, openFake, 1, 40, tc.target, 0.3)
			if r.Level != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("Match(target %.2f) = level %d, %v, want %d, %v", tc.target, r.Level, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestPureGoMeasure(t *testing.T) {
	clip, err := DemoClip("typing", 320, 180, 6, 3)
	if err != nil {
		t.Fatalf("DemoClip() = %v", err)
	}
	r, err := Measure(clip, PureGo, 80)
	if err != nil {
		t.Fatalf("Measure(PureGo) = %v", err)
	}
	if r.Key.Frames != 2 || r.Inter.Frames != 4 {
		t.Errorf("Measure(PureGo) = %d key, %d inter frames, want 2, 4", r.Key.Frames, r.Inter.Frames)
	}
	if p := r.All().PSNR(); p < 35 || p >= MaxPSNR {
		t.Errorf("Measure(PureGo).All().PSNR() = %.2f, want 35..%v", p, MaxPSNR)
	}
	if r.Key.BytesPerFrame() <= r.Inter.BytesPerFrame() {
		t.Errorf("key frames %.0f bytes <= inter frames %.0f bytes, want larger", r.Key.BytesPerFrame(), r.Inter.BytesPerFrame())
	}
}

func TestReadRawClip(t *testing.T) {
	const w, h = 5, 3 // chroma 3x2
	frame := make([]byte, w*h+2*3*2)
	for i := range frame {
		frame[i] = byte(i)
	}
	raw := bytes.Repeat(frame, 2)
	c, err := ReadRawClip("raw", bytes.NewReader(raw), w, h, 2)
	if err != nil {
		t.Fatalf("ReadRawClip() = %v", err)
	}
	img := c.Frames[1].Img
	if img.Y[img.YOffset(4, 2)] != 14 || img.Cb[img.COffset(4, 2)] != 15+5 || img.Cr[0] != 21 {
		t.Errorf("ReadRawClip() frame 1 = Y(4,2) %d Cb(4,2) %d Cr(0,0) %d, want 14, 20, 21",
			img.Y[img.YOffset(4, 2)], img.Cb[img.COffset(4, 2)], img.Cr[0])
	}
	if _, err := ReadRawClip("short", bytes.NewReader(raw[:len(raw)-1]), w, h, 2); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadRawClip(short input) = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if _, err := ReadRawClip("huge", bytes.NewReader(nil), w, h, MaxFrames+1); !errors.Is(err, ErrClip) {
		t.Errorf("ReadRawClip(%d frames) = %v, want %v", MaxFrames+1, err, ErrClip)
	}
}

func TestCopyFrame(t *testing.T) {
	big := newImg(64, 64, 9)
	sub := big.SubImage(image.Rect(16, 32, 48, 64)).(*image.YCbCr)
	f := CopyFrame(sub, []image.Rectangle{image.Rect(20, 40, 30, 50)})
	if f.Img.Rect != image.Rect(0, 0, 32, 32) || f.Hints[0] != image.Rect(4, 8, 14, 18) {
		t.Errorf("CopyFrame() = rect %v hints %v, want (0,0)-(32,32) and (4,8)-(14,18)", f.Img.Rect, f.Hints)
	}
	if f := CopyFrame(sub, nil); f.Hints != nil {
		t.Errorf("CopyFrame(nil hints) hints = %v, want nil", f.Hints)
	}
}

func TestWriteMarkdown(t *testing.T) {
	ms := time.Millisecond
	cs := []Comparison{{
		Clip:    "typing",
		Matched: true,
		Test: Result{Level: 80,
			Key:   Stats{Frames: 2, CPU: 60 * ms, Wall: 40 * ms, Bytes: 200000, SSE: 100, Samples: 100},
			Inter: Stats{Frames: 38, CPU: 38 * ms, Wall: 38 * ms, Bytes: 3800, SSE: 100, Samples: 100}},
		Ref: Result{Level: 21,
			Key:   Stats{Frames: 2, CPU: 10 * ms, Wall: 10 * ms, Bytes: 100000, SSE: 100, Samples: 100},
			Inter: Stats{Frames: 38, CPU: 76 * ms, Wall: 76 * ms, Bytes: 3800, SSE: 100, Samples: 100}},
	}}
	var b strings.Builder
	if err := WriteMarkdown(&b, "reckit", "quality", "libvpx", "q", cs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"| typing | key | 2 | 30.00 | 5.00 | 6.00 | 20.00 | 5.00 | 100000 | 50000 | 2.00 | 48.13 (quality 80) | 48.13 (q 21) | +0.00 | CPU ≤ 3x, bytes ≤ 1.6x | **no** |",
		"| typing | inter | 38 | 1.00 | 2.00 | 0.50 | 1.00 | 2.00 | 100 | 100 | 1.00 | 48.13 (quality 80) | 48.13 (q 21) | +0.00 | CPU ≤ 1x, bytes ≤ 1.5x | yes |",
	}
	if len(lines) != 4 {
		t.Fatalf("WriteMarkdown() = %d lines, want 4:\n%s", len(lines), b.String())
	}
	for i, w := range want {
		if lines[2+i] != w {
			t.Errorf("WriteMarkdown() line %d =\n%s\nwant\n%s", 2+i, lines[2+i], w)
		}
	}
}

// BenchmarkPureGo encodes 20 frames of each 1080p demo scenario with
// reckit's encoder (a key frame at 0 only), and six key frames ("keys");
// for profiles:
// go test -run '^$' -bench PureGo/scroll -cpuprofile cpu.out ./record/vp8bench/
func BenchmarkPureGo(b *testing.B) {
	for _, name := range []string{"typing", "drag", "scroll", "switch", "keys"} {
		b.Run(name, func(b *testing.B) {
			var clip *Clip
			var err error
			if name == "keys" {
				// Six key frames of the drag scenario.
				clip, err = DemoClip("drag", 1920, 1080, 6, 1, 2, 3, 4, 5)
			} else {
				clip, err = DemoClip(name, 1920, 1080, 20)
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var r Result
			for b.Loop() {
				if r, err = Measure(clip, PureGo, 80); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(r.Key.CPUPerFrame(), "key-cpu-ms")
			b.ReportMetric(r.Inter.CPUPerFrame(), "inter-cpu-ms")
			b.ReportMetric(r.Inter.BytesPerFrame(), "inter-bytes")
			b.ReportMetric(r.Inter.PSNR(), "inter-dB")
		})
	}
}
