package mux

import "fmt"

// VP8Header is what the first bytes of a VP8 frame say (RFC 6386 section 9.1):
// the 3-byte frame tag, and on key frames the start code and dimensions.
type VP8Header struct {
	Key           bool   // key frame (frame tag bit 0 is 0)
	Version       int    // 0..3 (profile)
	Show          bool   // show_frame
	FirstPartSize uint32 // size of the first partition in bytes
	// Key frames only:
	Width, Height  int // 14-bit dimensions
	HScale, VScale int // 2-bit scaling codes
}

// VP8HeaderLen is how many bytes ParseVP8Header needs for a key frame.
const VP8HeaderLen = 10

// ParseVP8Header parses the frame tag and, for key frames, the start code and
// dimensions from the first bytes of a frame. frameSize is the whole frame's
// size, used to check that the first partition fits inside it.
func ParseVP8Header(b []byte, frameSize int64) (VP8Header, error) {
	var h VP8Header
	if len(b) < 3 {
		return h, fmt.Errorf("vp8: frame of %d bytes is shorter than the 3-byte frame tag", len(b))
	}
	tag := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	h.Key = tag&1 == 0
	h.Version = int(tag>>1) & 7
	h.Show = tag>>4&1 == 1
	h.FirstPartSize = tag >> 5
	if h.Version > 3 {
		return h, fmt.Errorf("vp8: unknown version %d", h.Version)
	}
	hdr := int64(3)
	if h.Key {
		hdr = VP8HeaderLen
		if len(b) < VP8HeaderLen {
			return h, fmt.Errorf("vp8: key frame of %d bytes is shorter than its %d-byte header", len(b), VP8HeaderLen)
		}
		if b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
			return h, fmt.Errorf("vp8: key frame without the start code (got %02x %02x %02x)", b[3], b[4], b[5])
		}
		w := int(b[6]) | int(b[7])<<8
		v := int(b[8]) | int(b[9])<<8
		h.Width, h.HScale = w&0x3fff, w>>14
		h.Height, h.VScale = v&0x3fff, v>>14
		if h.Width == 0 || h.Height == 0 {
			return h, fmt.Errorf("vp8: key frame with a zero dimension %dx%d", h.Width, h.Height)
		}
	}
	if frameSize >= 0 && hdr+int64(h.FirstPartSize) > frameSize {
		return h, fmt.Errorf("vp8: first partition of %d bytes overruns the %d-byte frame", h.FirstPartSize, frameSize)
	}
	return h, nil
}
