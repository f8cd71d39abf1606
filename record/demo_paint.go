package record

import (
	"image"
)

// Painting of the demo desktop. paint(r) redraws the whole scene clipped
// to r from the scene state, so any region can be refreshed on its own.

// paint redraws the rectangle r of the framebuffer.
func (d *demoSource) paint(r image.Rectangle) {
	r = r.Intersect(d.bounds)
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := y*d.stride + 4*r.Min.X
		copy(d.fb[o:o+4*r.Dx()], d.bg[o:])
	}
	if tb := d.taskbar().Intersect(r); !tb.Empty() {
		d.paintTaskbar(tb)
	}
	front := d.front()
	for _, w := range d.wins {
		if clip := r.Intersect(w.r).Intersect(d.desk); !clip.Empty() {
			d.paintWindow(w, clip, w == front)
		}
	}
	if clip := d.pointerRect().Intersect(r); !clip.Empty() {
		for y := clip.Min.Y; y < clip.Max.Y; y++ {
			row := &pointerMask[y-d.ptr.Y]
			for x := clip.Min.X; x < clip.Max.X; x++ {
				switch row[x-d.ptr.X] {
				case 'o':
					d.set(x, y, colBlack)
				case 'f':
					d.set(x, y, colWhite)
				}
			}
		}
	}
}

func (d *demoSource) set(x, y int, c demoColor) {
	o := y*d.stride + 4*x
	d.fb[o], d.fb[o+1], d.fb[o+2] = c.r, c.g, c.b
}

// fill paints r ∩ clip with c.
func (d *demoSource) fill(r, clip image.Rectangle, c demoColor) {
	r = r.Intersect(clip).Intersect(d.bounds)
	if r.Empty() {
		return
	}
	o := r.Min.Y*d.stride + 4*r.Min.X
	row := d.fb[o : o+4*r.Dx()]
	for i := 0; i < len(row); i += 4 {
		row[i], row[i+1], row[i+2], row[i+3] = c.r, c.g, c.b, 255
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(d.fb[y*d.stride+4*r.Min.X:], row)
	}
}

// glyph draws the ink of character ch with its cell at (x, y).
func (d *demoSource) glyph(x, y int, ch byte, c demoColor, clip image.Rectangle) {
	cell := image.Rect(x, y, x+glyphW, y+glyphH).Intersect(clip)
	g := &glyphs[ch&127]
	for yy := cell.Min.Y; yy < cell.Max.Y; yy++ {
		bits := g[yy-y]
		if bits == 0 {
			continue
		}
		for xx := cell.Min.X; xx < cell.Max.X; xx++ {
			if bits&(0x80>>uint(xx-x)) != 0 {
				d.set(xx, yy, c)
			}
		}
	}
}

// text draws s from (x, y), one glyph cell per byte.
func (d *demoSource) text(x, y int, s string, c demoColor, clip image.Rectangle) {
	if y >= clip.Max.Y || y+glyphH <= clip.Min.Y {
		return
	}
	for i := 0; i < len(s); i++ {
		cx := x + i*glyphW
		if cx >= clip.Max.X {
			return
		}
		if cx+glyphW > clip.Min.X && s[i] != ' ' {
			d.glyph(cx, y, s[i], c, clip)
		}
	}
}

func (d *demoSource) paintTaskbar(clip image.Rectangle) {
	tb := d.taskbar()
	d.fill(tb, clip, colTaskbar)
	d.fill(image.Rect(6, tb.Min.Y+4, 30, tb.Max.Y-4), clip, demoColor{70, 130, 200})
	front := d.front()
	for i, w := range d.order {
		b := image.Rect(40+i*140, tb.Min.Y+3, 40+i*140+134, tb.Max.Y-3)
		c := colButton
		if w == front {
			c = colButtonActive
		}
		d.fill(b, clip, c)
		label := w.title
		if len(label) > 15 {
			label = label[:15]
		}
		d.text(b.Min.X+6, b.Min.Y+(b.Dy()-glyphH)/2, label, colTitleText, clip.Intersect(b))
	}
	if d.scenario == ScenarioTour {
		cr := d.clockRect()
		t := (9*3600 + int64(d.seed%3600) + d.clockSec) % 86400
		var s [8]byte
		for i, v := range [3]int64{t / 3600, t / 60 % 60, t % 60} {
			s[3*i], s[3*i+1] = byte('0'+v/10), byte('0'+v%10)
			if i < 2 {
				s[3*i+2] = ':'
			}
		}
		d.text(cr.Min.X, cr.Min.Y+(cr.Dy()-glyphH)/2, string(s[:]), colTitleText, clip.Intersect(cr))
	}
}

func (d *demoSource) paintWindow(w *demoWindow, clip image.Rectangle, active bool) {
	d.fill(w.r, clip, colBorder)
	tb := image.Rect(w.r.Min.X+1, w.r.Min.Y+1, w.r.Max.X-1, w.r.Min.Y+titleH)
	tc := colTitleInactive
	if active {
		tc = colTitleActive
	}
	d.fill(tb, clip, tc)
	for i, c := range [3]demoColor{{230, 80, 70}, {235, 190, 60}, {90, 190, 90}} {
		x := tb.Max.X - 16*(3-i) - 2
		d.fill(image.Rect(x, tb.Min.Y+4, x+11, tb.Min.Y+15), clip, c)
	}
	d.text(tb.Min.X+8, tb.Min.Y+1, w.title, colTitleText, clip.Intersect(image.Rect(tb.Min.X, tb.Min.Y, tb.Max.X-52, tb.Max.Y)))
	cc := w.content().Intersect(clip)
	if cc.Empty() {
		return
	}
	switch w.kind {
	case kindTerminal:
		d.term.paint(d, cc)
	case kindBrowser:
		d.paintPage(w, cc)
	case kindFiles:
		d.paintFiles(w, cc)
	}
}

// paintPage draws the browser's page scrolled by d.scroll pixels: a
// repeating pattern of headings, paragraphs, picture blocks and lists whose
// text is a function of the seed and the line number.
func (d *demoSource) paintPage(w *demoWindow, clip image.Rectangle) {
	c := w.content()
	d.fill(c, clip, colPageBG)
	maxChars := (c.Dx() - 32) / glyphW
	if maxChars <= 0 {
		return
	}
	var buf [512]byte
	cached := -1
	var kind int
	var line []byte
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		py := d.scroll + y - c.Min.Y
		li, ry := py/lineH, py%lineH
		if li != cached {
			kind, line = d.pageLine(buf[:0], li, min(maxChars, len(buf)))
			cached = li
		}
		row := image.Rect(clip.Min.X, y, clip.Max.X, y+1)
		switch kind {
		case pagePicture:
			h := demoMix(d.seed ^ uint64(li/6)*0x2545f4914f6cdd1d)
			base := demoColor{uint8(h), uint8(h >> 8), uint8(h >> 16)}
			shade := uint8((li%6*lineH + ry) / 2)
			pic := image.Rect(c.Min.X+16, y, c.Min.X+16+min(360, c.Dx()-32), y+1)
			d.fill(pic, row, demoColor{base.r/2 + shade, base.g/2 + shade, base.b/2 + shade})
		case pageText, pageHeading, pageList:
			gy := ry - 2
			if gy < 0 || gy >= glyphH {
				continue
			}
			col := colPageFG
			x0 := c.Min.X + 16
			if kind == pageHeading {
				col = colHeading
			} else if kind == pageList {
				x0 += 16
			}
			for i, ch := range line {
				x := x0 + i*glyphW
				if x >= clip.Max.X {
					break
				}
				if x+glyphW <= clip.Min.X || ch == ' ' {
					continue
				}
				bits := glyphs[ch&127][gy]
				for xx := max(x, clip.Min.X); xx < min(x+glyphW, clip.Max.X); xx++ {
					if bits&(0x80>>uint(xx-x)) != 0 {
						d.set(xx, y, col)
					}
				}
			}
		}
	}
}

const (
	pageBlank = iota
	pageText
	pageHeading
	pagePicture
	pageList
)

// pageLine returns the kind and text of line li of the page (li >= 0).
func (d *demoSource) pageLine(b []byte, li, maxChars int) (int, []byte) {
	if li < 0 {
		return pageBlank, b
	}
	section, s := li/24, li%24
	h := demoMix(d.seed + uint64(li)*0x9e3779b97f4a7c15)
	var kind, n int
	switch {
	case s == 0:
		kind, n = pageHeading, maxChars/3
	case s == 1 || s == 10 || s == 17 || s == 23:
		return pageBlank, b
	case s >= 11 && s <= 16 && section%2 == 1:
		return pagePicture, b
	case s >= 18:
		kind, n = pageList, maxChars*2/3
		b = append(b, '-', ' ')
	default:
		kind, n = pageText, maxChars
		if s == 9 || s == 16 {
			n = maxChars / 2
		}
	}
	for len(b) < n {
		h = demoMix(h)
		wl := 2 + int(h%8)
		if len(b)+wl > n {
			break
		}
		b = demoWord(b, h, wl)
		b = append(b, ' ')
	}
	return kind, b
}

// paintFiles draws the file manager: a grid of icons with labels.
func (d *demoSource) paintFiles(w *demoWindow, clip image.Rectangle) {
	c := w.content()
	d.fill(c, clip, colFilesBG)
	const cellW, cellH = 96, 80
	cols := max(1, (c.Dx()-12)/cellW)
	var buf [16]byte
	for row := 0; ; row++ {
		y := c.Min.Y + 12 + row*cellH
		if y >= clip.Max.Y || y >= c.Max.Y {
			break
		}
		if y+cellH <= clip.Min.Y {
			continue
		}
		for col := 0; col < cols; col++ {
			x := c.Min.X + 12 + col*cellW
			if x >= clip.Max.X {
				break
			}
			if x+cellW <= clip.Min.X {
				continue
			}
			h := demoMix(d.seed ^ uint64(row*cols+col+1)*0x632be59bd9b4e019)
			icon := image.Rect(x+28, y+6, x+68, y+38)
			d.fill(icon, clip, demoColor{uint8(120 + h%100), uint8(100 + h>>8%120), uint8(60 + h>>16%160)})
			d.fill(image.Rect(icon.Min.X, icon.Min.Y, icon.Min.X+16, icon.Min.Y+5), clip, demoColor{200, 170, 90})
			label := demoWord(buf[:0], h, 3+int(h>>24%7))
			label = append(label, ".webm"[:min(5, 16-len(label))]...)
			d.text(x+4, y+44, string(label), colPageFG, clip.Intersect(image.Rect(x, y, x+cellW-4, y+cellH)))
		}
	}
}

// terminal is the typing activity: a character grid with a cursor, a
// prompt, commands typed a character or two per frame with pauses, and
// output lines printed one per frame. When the grid is full it is cleared
// (as by Ctrl-L) instead of scrolled, so typing stays a small change.
type demoTerm struct {
	win        *demoWindow
	cols, rows int
	cells      []byte
	cx, cy     int
	rnd        demoRand
	pending    []byte
	typing     bool
	output     int
	wait       int
	scratch    []byte
}

const termPrompt = "ops@bastion:~$ "

func (t *demoTerm) init(w *demoWindow, seed uint64) {
	t.win = w
	c := w.content()
	t.cols, t.rows = max(0, (c.Dx()-8)/glyphW), max(0, (c.Dy()-4)/glyphH)
	t.cells = make([]byte, t.cols*t.rows)
	for i := range t.cells {
		t.cells[i] = ' '
	}
	t.rnd = demoRand{seed ^ 0x7e57}
	t.cx, t.cy = 0, 0
	if t.cols == 0 || t.rows == 0 {
		return
	}
	// some history, then a prompt
	for i := 0; i < t.rows/3; i++ {
		t.writeLine(nil)
	}
	t.puts(nil, termPrompt)
	t.pending = t.command()
	t.typing = true
}

func (t *demoTerm) origin() image.Point {
	c := t.win.content()
	return image.Pt(c.Min.X+4, c.Min.Y+2)
}

func (t *demoTerm) cellRect(col, row int) image.Rectangle {
	o := t.origin()
	return image.Rect(o.X+col*glyphW, o.Y+row*glyphH, o.X+(col+1)*glyphW, o.Y+(row+1)*glyphH)
}

func (t *demoTerm) cursor() (int, int) { return min(t.cx, max(0, t.cols-1)), t.cy }

// step advances typing by one frame; d receives the dirty cells.
func (t *demoTerm) step(d *demoSource) {
	if t.cols == 0 || t.rows == 0 {
		return
	}
	ocx, ocy := t.cursor()
	defer func() {
		if cx, cy := t.cursor(); cx != ocx || cy != ocy {
			d.mark(t.cellRect(ocx, ocy))
			d.mark(t.cellRect(cx, cy))
		}
	}()
	if t.wait > 0 {
		t.wait--
		return
	}
	if t.typing {
		if len(t.pending) == 0 {
			t.newline(d)
			t.typing = false
			t.output = t.rnd.intn(5)
			t.wait = t.rnd.intn(3)
			return
		}
		n := 1
		if t.rnd.intn(6) == 0 {
			n = 2
		}
		for ; n > 0 && len(t.pending) > 0; n-- {
			t.put(d, t.pending[0])
			t.pending = t.pending[1:]
		}
		switch {
		case t.cx > 0 && t.cells[t.cy*t.cols+t.cx-1] == ' ':
			t.wait = t.rnd.intn(4)
		case t.rnd.intn(10) == 0:
			t.wait = t.rnd.intn(8)
		}
		return
	}
	if t.output > 0 {
		t.writeLine(d)
		t.output--
		return
	}
	t.puts(d, termPrompt)
	t.pending = t.command()
	t.typing = true
	t.wait = 3 + t.rnd.intn(15)
}

// command makes the next command line to type.
func (t *demoTerm) command() []byte {
	b := t.scratch[:0]
	limit := max(1, t.cols-len(termPrompt)-1)
	words := 1 + t.rnd.intn(4)
	for i := 0; i < words; i++ {
		h := t.rnd.next()
		var w []byte
		switch {
		case i == 0:
			w = demoWord(nil, h, 2+int(h%4))
		case h%3 == 0:
			w = append([]byte{'-'}, byte('a'+h>>8%26))
		case h%3 == 1:
			w = demoWord([]byte("/var/"), h>>8, 3+int(h>>16%5))
		default:
			w = demoWord(nil, h>>8, 3+int(h>>16%6))
		}
		if len(b)+len(w)+1 > limit {
			break
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	t.scratch = b
	return b
}

// writeLine prints one line of output (d nil: initial history).
func (t *demoTerm) writeLine(d *demoSource) {
	n := 8 + t.rnd.intn(max(1, t.cols-8))
	var b [256]byte
	line := b[:0]
	for len(line) < n && len(line) < len(b)-12 {
		h := t.rnd.next()
		if h%5 == 0 {
			v := h >> 8 % 100000
			line = append(line, byte('0'+v/10000%10), byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
		} else {
			line = demoWord(line, h, 2+int(h>>8%9))
		}
		line = append(line, ' ')
	}
	t.puts(d, string(line[:min(n, len(line))]))
	t.newline(d)
}

func (t *demoTerm) puts(d *demoSource, s string) {
	for i := 0; i < len(s); i++ {
		t.put(d, s[i])
	}
}

func (t *demoTerm) put(d *demoSource, ch byte) {
	if t.cx >= t.cols {
		t.newline(d)
	}
	t.cells[t.cy*t.cols+t.cx] = ch
	if d != nil {
		d.mark(t.cellRect(t.cx, t.cy))
	}
	t.cx++
}

func (t *demoTerm) newline(d *demoSource) {
	t.cx = 0
	t.cy++
	if t.cy < t.rows {
		return
	}
	for i := range t.cells {
		t.cells[i] = ' '
	}
	t.cy = 0
	if d != nil {
		d.mark(t.win.content())
	}
}

func (t *demoTerm) paint(d *demoSource, clip image.Rectangle) {
	d.fill(t.win.content(), clip, colTermBG)
	if t.cols == 0 || t.rows == 0 {
		return
	}
	o := t.origin()
	r0 := max(0, (clip.Min.Y-o.Y)/glyphH)
	r1 := min(t.rows, (clip.Max.Y-o.Y+glyphH-1)/glyphH)
	c0 := max(0, (clip.Min.X-o.X)/glyphW)
	c1 := min(t.cols, (clip.Max.X-o.X+glyphW-1)/glyphW)
	cx, cy := t.cursor()
	for row := r0; row < r1; row++ {
		for col := c0; col < c1; col++ {
			ch := t.cells[row*t.cols+col]
			x, y := o.X+col*glyphW, o.Y+row*glyphH
			if col == cx && row == cy {
				d.fill(image.Rect(x, y, x+glyphW, y+glyphH), clip, colTermFG)
				d.glyph(x, y, ch, colTermBG, clip)
				continue
			}
			if ch != ' ' {
				d.glyph(x, y, ch, colTermFG, clip)
			}
		}
	}
}
