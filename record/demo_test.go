package record

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"testing"
	"time"
)

var srcScenarios = []string{ScenarioTour, ScenarioTyping, ScenarioPointer, ScenarioDrag, ScenarioScroll, ScenarioSwitch}

func srcOpenDemo(t testing.TB, opts SourceOptions) Source {
	t.Helper()
	s, err := OpenSource("demo", opts)
	if err != nil {
		t.Fatalf("OpenSource(demo, %+v) = %v", opts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// srcDemoHash hashes n frames: planes, hints and PTS.
func srcDemoHash(t *testing.T, opts SourceOptions, n int) [32]byte {
	s := srcOpenDemo(t, opts)
	h := sha256.New()
	for i := 0; i < n; i++ {
		f, err := s.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		h.Write(f.Img.Y)
		h.Write(f.Img.Cb)
		h.Write(f.Img.Cr)
		binary.Write(h, binary.LittleEndian, int64(f.PTS))
		for _, r := range f.Hints {
			binary.Write(h, binary.LittleEndian, [4]int64{int64(r.Min.X), int64(r.Min.Y), int64(r.Max.X), int64(r.Max.Y)})
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func TestDemoDeterministic(t *testing.T) {
	tests := []struct {
		name string
		opts SourceOptions
	}{
		{"tour", SourceOptions{Width: 320, Height: 180}},
		{"tour seeded", SourceOptions{Width: 320, Height: 180, Seed: 42}},
		{"typing odd", SourceOptions{Width: 321, Height: 241, Scenario: ScenarioTyping}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := srcDemoHash(t, tc.opts, 170) // past the first app switch
			b := srcDemoHash(t, tc.opts, 170)
			if a != b {
				t.Errorf("two runs of %+v hash %x and %x, want equal", tc.opts, a[:8], b[:8])
			}
			other := tc.opts
			other.Seed = 7
			if c := srcDemoHash(t, other, 170); c == a {
				t.Errorf("seed 7 gives the same frames as seed %d", tc.opts.Seed)
			}
		})
	}
}

// srcCovered reports whether p lies in one of rs.
func srcCovered(p image.Point, rs []image.Rectangle) bool {
	for _, r := range rs {
		if p.In(r) {
			return true
		}
	}
	return false
}

// TestDemoHintsCoverChanges compares consecutive frames: every changed
// luma sample lies in a hint, and every changed chroma sample's 2x2 block
// intersects one. It also checks that each scenario does change the
// picture, and that the hints are not much larger than the change.
func TestDemoHintsCoverChanges(t *testing.T) {
	tests := []struct {
		scenario  string
		w, h      int
		frames    int
		minChange int // pixels changed over the run, at least
	}{
		{ScenarioTour, 321, 241, 420, 321 * 241}, // typing, two switches, scrolling, a drag
		{ScenarioTour, 480, 270, 160, 480 * 270 / 5},
		{ScenarioTyping, 321, 241, 90, 200},
		{ScenarioPointer, 480, 270, 60, 500},
		{ScenarioDrag, 321, 241, 40, 10000},
		{ScenarioScroll, 480, 270, 30, 10000},
		{ScenarioSwitch, 321, 241, 50, 20000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %dx%d", tc.scenario, tc.w, tc.h), func(t *testing.T) {
			s := srcOpenDemo(t, SourceOptions{Width: tc.w, Height: tc.h, Scenario: tc.scenario})
			bounds := image.Rect(0, 0, tc.w, tc.h)
			var prev *image.YCbCr
			changed, hinted := 0, 0
			for n := 0; n < tc.frames; n++ {
				f, err := s.Next(context.Background())
				if err != nil {
					t.Fatalf("frame %d: %v", n, err)
				}
				if f.Hints == nil {
					t.Fatalf("frame %d: Hints = nil, want exact hints", n)
				}
				for _, r := range f.Hints {
					if r.Empty() || !r.In(bounds) {
						t.Fatalf("frame %d: hint %v empty or outside %v", n, r, bounds)
					}
				}
				if n == 0 {
					if len(f.Hints) != 1 || f.Hints[0] != bounds {
						t.Errorf("frame 0 Hints = %v, want [%v]", f.Hints, bounds)
					}
				} else {
					for _, r := range f.Hints {
						hinted += r.Dx() * r.Dy()
					}
					for y := 0; y < tc.h; y++ {
						for x := 0; x < tc.w; x++ {
							i := f.Img.YOffset(x, y)
							if f.Img.Y[i] == prev.Y[i] {
								continue
							}
							changed++
							if !srcCovered(image.Pt(x, y), f.Hints) {
								t.Fatalf("frame %d: luma (%d,%d) changed %d -> %d outside hints %v", n, x, y, prev.Y[i], f.Img.Y[i], f.Hints)
							}
						}
					}
					for cy := 0; cy < (tc.h+1)/2; cy++ {
						for cx := 0; cx < (tc.w+1)/2; cx++ {
							i := cy*f.Img.CStride + cx
							if f.Img.Cb[i] == prev.Cb[i] && f.Img.Cr[i] == prev.Cr[i] {
								continue
							}
							block := image.Rect(2*cx, 2*cy, 2*cx+2, 2*cy+2)
							hit := false
							for _, r := range f.Hints {
								hit = hit || r.Overlaps(block)
							}
							if !hit {
								t.Fatalf("frame %d: chroma block %v changed outside hints %v", n, block, f.Hints)
							}
						}
					}
				}
				if prev == nil {
					prev = image.NewYCbCr(bounds, image.YCbCrSubsampleRatio420)
				}
				copy(prev.Y, f.Img.Y)
				copy(prev.Cb, f.Img.Cb)
				copy(prev.Cr, f.Img.Cr)
			}
			t.Logf("%d luma samples changed, hint area %d (%.1fx)", changed, hinted, float64(hinted)/float64(max(1, changed)))
			if changed < tc.minChange {
				t.Errorf("%d luma samples changed in %d frames, want >= %d", changed, tc.frames, tc.minChange)
			}
		})
	}
}

// TestDemoHintArea: small activities must give small hints at 1080p.
func TestDemoHintArea(t *testing.T) {
	tests := []struct {
		scenario string
		frames   int
		maxMean  float64 // mean hint area per frame, fraction of the frame
	}{
		{ScenarioTyping, 300, 0.02},
		{ScenarioPointer, 150, 0.005},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			s := srcOpenDemo(t, SourceOptions{Scenario: tc.scenario})
			if i := s.Info(); i.Width != 1920 || i.Height != 1080 || i.FPSNum != 15 || i.FPSDen != 1 {
				t.Fatalf("default Info = %+v, want 1920x1080 at 15/1", i)
			}
			total, busy := 0, 0
			for n := 0; n < tc.frames; n++ {
				f, err := s.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					continue
				}
				a := 0
				for _, r := range f.Hints {
					a += r.Dx() * r.Dy()
				}
				total += a
				if a > 0 {
					busy++
				}
			}
			mean := float64(total) / float64(tc.frames-1) / (1920 * 1080)
			t.Logf("%s: mean hint area %.4f%% of the frame, %d of %d frames changed", tc.scenario, 100*mean, busy, tc.frames-1)
			if mean >= tc.maxMean {
				t.Errorf("%s: mean hint area %.4f of the frame, want < %v", tc.scenario, mean, tc.maxMean)
			}
			if busy < (tc.frames-1)/4 {
				t.Errorf("%s: %d of %d frames changed, want >= a quarter", tc.scenario, busy, tc.frames-1)
			}
		})
	}
}

// TestDemoAppSwitch: the tour brings another window to the front every
// 10 s, a large change; the switch scenario does it every second.
func TestDemoAppSwitch(t *testing.T) {
	tests := []struct {
		scenario string
		fps      float64
		frame    int // a switch frame
	}{
		{ScenarioTour, 15, 150},
		{ScenarioTour, 10, 100},
		{ScenarioSwitch, 15, 15},
		{ScenarioSwitch, 15, 30},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.scenario, tc.fps, tc.frame), func(t *testing.T) {
			s := srcOpenDemo(t, SourceOptions{Width: 320, Height: 180, Scenario: tc.scenario, FPS: tc.fps})
			for n := 0; n <= tc.frame; n++ {
				f, err := s.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				a := 0
				for _, r := range f.Hints {
					a += r.Dx() * r.Dy()
				}
				if n == tc.frame && a < 320*180/5 {
					t.Errorf("frame %d (PTS %v): hint area %d, want >= a fifth of the frame", n, f.PTS, a)
				}
				if n == tc.frame-1 && a >= 320*180/5 {
					t.Errorf("frame %d (PTS %v): hint area %d before the switch, want < a fifth of the frame", n, f.PTS, a)
				}
			}
		})
	}
}

func TestDemoSizesAndPTS(t *testing.T) {
	tests := []struct {
		w, h int
		fps  float64
	}{
		{321, 241, 15},
		{1, 1, 15},
		{2, 3, 30},
		{17, 9, 29.97},
		{64, 4096, 5},
		{2304, 64, 1},
	}
	for _, tc := range tests {
		for _, sc := range srcScenarios {
			t.Run(fmt.Sprintf("%dx%d %s", tc.w, tc.h, sc), func(t *testing.T) {
				s := srcOpenDemo(t, SourceOptions{Width: tc.w, Height: tc.h, FPS: tc.fps, Scenario: sc, Frames: 40})
				info := s.Info()
				if info.Width != tc.w || info.Height != tc.h {
					t.Fatalf("Info = %+v, want %dx%d", info, tc.w, tc.h)
				}
				for n := 0; ; n++ {
					f, err := s.Next(context.Background())
					if err != nil {
						if n != 40 {
							t.Fatalf("frame %d: %v, want 40 frames then io.EOF", n, err)
						}
						break
					}
					if f.Img.Rect != image.Rect(0, 0, tc.w, tc.h) {
						t.Fatalf("frame %d: Img %v, want %dx%d", n, f.Img.Rect, tc.w, tc.h)
					}
					want := framePTS(int64(n), info.FPSNum, info.FPSDen)
					if f.PTS != want || (n == 1 && (f.PTS-time.Duration(float64(time.Second)/tc.fps)).Abs() > time.Microsecond) {
						t.Fatalf("frame %d PTS = %v, want %v (1/%v s per frame)", n, f.PTS, want, tc.fps)
					}
				}
			})
		}
	}
}

func BenchmarkDemoFrame1080p(b *testing.B) {
	for _, sc := range srcScenarios {
		name := sc
		if name == "" {
			name = "tour"
		}
		b.Run(name, func(b *testing.B) {
			s := srcOpenDemo(b, SourceOptions{Scenario: sc})
			ctx := context.Background()
			if _, err := s.Next(ctx); err != nil { // the full first frame
				b.Fatal(err)
			}
			area := 0
			b.ReportAllocs()
			for b.Loop() {
				f, err := s.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range f.Hints {
					area += r.Dx() * r.Dy()
				}
			}
			b.ReportMetric(float64(area)/float64(b.N)/(1920*1080)*100, "%changed/frame")
		})
	}
}
