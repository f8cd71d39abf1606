package mux

import (
	"errors"
	"io"
)

// input is a positional, buffered reader over an io.Reader. It tracks the
// absolute offset, peeks small headers, and skips payloads by seeking when the
// source can seek (and nobody observes every byte), else by reading.
type input struct {
	r      io.Reader
	seeker io.Seeker // nil when skipping must read
	size   int64     // total size when known (seekable), else -1
	tee    io.Writer // observer of every byte, in order (hashing); may be nil

	buf        []byte
	start, end int   // buf[start:end] is buffered, at absolute offset off
	off        int64 // absolute offset of buf[start]
	err        error // sticky read error (io.EOF at the end)
	small      bool  // next fill reads a small chunk (just after a seek)
}

const (
	bigFill   = 256 << 10
	smallFill = 1 << 10  // the first read after a seek: the next headers
	seekMin   = 16 << 10 // skips up to this size read through the buffer
)

func newInput(r io.Reader, tee io.Writer) *input {
	in := &input{r: r, size: -1, tee: tee, buf: make([]byte, bigFill)}
	if s, ok := r.(io.Seeker); ok && tee == nil {
		cur, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			if end, err := s.Seek(0, io.SeekEnd); err == nil {
				if _, err := s.Seek(cur, io.SeekStart); err == nil {
					in.seeker = s
					in.size = end - cur
				}
			}
		}
	}
	return in
}

// fill reads more bytes into the buffer, compacting it first. It returns the
// number of buffered bytes.
func (in *input) fill() int {
	if in.err != nil {
		return in.end - in.start
	}
	if in.start > 0 {
		n := copy(in.buf, in.buf[in.start:in.end])
		in.start, in.end = 0, n
	}
	limit := len(in.buf)
	if in.small && limit-in.end > smallFill {
		limit = in.end + smallFill
	}
	in.small = false
	for in.end < limit {
		n, err := in.r.Read(in.buf[in.end:limit])
		if n > 0 && in.tee != nil {
			in.tee.Write(in.buf[in.end : in.end+n])
		}
		in.end += n
		if err != nil {
			in.err = err
			break
		}
		if n > 0 {
			break
		}
	}
	return in.end - in.start
}

// peek returns up to n buffered bytes (n <= len(buf)); fewer only at EOF or
// on a read error.
func (in *input) peek(n int) []byte {
	for in.end-in.start < n {
		before := in.end - in.start
		if in.fill() == before && in.err != nil {
			break
		}
	}
	m := in.end - in.start
	if m > n {
		m = n
	}
	return in.buf[in.start : in.start+m]
}

// advance consumes n buffered bytes (n <= buffered).
func (in *input) advance(n int) {
	in.start += n
	in.off += int64(n)
}

// read fills p completely or returns an error (io.ErrUnexpectedEOF or io.EOF
// when nothing was read).
func (in *input) read(p []byte) (int, error) {
	got := 0
	for got < len(p) {
		if in.start == in.end {
			// Large reads bypass the buffer.
			if len(p)-got >= len(in.buf)/2 && in.err == nil {
				n, err := in.r.Read(p[got:])
				if n > 0 && in.tee != nil {
					in.tee.Write(p[got : got+n])
				}
				got += n
				in.off += int64(n)
				if err != nil {
					in.err = err
				}
				if err != nil && got < len(p) {
					return got, in.eofErr(got)
				}
				continue
			}
			if in.fill() == 0 {
				return got, in.eofErr(got)
			}
		}
		n := copy(p[got:], in.buf[in.start:in.end])
		in.advance(n)
		got += n
	}
	return got, nil
}

func (in *input) eofErr(got int) error {
	if in.err == nil || in.err == io.EOF {
		if got == 0 {
			return io.EOF
		}
		return io.ErrUnexpectedEOF
	}
	return in.err
}

// discard skips n bytes. It returns the number skipped, fewer than n only at
// the end of input (err io.ErrUnexpectedEOF) or on a read error.
func (in *input) discard(n int64) (int64, error) {
	var done int64
	if b := int64(in.end - in.start); b > 0 {
		k := min(b, n)
		in.advance(int(k))
		done = k
	}
	if done == n {
		return done, nil
	}
	// A short skip is cheaper read through than sought over (a seek costs
	// a read call on the next header).
	if in.seeker != nil && in.err == nil && n-done > seekMin {
		rest := n - done
		if in.size >= 0 && in.off+rest > in.size {
			rest = in.size - in.off
		}
		if _, err := in.seeker.Seek(rest, io.SeekCurrent); err != nil {
			in.err = err
			return done, err
		}
		in.off += rest
		done += rest
		in.small = true
		if done < n {
			return done, io.ErrUnexpectedEOF
		}
		return done, nil
	}
	for done < n {
		if in.fill() == 0 {
			return done, in.eofErr(1)
		}
		k := min(int64(in.end-in.start), n-done)
		in.advance(int(k))
		done += k
	}
	return done, nil
}

// atEOF reports whether no byte is left.
func (in *input) atEOF() bool {
	if in.end > in.start {
		return false
	}
	if in.size >= 0 && in.off >= in.size {
		return true
	}
	return in.fill() == 0
}

// ioErr reports a real read error (not EOF), if any.
func (in *input) ioErr() error {
	if in.err != nil && !errors.Is(in.err, io.EOF) {
		return in.err
	}
	return nil
}
