//go:build linux

package record

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// sysvShm is a System V shared memory segment mapped into this process,
// used for MIT-SHM captures: the X server writes GetImage results into it.
type sysvShm struct {
	id  int
	mem []byte
}

// newSysvShm creates and attaches a private segment of size bytes. The
// caller calls markRemoved once the X server has attached it (so the
// segment disappears when both sides detach, even after a crash) and
// detach when done.
func newSysvShm(size int) (*sysvShm, error) {
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return nil, fmt.Errorf("record: x11: shmget %d bytes: %w", size, err)
	}
	mem, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return nil, fmt.Errorf("record: x11: shmat: %w", err)
	}
	return &sysvShm{id: id, mem: mem}, nil
}

// markRemoved schedules the segment's removal after the last detach.
func (s *sysvShm) markRemoved() {
	unix.SysvShmCtl(s.id, unix.IPC_RMID, nil)
}

// detach unmaps the segment and removes it. It is idempotent.
func (s *sysvShm) detach() {
	if s.mem == nil {
		return
	}
	unix.SysvShmDetach(s.mem)
	unix.SysvShmCtl(s.id, unix.IPC_RMID, nil)
	s.mem = nil
}

const sysvShmSupported = true
