package vp8enc

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// shiftedFrame returns the w x h window of canvas whose top-left corner is
// (ox, oy); chroma is taken at (ox/2, oy/2).
func shiftedFrame(canvas *image.YCbCr, w, h, ox, oy int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		copy(img.Y[y*img.YStride:y*img.YStride+w], canvas.Y[(y+oy)*canvas.YStride+ox:])
	}
	for y := 0; y < (h+1)/2; y++ {
		o := (y+oy/2)*canvas.CStride + ox/2
		copy(img.Cb[y*img.CStride:y*img.CStride+(w+1)/2], canvas.Cb[o:])
		copy(img.Cr[y*img.CStride:y*img.CStride+(w+1)/2], canvas.Cr[o:])
	}
	return img
}

// scrollResult is what scrollRun measured.
type scrollResult struct {
	ivf, want  []byte // the IVF file and the reconstructions as yuv420p
	interBytes int    // bytes of the inter frames
	inter      int    // inter macroblocks of the inter frames
	moved      int    // of those, with a non-zero motion vector
	halfChroma int    // of those, with an odd luma vector (half-pixel chroma)
}

// scrollRun encodes n frames in which region (all of the frame if empty)
// shows a window moving over canvas by (dx, dy) pixels per frame, so that
// its content moves by (-dx, -dy), and the rest of the frame stays still.
// With hints, each frame's hint is the region.
func scrollRun(t *testing.T, canvas *image.YCbCr, w, h, n, dx, dy int, region image.Rectangle, noMotion, hints bool) scrollResult {
	t.Helper()
	enc, err := New(w, h, Options{})
	if err != nil {
		t.Fatalf("New(%d, %d) = %v", w, h, err)
	}
	enc.noMotion = noMotion
	if region.Empty() {
		region = image.Rect(0, 0, w, h)
	}
	var res scrollResult
	v := newIVF(w, h)
	const m = 40 // the canvas margin
	still := shiftedFrame(canvas, w, h, m, m)
	for i := 0; i < n; i++ {
		moving := shiftedFrame(canvas, w, h, m+i*dx, m+i*dy)
		img := shiftedFrame(canvas, w, h, m, m)
		copy(img.Y, still.Y)
		for y := region.Min.Y; y < region.Max.Y; y++ {
			for x := region.Min.X; x < region.Max.X; x++ {
				img.Y[y*img.YStride+x] = moving.Y[y*moving.YStride+x]
				img.Cb[img.COffset(x, y)] = moving.Cb[moving.COffset(x, y)]
				img.Cr[img.COffset(x, y)] = moving.Cr[moving.COffset(x, y)]
			}
		}
		var hs []image.Rectangle
		if hints {
			hs = []image.Rectangle{region}
		}
		frame, key, err := enc.Encode(img, hs, false)
		if err != nil {
			t.Fatalf("Encode(frame %d) = %v", i, err)
		}
		if key != (i == 0) {
			t.Fatalf("Encode(frame %d) key = %v, want %v", i, key, i == 0)
		}
		if !key {
			res.interBytes += len(frame)
			for _, mb := range enc.mbs {
				if !mb.inter {
					continue
				}
				res.inter++
				if mb.mv != (motionVector{}) {
					res.moved++
				}
				if mb.mv.x&7 != 0 || mb.mv.y&7 != 0 {
					res.halfChroma++
				}
			}
		}
		v.add(frame)
		res.want = rawI420(res.want, enc.Reconstruction())
	}
	res.ivf = v.bytes()
	return res
}

// checkFFmpeg decodes ivf with ffmpeg and compares every frame with want.
func checkFFmpeg(t *testing.T, ivf, want []byte, n int) {
	t.Helper()
	got := ffmpegDecode(t, ivf)
	if len(got) != len(want) {
		t.Fatalf("ffmpeg output = %d bytes, want %d", len(got), len(want))
	}
	size := len(want) / n
	for i := 0; i < n; i++ {
		g, w := got[i*size:(i+1)*size], want[i*size:(i+1)*size]
		if !bytes.Equal(g, w) {
			t.Errorf("ffmpeg frame %d != Reconstruction(): %s", i, firstDiff(g, w))
		}
	}
}

func TestScrollUsesMotionVectors(t *testing.T) {
	tests := []struct {
		name   string
		w, h   int
		dx, dy int
		region image.Rectangle // empty: the whole frame
		hints  bool
	}{
		{"down 6", 320, 240, 0, 6, image.Rectangle{}, false},
		{"up 6", 320, 240, 0, -6, image.Rectangle{}, true},
		{"down 5 odd", 320, 240, 0, 5, image.Rectangle{}, false},
		{"up 7 odd", 320, 240, 0, -7, image.Rectangle{}, false},
		{"right 8", 320, 240, 8, 0, image.Rectangle{}, true},
		{"left 3 odd", 320, 240, -3, 0, image.Rectangle{}, false},
		{"drag 8,2", 320, 240, 8, 2, image.Rectangle{}, false},
		{"diagonal -5,-3 odd", 320, 240, -5, -3, image.Rectangle{}, false},
		{"down 20 past the clamp", 320, 240, 0, 20, image.Rectangle{}, false},
		{"odd size 177x99 down 6", 177, 99, 0, 6, image.Rectangle{}, false},
		{"odd size 177x99 left 9", 177, 99, -9, 0, image.Rectangle{}, true},
		{"region at the bottom-right edge down 7", 321, 241, 0, 7, image.Rect(130, 90, 321, 241), true},
		{"region at the top-left edge up 4", 320, 240, 0, -4, image.Rect(0, 0, 200, 150), true},
		{"region at the right edge left 5", 320, 240, -5, 0, image.Rect(100, 40, 320, 200), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 6
			canvas := pattern("text", tc.w+80+n*abs(tc.dx), tc.h+80+n*abs(tc.dy), 0, 5)
			// A window moving left or up starts at the far side.
			m := func(d int) int { return max(-d*n, 0) }
			sub := shiftedFrame(canvas, tc.w+80+n*abs(tc.dx)-m(tc.dx), tc.h+80+n*abs(tc.dy)-m(tc.dy), m(tc.dx), m(tc.dy))
			with := scrollRun(t, sub, tc.w, tc.h, n, tc.dx, tc.dy, tc.region, false, tc.hints)
			without := scrollRun(t, sub, tc.w, tc.h, n, tc.dx, tc.dy, tc.region, true, tc.hints)
			t.Logf("inter bytes %d with motion search, %d without; %d of %d inter macroblocks moved, %d with half-pixel chroma",
				with.interBytes, without.interBytes, with.moved, with.inter, with.halfChroma)
			// The moving region's share of the macroblocks.
			r := tc.region
			if r.Empty() {
				r = image.Rect(0, 0, tc.w, tc.h)
			}
			share := float64(r.Dx()*r.Dy()) / float64(tc.w*tc.h)
			if float64(with.moved) < float64(with.inter)*share/2 {
				t.Errorf("macroblocks with a non-zero motion vector = %d of %d, want at least half of the moving region's share %.2f", with.moved, with.inter, share)
			}
			// Macroblocks across the edge of a moved region need intra or
			// residual: a region saves less.
			ratio := 3
			if !tc.region.Empty() {
				ratio = 2
			}
			if with.interBytes*ratio > without.interBytes {
				t.Errorf("inter bytes = %d, want at most 1/%d of %d (no motion search)", with.interBytes, ratio, without.interBytes)
			}
			if odd := tc.dx%2 != 0 || tc.dy%2 != 0; odd && with.halfChroma == 0 {
				t.Errorf("macroblocks with half-pixel chroma vectors = 0, want some for an odd shift")
			}
			checkFFmpeg(t, with.ivf, with.want, n)
		})
	}
}

// TestRandomMotionMatchesFFmpeg moves random rectangles of a picture by
// random vectors (up to 24 pixels, beyond the clamp of the near vectors)
// over random sizes; every frame must decode bit-exactly with ffmpeg.
func TestRandomMotionMatchesFFmpeg(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 6; trial++ {
		w, h := 33+rng.IntN(200), 17+rng.IntN(150)
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			const n = 8
			canvas := pattern("text", w+100, h+100, 0, uint64(trial))
			enc, err := New(w, h, Options{Quality: 30 + rng.IntN(70)})
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			v := newIVF(w, h)
			var want []byte
			img := shiftedFrame(canvas, w, h, 50, 50)
			moved := 0
			for i := 0; i < n; i++ {
				if i > 0 {
					// Move a random rectangle of the previous frame.
					prev := img
					img = shiftedFrame(canvas, w, h, 50, 50)
					copy(img.Y, prev.Y)
					copy(img.Cb, prev.Cb)
					copy(img.Cr, prev.Cr)
					r := image.Rect(rng.IntN(w), rng.IntN(h), rng.IntN(w)+1, rng.IntN(h)+1).Canon()
					if i%2 == 0 {
						r = img.Rect
					}
					sx, sy := rng.IntN(49)-24, rng.IntN(49)-24
					for y := r.Min.Y; y < r.Max.Y; y++ {
						for x := r.Min.X; x < r.Max.X; x++ {
							fx, fy := min(max(x+sx, 0), w-1), min(max(y+sy, 0), h-1)
							img.Y[y*img.YStride+x] = prev.Y[fy*prev.YStride+fx]
							img.Cb[img.COffset(x, y)] = prev.Cb[prev.COffset(fx, fy)]
							img.Cr[img.COffset(x, y)] = prev.Cr[prev.COffset(fx, fy)]
						}
					}
				}
				frame, _, err := enc.Encode(img, nil, false)
				if err != nil {
					t.Fatalf("Encode(frame %d) = %v", i, err)
				}
				if i > 0 {
					for _, mb := range enc.mbs {
						if mb.inter && mb.mv != (motionVector{}) {
							moved++
						}
					}
				}
				v.add(frame)
				want = rawI420(want, enc.Reconstruction())
			}
			t.Logf("%d macroblocks with a non-zero motion vector", moved)
			if moved == 0 {
				t.Errorf("macroblocks with a non-zero motion vector = 0, want some")
			}
			checkFFmpeg(t, v.bytes(), want, n)
		})
	}
}

// boolDecoder is the boolean entropy decoder of RFC 6386, section 7.3,
// for checking what the encoder writes.
type boolDecoder struct {
	data     []byte
	value    uint32
	rng      uint32
	bitCount int
}

func newBoolDecoder(data []byte) *boolDecoder {
	d := &boolDecoder{data: data, rng: 255}
	for i := 0; i < 2; i++ {
		d.value = d.value<<8 | uint32(d.next())
	}
	return d
}

func (d *boolDecoder) next() byte {
	if len(d.data) == 0 {
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b
}

func (d *boolDecoder) readBool(prob uint8) bool {
	split := 1 + (((d.rng - 1) * uint32(prob)) >> 8)
	bigSplit := split << 8
	var bit bool
	if d.value >= bigSplit {
		bit = true
		d.rng -= split
		d.value -= bigSplit
	} else {
		d.rng = split
	}
	for d.rng < 128 {
		d.value <<= 1
		d.rng <<= 1
		d.bitCount++
		if d.bitCount == 8 {
			d.bitCount = 0
			d.value |= uint32(d.next())
		}
	}
	return bit
}

// readMVComp is read_mvcomponent of RFC 6386, section 17.2.
func (d *boolDecoder) readMVComp(p *[19]uint8) int {
	x := 0
	if d.readBool(p[mvpIsShort]) {
		for i := 0; i < 3; i++ {
			if d.readBool(p[mvpLong+i]) {
				x += 1 << i
			}
		}
		for i := mvLongBits - 1; i > 3; i-- {
			if d.readBool(p[mvpLong+i]) {
				x += 1 << i
			}
		}
		if x&0xfff0 == 0 || d.readBool(p[mvpLong+3]) {
			x += 8
		}
	} else {
		// small_mvtree: {2, 8, 4, 6, -0, -1, -2, -3, 10, 12, -4, -5, -6, -7}
		tree := [14]int{2, 8, 4, 6, -0, -1, -2, -3, 10, 12, -4, -5, -6, -7}
		i := 0
		for {
			b := 0
			if d.readBool(p[mvpShort+i>>1]) {
				b = 1
			}
			i = tree[i+b]
			if i <= 0 {
				x = -i
				break
			}
		}
	}
	if x != 0 && d.readBool(p[mvpSign]) {
		x = -x
	}
	return x
}

func TestMVComponentRoundTrip(t *testing.T) {
	for c, name := range []string{"row", "column"} {
		t.Run(name, func(t *testing.T) {
			var w boolEncoder
			w.reset()
			for v := -maxMVComp; v <= maxMVComp; v++ {
				putMVComp(&w, v, &defaultMVProbs[c])
			}
			w.flush()
			d := newBoolDecoder(w.buf)
			for v := -maxMVComp; v <= maxMVComp; v++ {
				if got := d.readMVComp(&defaultMVProbs[c]); got != v {
					t.Fatalf("readMVComp(putMVComp(%d)) = %d, want %d", v, got, v)
				}
			}
			// The cost table agrees with the bits written.
			for _, v := range []int{0, 1, -3, 7, 8, -15, 16, 300, -1023} {
				var k costCounter
				putMVComp(&k, v, &defaultMVProbs[c])
				if got := mvCompCost[c][v+maxMVComp]; got != k.cost || got == 0 {
					t.Errorf("mvCompCost[%d][%d] = %d, want %d (non-zero)", c, v, got, k.cost)
				}
			}
		})
	}
}

func TestFindNearMVs(t *testing.T) {
	a, b, c := motionVector{8, 4}, motionVector{-4, 0}, motionVector{0, 12}
	intra := mbInfo{}
	zero := mbInfo{inter: true}
	mv := func(v motionVector) mbInfo { return mbInfo{inter: true, mvMode: mvNew, mv: v} }
	tests := []struct {
		name                   string
		above, left, aboveLeft mbInfo
		mbx, mby               int
		best, nearest, near    motionVector
		cnt                    [4]uint8
	}{
		{"all intra", intra, intra, intra, 1, 1, motionVector{}, motionVector{}, motionVector{}, [4]uint8{0, 0, 0, 0}},
		{"all zero", zero, zero, zero, 1, 1, motionVector{}, motionVector{}, motionVector{}, [4]uint8{5, 0, 0, 0}},
		{"above and left a", mv(a), mv(a), intra, 1, 1, a, a, motionVector{}, [4]uint8{0, 4, 0, 0}},
		{"left b beats above a", mv(a), mv(b), mv(b), 1, 1, b, b, a, [4]uint8{0, 3, 2, 0}},
		{"three distinct, above-left merges", mv(a), mv(b), mv(a), 1, 1, a, a, b, [4]uint8{0, 3, 2, 0}},
		{"three distinct", mv(a), mv(b), mv(c), 1, 1, a, a, b, [4]uint8{0, 2, 2, 0}},
		{"zero majority", zero, zero, mv(c), 1, 1, motionVector{}, c, motionVector{}, [4]uint8{4, 1, 0, 0}},
		{"tie goes to nearest", zero, mv(a), intra, 1, 1, a, a, motionVector{}, [4]uint8{2, 2, 0, 0}},
		// Top-left macroblock: only the left neighbour (mbx 1, mby 0).
		{"top row", intra, mv(motionVector{-200, 0}), intra, 1, 0, motionVector{-128, 0}, motionVector{-128, 0}, motionVector{}, [4]uint8{0, 2, 0, 0}},
		{"clamp down", mv(motionVector{0, 400}), intra, intra, 1, 1, motionVector{0, 128}, motionVector{0, 128}, motionVector{}, [4]uint8{0, 2, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(64, 48, Options{}) // 4x3 macroblocks
			if err != nil {
				t.Fatal(err)
			}
			x, y := tc.mbx, tc.mby
			if y > 0 {
				e.mbs[(y-1)*e.mbw+x] = tc.above
				e.mbs[(y-1)*e.mbw+x-1] = tc.aboveLeft
			}
			e.mbs[y*e.mbw+x-1] = tc.left
			n := e.findNearMVs(x, y)
			want := nearMVs{best: tc.best, nearest: tc.nearest, near: tc.near, cnt: tc.cnt}
			if n != want {
				t.Errorf("findNearMVs(%d, %d) = %+v, want %+v", x, y, n, want)
			}
			if got := e.zeroMVCount(x, y); got != int(tc.cnt[0]) {
				t.Errorf("zeroMVCount(%d, %d) = %d, want %d", x, y, got, tc.cnt[0])
			}
		})
	}
}

func TestPredictChromaMatchesFilterDefinition(t *testing.T) {
	// A half-pixel vertical and horizontal chroma prediction inside the
	// plane equals the separable six-tap filter computed directly.
	const w, h = 32, 32
	p := make([]byte, w*h)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p {
		p[i] = byte(rng.IntN(256))
	}
	var out [64]byte
	predictChroma(&out, p, w, h, 8, 8, 4, 0)
	for r := 0; r < 8; r++ {
		for c := 0; c < 8; c++ {
			o := (8+r)*w + 8 + c
			s := 3*int32(p[o-2]) - 16*int32(p[o-1]) + 77*int32(p[o]) + 77*int32(p[o+1]) - 16*int32(p[o+2]) + 3*int32(p[o+3])
			if want := clamp255((s + 64) >> 7); out[r*8+c] != want {
				t.Fatalf("predictChroma(4/8, 0)[%d,%d] = %d, want %d", r, c, out[r*8+c], want)
			}
		}
	}
	predictChroma(&out, p, w, h, 0, 0, 0, 0)
	for r := 0; r < 8; r++ {
		if !bytes.Equal(out[r*8:r*8+8], p[r*w:r*w+8]) {
			t.Fatalf("predictChroma(0, 0) row %d = %v, want a copy %v", r, out[r*8:r*8+8], p[r*w:r*w+8])
		}
	}
}
