package testmedia

import (
	"io"
	"math/rand"
)

// SynthVP8 returns an n-byte VP8 frame with a valid frame tag (RFC 6386
// section 9.1: show_frame set, first partition half the frame) and, for key
// frames, the start code and the w x h size, followed by bytes from rng:
// structurally a frame, not a decodable picture. Fixtures made with it and
// reckit's own mux writer test the container, never the pictures.
func SynthVP8(rng *rand.Rand, key bool, w, h, n int) []byte {
	if n < 10 {
		n = 10
	}
	b := make([]byte, n)
	rng.Read(b)
	tag := uint32(n/2)<<5 | 1<<4
	if !key {
		tag |= 1
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		b[6], b[7], b[8], b[9] = byte(w), byte(w>>8), byte(h), byte(h>>8)
	}
	return b
}

// SeekBuffer is an in-memory io.WriteSeeker: a seekable output for the mux
// writer in tests. Bytes holds what was written.
type SeekBuffer struct {
	Bytes []byte
	pos   int64
}

// Write writes at the current position, growing the buffer.
func (s *SeekBuffer) Write(p []byte) (int, error) {
	if end := s.pos + int64(len(p)); end > int64(len(s.Bytes)) {
		s.Bytes = append(s.Bytes, make([]byte, end-int64(len(s.Bytes)))...)
	}
	copy(s.Bytes[s.pos:], p)
	s.pos += int64(len(p))
	return len(p), nil
}

// Seek moves the position.
func (s *SeekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		s.pos = off
	case io.SeekCurrent:
		s.pos += off
	case io.SeekEnd:
		s.pos = int64(len(s.Bytes)) + off
	}
	return s.pos, nil
}
