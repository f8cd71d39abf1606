package rfb

import "fmt"

// pointerAt is where xterm puts the pointer; diffFB skips the 64x64 box
// around it, where the server may draw the cursor (TigerVNC renders it
// when another client, xdotool, moved it).
const pointerAt = 100

// diffFB counts the pixels where fb differs from want (w x h RGBA),
// outside the box around the pointer.
func diffFB(fb *Framebuffer, w, h int, want []byte) (int, string) {
	fb.Lock()
	defer fb.Unlock()
	if fb.W != w || fb.H != h {
		return -1, fmt.Sprintf("framebuffer %dx%d, screen %dx%d", fb.W, fb.H, w, h)
	}
	n, first := 0, ""
	for i := 0; i < w*h; i++ {
		if x, y := i%w, i/w; x >= pointerAt-32 && x < pointerAt+32 && y >= pointerAt-32 && y < pointerAt+32 {
			continue
		}
		if fb.Pix[4*i] != want[4*i] || fb.Pix[4*i+1] != want[4*i+1] || fb.Pix[4*i+2] != want[4*i+2] {
			if n == 0 {
				first = fmt.Sprintf("first at (%d,%d): got %v, want %v", i%w, i/w, fb.Pix[4*i:4*i+3], want[4*i:4*i+3])
			}
			n++
		}
	}
	return n, first
}

// meanDiff is the mean channel difference between fb and want, outside
// the box around the pointer.
func meanDiff(fb *Framebuffer, w, h int, want []byte) float64 {
	fb.Lock()
	defer fb.Unlock()
	if fb.W != w || fb.H != h {
		return 255
	}
	sum, n := 0, 0
	for i := 0; i < w*h; i++ {
		if x, y := i%w, i/w; x >= pointerAt-32 && x < pointerAt+32 && y >= pointerAt-32 && y < pointerAt+32 {
			continue
		}
		for k := 0; k < 3; k++ {
			d := int(fb.Pix[4*i+k]) - int(want[4*i+k])
			if d < 0 {
				d = -d
			}
			sum += d
		}
		n += 3
	}
	return float64(sum) / float64(n)
}
