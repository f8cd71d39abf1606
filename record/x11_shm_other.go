//go:build !linux

package record

// sysvShm is unavailable off Linux: the X11 source always uses GetImage.
type sysvShm struct {
	id  int
	mem []byte
}

func newSysvShm(size int) (*sysvShm, error) { return nil, ErrUnsupported }

func (s *sysvShm) markRemoved() {}

func (s *sysvShm) detach() {}

const sysvShmSupported = false
