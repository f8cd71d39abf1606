package record

import (
	"context"
	"image"
	"testing"

	"github.com/reckit/reckit/record/rfb"
)

// TestFBSourceCursor: the cursor is drawn into the frame (not the
// framebuffer) at the pointer, its old place is repainted when it moves,
// and both places are hinted.
func TestFBSourceCursor(t *testing.T) {
	fb, err := rfb.NewFramebuffer(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(fb.Pix); i += 4 {
		fb.Pix[i], fb.Pix[i+1], fb.Pix[i+2] = 255, 255, 255 // white screen
	}
	// A 4x4 black cursor with its hot spot at (1,1), the top-left pixel
	// transparent.
	rgba := make([]byte, 4*16)
	for i := 1; i < 16; i++ {
		rgba[4*i+3] = 255
	}
	fb.Cursor = rfb.Cursor{W: 4, H: 4, HotX: 1, HotY: 1, RGBA: rgba, X: 11, Y: 21}
	fb.Updates = 1
	stop := make(chan struct{})
	run := func() error { <-stop; return nil }
	tests := []struct {
		name        string
		hide        bool
		wantY       uint8 // luma at the cursor's opaque pixel (11,21)
		wantCorner  uint8 // luma at the transparent corner (10,20)
		wantHintsAt image.Point
	}{
		{"drawn", false, 16, 235, image.Pt(11, 21)},
		{"hidden", true, 235, 235, image.Point{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stop = make(chan struct{})
			src, err := newFBSource("test", fb, 30, !tc.hide, run, func() { close(stop) })
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			ctx := context.Background()
			f, err := src.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Img.Y[f.Img.YOffset(11, 21)]; got != tc.wantY {
				t.Errorf("luma at the cursor = %d, want %d", got, tc.wantY)
			}
			if got := f.Img.Y[f.Img.YOffset(10, 20)]; got != tc.wantCorner {
				t.Errorf("luma at the transparent corner = %d, want %d", got, tc.wantCorner)
			}
			if fb.Pix[4*(21*64+11)] != 255 {
				t.Errorf("the cursor was drawn into the framebuffer")
			}
			// Move the pointer: the old place is white again, the new one
			// black, and the hints cover both.
			fb.SetPointer(41, 31)
			f, err = src.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Img.Y[f.Img.YOffset(11, 21)]; got != 235 {
				t.Errorf("luma at the old cursor place = %d, want 235", got)
			}
			want := uint8(235)
			if !tc.hide {
				want = 16
			}
			if got := f.Img.Y[f.Img.YOffset(41, 31)]; got != want {
				t.Errorf("luma at the new cursor place = %d, want %d", got, want)
			}
			covered := func(p image.Point) bool {
				for _, h := range f.Hints {
					if p.In(h) {
						return true
					}
				}
				return false
			}
			if !tc.hide && (!covered(image.Pt(11, 21)) || !covered(image.Pt(41, 31))) {
				t.Errorf("hints %v do not cover the old (11,21) and new (41,31) cursor places", f.Hints)
			}
			if tc.hide && len(f.Hints) != 0 {
				t.Errorf("hints %v, want none (cursor hidden, nothing changed)", f.Hints)
			}
			fb.SetPointer(11, 21)
		})
	}
}
