package rfb

import (
	"fmt"
	"image"
	"sync"
	"sync/atomic"
)

// maxDamage is how many damaged rectangles a Framebuffer keeps before it
// merges them into their bounding box.
const maxDamage = 64

// Framebuffer is the decoded remote screen: W x H pixels of 4 bytes each
// (R, G, B, 255), row after row with a stride of 4*W, plus the rectangles
// changed since the last TakeDamage and the remote cursor.
//
// The Decoder writing into it holds its lock while it decodes one
// FramebufferUpdate; readers hold the lock (Lock/Unlock) while they read
// Pix, Damage or Cursor.
type Framebuffer struct {
	sync.Mutex
	W, H int
	Pix  []byte
	// Damage lists the rectangles changed since TakeDamage; Resized says
	// the size changed (so everything did).
	Damage  []image.Rectangle
	Resized bool
	// Updates counts the FramebufferUpdate messages applied.
	Updates int
	// Cursor is the shape and position the server reported
	// (pseudo-encodings Cursor and PointerPos), or the position the
	// viewer's PointerEvents set in a proxy.
	Cursor Cursor
	// CursorGen changes whenever the cursor's shape or position does.
	CursorGen int
	// MaxPixels, if positive, lowers the area limit for desktop resizes
	// below the package's MaxPixels.
	MaxPixels int

	// The pointer position set by SetPointer without the lock, applied to
	// Cursor by SyncPointer.
	ptr     atomic.Uint64 // x<<32 | y
	ptrGen  atomic.Uint64
	ptrSeen uint64
}

// Cursor is a cursor shape: W x H RGBA pixels (alpha 0 or 255), its hot
// spot, and the pointer position. An empty shape means no cursor.
type Cursor struct {
	W, H       int
	HotX, HotY int
	RGBA       []byte
	X, Y       int
}

// NewFramebuffer returns a black framebuffer of w x h pixels, checked
// against MaxWidth, MaxHeight and MaxPixels.
func NewFramebuffer(w, h int) (*Framebuffer, error) {
	fb := &Framebuffer{}
	if err := fb.resize(w, h); err != nil {
		return nil, err
	}
	return fb, nil
}

func checkFBSize(w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: framebuffer %dx%d", ErrProtocol, w, h)
	}
	if w > MaxWidth || h > MaxHeight || w*h > MaxPixels {
		return fmt.Errorf("%w: framebuffer %dx%d exceeds %dx%d or %d pixels", ErrTooLarge, w, h, MaxWidth, MaxHeight, MaxPixels)
	}
	return nil
}

// resize changes the size; the picture starts black. The caller
// holds the lock (or owns fb exclusively).
func (fb *Framebuffer) resize(w, h int) error {
	if err := checkFBSize(w, h); err != nil {
		return err
	}
	if fb.MaxPixels > 0 && w*h > fb.MaxPixels {
		return fmt.Errorf("%w: framebuffer %dx%d exceeds %d pixels", ErrTooLarge, w, h, fb.MaxPixels)
	}
	if w == fb.W && h == fb.H {
		return nil
	}
	// The new picture starts black; the server sends it whole after a
	// resize.
	pix := make([]byte, 4*w*h)
	for i := 3; i < len(pix); i += 4 {
		pix[i] = 255
	}
	fb.W, fb.H, fb.Pix = w, h, pix
	fb.Resized = true
	fb.Damage = fb.Damage[:0]
	return nil
}

// Bounds returns the framebuffer rectangle. The caller holds the lock.
func (fb *Framebuffer) Bounds() image.Rectangle { return image.Rect(0, 0, fb.W, fb.H) }

// contains reports whether r lies inside the framebuffer, corners
// included even when r is empty (image.Rectangle.In accepts any empty
// rectangle).
func (fb *Framebuffer) contains(r image.Rectangle) bool {
	return r.Min.X >= 0 && r.Min.Y >= 0 && r.Min.X <= r.Max.X && r.Min.Y <= r.Max.Y && r.Max.X <= fb.W && r.Max.Y <= fb.H
}

// addDamage records a changed rectangle.
func (fb *Framebuffer) addDamage(r image.Rectangle) {
	if r.Empty() || fb.Resized {
		return
	}
	for i, d := range fb.Damage {
		if r.In(d) {
			return
		}
		if d.In(r) {
			fb.Damage[i] = r
			return
		}
	}
	if len(fb.Damage) >= maxDamage {
		u := r
		for _, d := range fb.Damage {
			u = u.Union(d)
		}
		fb.Damage = append(fb.Damage[:0], u)
		return
	}
	fb.Damage = append(fb.Damage, r)
}

// TakeDamage returns the rectangles changed since the last call, or nil
// when the framebuffer was resized (everything changed), and clears them.
// The returned slice is valid until the next decoded update. The caller
// holds the lock.
func (fb *Framebuffer) TakeDamage() []image.Rectangle {
	if fb.Resized {
		fb.Resized = false
		fb.Damage = fb.Damage[:0]
		return nil
	}
	d := append([]image.Rectangle{}, fb.Damage...)
	fb.Damage = fb.Damage[:0]
	return d
}

// SetPointer moves the cursor (a proxy's viewer moved the pointer). It
// does not take the lock, so relaying input never waits for a decode;
// SyncPointer applies the move.
func (fb *Framebuffer) SetPointer(x, y int) {
	fb.ptr.Store(uint64(uint32(x))<<32 | uint64(uint32(y)))
	fb.ptrGen.Add(1)
}

// SyncPointer applies the latest SetPointer to Cursor (bumping CursorGen
// when it moved). The caller holds the lock.
func (fb *Framebuffer) SyncPointer() {
	g := fb.ptrGen.Load()
	if g == fb.ptrSeen {
		return
	}
	fb.ptrSeen = g
	v := fb.ptr.Load()
	x, y := int(int32(uint32(v>>32))), int(int32(uint32(v)))
	if fb.Cursor.X != x || fb.Cursor.Y != y {
		fb.Cursor.X, fb.Cursor.Y = x, y
		fb.CursorGen++
	}
}

// fill paints r (inside the framebuffer) with one colour.
func (fb *Framebuffer) fill(r image.Rectangle, c [4]byte) {
	if r.Empty() {
		return
	}
	stride := 4 * fb.W
	row := fb.Pix[r.Min.Y*stride+4*r.Min.X : r.Min.Y*stride+4*r.Max.X]
	for i := 0; i < len(row); i += 4 {
		copy(row[i:i+4], c[:])
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(fb.Pix[y*stride+4*r.Min.X:], row)
	}
}

// copyRect copies the rectangle of size dst.Size() at src to dst, both
// inside the framebuffer, overlapping or not.
func (fb *Framebuffer) copyRect(dst image.Rectangle, src image.Point) {
	stride := 4 * fb.W
	w := 4 * dst.Dx()
	if src.Y >= dst.Min.Y {
		for y := 0; y < dst.Dy(); y++ {
			copy(fb.Pix[(dst.Min.Y+y)*stride+4*dst.Min.X:][:w], fb.Pix[(src.Y+y)*stride+4*src.X:][:w])
		}
		return
	}
	for y := dst.Dy() - 1; y >= 0; y-- {
		copy(fb.Pix[(dst.Min.Y+y)*stride+4*dst.Min.X:][:w], fb.Pix[(src.Y+y)*stride+4*src.X:][:w])
	}
}
