package mux

import (
	"errors"
	"fmt"
	"io"
)

// Element is one element header found by the Scanner.
type Element struct {
	ID        uint32
	Offset    int64 // absolute offset of the ID's first byte
	HeaderLen int   // bytes of ID plus size field
	Size      int64 // data size in bytes, or UnknownSize
	Depth     int   // 0 at the top level
}

// DataOffset is the absolute offset of the element's data.
func (e Element) DataOffset() int64 { return e.Offset + int64(e.HeaderLen) }

// End is the absolute offset just past the element, or -1 for unknown size.
func (e Element) End() int64 {
	if e.Size == UnknownSize {
		return -1
	}
	return e.DataOffset() + e.Size
}

func (e Element) String() string {
	if e.Size == UnknownSize {
		return fmt.Sprintf("%s@%d(size unknown)", IDName(e.ID), e.Offset)
	}
	return fmt.Sprintf("%s@%d(size %d)", IDName(e.ID), e.Offset, e.Size)
}

type open struct {
	el  Element
	end int64 // -1 unknown
}

// Scanner walks EBML element headers in document order. It never trusts a
// size: an element that overruns its parent is reported as corrupt, the end of
// input inside a known-size element as truncated, both with the offset.
//
// After Next returns an element the caller may Enter it (descend into a
// master element), Read or ReadData its payload, or do nothing: the next call
// to Next skips whatever is left of it, by seeking when the source is an
// io.Seeker and no hash observer is attached. Unknown-size elements cannot be
// skipped and are entered automatically.
//
// Memory is constant: one read buffer and the stack of open elements.
type Scanner struct {
	in    *input
	stack []open
	cur   Element
	has   bool  // cur is valid and not yet finished
	done  int64 // bytes of cur's data consumed by Read
	err   error // sticky
}

// ScanOptions configure a Scanner.
type ScanOptions struct {
	// Tee, if set, receives every byte of the input in order (e.g. a SHA-256
	// hash for verify). It turns skipping by seek into skipping by reading.
	Tee io.Writer
}

// NewScanner returns a Scanner reading r from its current position; offsets
// are relative to that position. The caller closes r.
func NewScanner(r io.Reader, opts ScanOptions) *Scanner {
	return &Scanner{in: newInput(r, opts.Tee)}
}

// Size returns the input size when the input is seekable, else -1.
func (s *Scanner) Size() int64 { return s.in.size }

// Offset returns the current absolute read offset.
func (s *Scanner) Offset() int64 { return s.in.off }

// Err returns the sticky error, if any.
func (s *Scanner) Err() error { return s.err }

// Parent returns the innermost open element, if any.
func (s *Scanner) Parent() (Element, bool) {
	if len(s.stack) == 0 {
		return Element{}, false
	}
	return s.stack[len(s.stack)-1].el, true
}

// Open returns the currently open elements, outermost first. The slice is
// only valid until the next call to Next.
func (s *Scanner) Open() []Element {
	out := make([]Element, len(s.stack))
	for i, o := range s.stack {
		out[i] = o.el
	}
	return out
}

func (s *Scanner) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

// finish skips what is left of the current element.
func (s *Scanner) finish() error {
	if !s.has {
		return nil
	}
	s.has = false
	if s.cur.Size == UnknownSize {
		s.push(s.cur)
		return nil
	}
	rest := s.cur.Size - s.done
	if rest <= 0 {
		return nil
	}
	n, err := s.in.discard(rest)
	if n < rest {
		if e := s.in.ioErr(); e != nil {
			return s.fail(e)
		}
		_ = err
		return s.fail(formatErr(ErrTruncated, s.in.off, "input ends inside %s at byte %d (%d of %d bytes missing)",
			IDName(s.cur.ID), s.cur.Offset, rest-n, s.cur.Size))
	}
	return nil
}

func (s *Scanner) push(e Element) {
	end := int64(-1)
	if e.Size != UnknownSize {
		end = e.DataOffset() + e.Size
	}
	s.stack = append(s.stack, open{el: e, end: end})
}

// Enter descends into the element last returned by Next: its children come
// next.
func (s *Scanner) Enter() error {
	if s.err != nil {
		return s.err
	}
	if !s.has || s.done != 0 {
		return errors.New("mux: Enter without a fresh element")
	}
	s.has = false
	s.push(s.cur)
	return nil
}

// Read reads from the current element's data; io.EOF at its end.
func (s *Scanner) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if !s.has || s.cur.Size == UnknownSize {
		return 0, io.EOF
	}
	rest := s.cur.Size - s.done
	if rest <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := s.in.read(p)
	s.done += int64(n)
	if err != nil {
		if e := s.in.ioErr(); e != nil {
			return n, s.fail(e)
		}
		return n, s.fail(formatErr(ErrTruncated, s.in.off, "input ends inside %s at byte %d",
			IDName(s.cur.ID), s.cur.Offset))
	}
	return n, nil
}

// ReadData reads the whole data of the current element into buf (grown as
// needed) if its size is at most max; else it fails with ErrTooLarge.
func (s *Scanner) ReadData(buf []byte, max int64) ([]byte, error) {
	if !s.has || s.cur.Size == UnknownSize {
		return nil, s.fail(formatErr(ErrCorrupt, s.cur.Offset, "%s has unknown size", IDName(s.cur.ID)))
	}
	if s.cur.Size > max {
		return nil, formatErr(ErrTooLarge, s.cur.Offset, "%s of %d bytes exceeds the %d-byte cap",
			IDName(s.cur.ID), s.cur.Size, max)
	}
	n := int(s.cur.Size - s.done)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(s, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// Peek returns up to n bytes of the current element's data without consuming
// them (n is capped at 4096).
func (s *Scanner) Peek(n int) []byte {
	if !s.has || s.err != nil {
		return nil
	}
	if s.cur.Size != UnknownSize && int64(n) > s.cur.Size-s.done {
		n = int(s.cur.Size - s.done)
	}
	if n > 4096 {
		n = 4096
	}
	return s.in.peek(n)
}

// Next returns the next element header in document order. It returns io.EOF
// at a clean end of input, or a *FormatError (wrapping ErrTruncated or
// ErrCorrupt) with the offset of the problem. Errors are sticky.
func (s *Scanner) Next() (Element, error) {
	if s.err != nil {
		return Element{}, s.err
	}
	if err := s.finish(); err != nil {
		return Element{}, err
	}
	pos := s.in.off
	// Close the elements that end here: a known-size element at its end,
	// and with it every unknown-size element inside it (RFC 8794 section
	// 6.2: an unknown-size element also ends with its known-size parent).
	for i := len(s.stack) - 1; i >= 0; i-- {
		if e := s.stack[i].end; e >= 0 && pos >= e {
			s.stack = s.stack[:i]
		}
	}
	if s.in.atEOF() {
		if e := s.in.ioErr(); e != nil {
			return Element{}, s.fail(e)
		}
		for i := len(s.stack) - 1; i >= 0; i-- {
			if o := s.stack[i]; o.end > pos {
				return Element{}, s.fail(formatErr(ErrTruncated, pos,
					"input ends inside %s at byte %d (%d bytes missing)", IDName(o.el.ID), o.el.Offset, o.end-pos))
			}
		}
		s.stack = s.stack[:0]
		return Element{}, s.fail(io.EOF)
	}
	hdr := s.in.peek(12)
	if hdr[0] == 0 || vintLen(hdr[0]) > 4 {
		return Element{}, s.fail(s.garbage(pos, "invalid element ID byte 0x%02X", hdr[0]))
	}
	id, idLen, err := parseID(hdr)
	if err != nil {
		return Element{}, s.fail(formatErr(ErrTruncated, pos, "input ends inside an element header"))
	}
	if len(hdr) <= idLen {
		return Element{}, s.fail(formatErr(ErrTruncated, pos, "input ends inside the header of %s", IDName(id)))
	}
	size, sizeLen, err := parseSize(hdr[idLen:])
	if errors.Is(err, errShort) {
		return Element{}, s.fail(formatErr(ErrTruncated, pos, "input ends inside the header of %s", IDName(id)))
	}
	if err != nil {
		return Element{}, s.fail(s.garbage(pos, "invalid size field of %s", IDName(id)))
	}
	// Unknown-size parents end where an element that cannot be their child
	// starts.
	for len(s.stack) > 0 {
		top := s.stack[len(s.stack)-1]
		if top.end < 0 && !validChild(top.el.ID, id) {
			s.stack = s.stack[:len(s.stack)-1]
			continue
		}
		break
	}
	el := Element{ID: id, Offset: pos, HeaderLen: idLen + sizeLen, Size: size, Depth: len(s.stack)}
	if size == UnknownSize && !unknownSizeAllowed(id) {
		return Element{}, s.fail(formatErr(ErrCorrupt, pos, "%s has an unknown size", IDName(id)))
	}
	if len(s.stack) == 0 && id != IDEBML && id != IDSegment && id != IDVoid {
		return Element{}, s.fail(s.garbage(pos, "unexpected %s at the top level", IDName(id)))
	}
	// A known size must fit in the nearest ancestor of known size.
	if size != UnknownSize {
		for i := len(s.stack) - 1; i >= 0; i-- {
			if a := s.stack[i]; a.end >= 0 {
				if el.End() > a.end {
					return Element{}, s.fail(formatErr(ErrCorrupt, pos, "%s of %d bytes overruns its parent %s (ends at byte %d)",
						IDName(id), size, IDName(a.el.ID), a.end))
				}
				break
			}
		}
	}
	s.in.advance(el.HeaderLen)
	s.cur, s.has, s.done = el, true, 0
	return el, nil
}

// garbage builds the error for bytes that are not an element header, saying
// whether they are zeros.
func (s *Scanner) garbage(pos int64, format string, args ...any) error {
	b := s.in.peek(16)
	zeros := len(b) > 0
	for _, c := range b {
		if c != 0 {
			zeros = false
		}
	}
	msg := fmt.Sprintf(format, args...)
	if zeros {
		msg = "zeroed bytes where an element should start"
	}
	if p, ok := s.Parent(); ok {
		msg += " (inside " + IDName(p.ID) + ")"
	}
	return formatErr(ErrCorrupt, pos, "%s", msg)
}
