package layout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Lock file names (docs/layout.md, "Locks"). Lock files are never deleted
// while their directory lives: deleting a lock file races with a process
// that has just opened it.
const (
	// RecordingLockName is held exclusively by the recorder for the whole
	// life of a recording, in the recording directory.
	RecordingLockName = ".recording.lock"
	// ManifestLockName serializes read-modify-write of manifest.json, in
	// the recording directory.
	ManifestLockName = ".manifest.lock"
	// SidecarLockName serializes read-modify-write of the sidecar
	// manifests of the plain WebM files in one directory.
	SidecarLockName = ".reckit-sidecar.lock"
	// TreeLockName, in the root given to a purge, is held exclusively by
	// the purge for its whole run.
	TreeLockName = ".reckit-purge.lock"
)

// Errors about locks.
var (
	// ErrInProgress reports a recording whose recording lock is held: it
	// is being recorded.
	ErrInProgress = errors.New("layout: recording in progress")
	// ErrTreeLocked reports a tree whose purge lock another process holds.
	ErrTreeLocked = errors.New("layout: tree locked by another purge")
	// ErrLocked reports a recording under legal hold.
	ErrLocked = errors.New("layout: recording is locked (legal hold)")

	errWouldBlock = errors.New("layout: lock held elsewhere")
)

const lockPerm = 0o644

// fileLock is an open lock file holding a flock.
type fileLock struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, lockPerm)
}

func (l *fileLock) release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	uerr := funlock(l.f)
	cerr := l.f.Close()
	l.f = nil
	if uerr != nil {
		return fmt.Errorf("layout: unlock %s: %w", l.path, uerr)
	}
	if cerr != nil {
		return fmt.Errorf("layout: unlock %s: %w", l.path, cerr)
	}
	return nil
}

// tryLockFile opens (creating) path and takes an exclusive flock without
// waiting; errWouldBlock if another open file description holds one.
func tryLockFile(path string) (*fileLock, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	if err := flock(f, true, true); err != nil {
		f.Close()
		return nil, err
	}
	return &fileLock{f: f, path: path}, nil
}

// RecordingLock is the exclusive flock a recorder holds on
// RecordingLockName in its recording directory for the recording's whole
// life. The kernel drops it when the process dies, which is how readers
// tell an interrupted recording from one in progress.
type RecordingLock struct {
	l   fileLock
	dir string
}

// AcquireRecordingLock takes the recording lock of dir without waiting,
// creating the lock file if needed. It fails with ErrInProgress if another
// open file description, in this or another process, holds it.
func AcquireRecordingLock(dir string) (*RecordingLock, error) {
	path := filepath.Join(dir, RecordingLockName)
	fl, err := tryLockFile(path)
	if errors.Is(err, errWouldBlock) {
		return nil, fmt.Errorf("%w: %s", ErrInProgress, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("layout: recording lock: %w", err)
	}
	return &RecordingLock{l: fileLock{f: fl.f, path: path}, dir: dir}, nil
}

// Dir returns the recording directory the lock belongs to.
func (l *RecordingLock) Dir() string { return l.dir }

// Release drops the lock and closes the lock file; the file stays. Release
// is idempotent.
func (l *RecordingLock) Release() error { return l.l.release() }

// RecordingInProgress reports whether someone holds the recording lock of
// dir, by trying a shared flock without waiting and dropping it at once. A
// missing lock file means no recording is in progress. The probe needs only
// read access.
func RecordingInProgress(dir string) (bool, error) {
	path := filepath.Join(dir, RecordingLockName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("layout: probe recording lock: %w", err)
	}
	defer f.Close()
	switch err := flock(f, false, true); {
	case errors.Is(err, errWouldBlock):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("layout: probe recording lock: %w", err)
	}
	if err := funlock(f); err != nil {
		return false, fmt.Errorf("layout: probe recording lock: %w", err)
	}
	return false, nil
}

// TreeLock is the exclusive flock a purge holds on TreeLockName in the root
// it purges, so that two purges of one tree never run at once.
type TreeLock struct {
	l    fileLock
	root string
}

// treeLockPoll is how often AcquireTreeLock retries while it waits.
const treeLockPoll = 100 * time.Millisecond

// AcquireTreeLock takes the purge lock of root. If another process holds
// it, AcquireTreeLock retries every 100 ms for up to wait (zero: a single
// attempt) and then fails with ErrTreeLocked; it returns early with ctx's
// error when ctx ends.
func AcquireTreeLock(ctx context.Context, root string, wait time.Duration) (*TreeLock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("layout: tree lock %s: %w", root, err)
	}
	path := filepath.Join(root, TreeLockName)
	deadline := time.Now().Add(wait)
	for {
		fl, err := tryLockFile(path)
		if err == nil {
			return &TreeLock{l: fileLock{f: fl.f, path: path}, root: root}, nil
		}
		if !errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("layout: tree lock: %w", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("%w: %s", ErrTreeLocked, root)
		}
		t := time.NewTimer(min(left, treeLockPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("layout: tree lock %s: %w", root, ctx.Err())
		case <-t.C:
		}
	}
}

// Root returns the tree the lock belongs to.
func (l *TreeLock) Root() string { return l.root }

// Release drops the lock and closes the lock file; the file stays. Release
// is idempotent.
func (l *TreeLock) Release() error { return l.l.release() }

// withLock runs fn while holding an exclusive flock on path, waiting for it.
func withLock(path string, fn func() error) error {
	f, err := openLockFile(path)
	if err != nil {
		return fmt.Errorf("layout: lock: %w", err)
	}
	if err := flock(f, true, false); err != nil {
		f.Close()
		return fmt.Errorf("layout: lock: %w", err)
	}
	l := &fileLock{f: f, path: path}
	ferr := fn()
	rerr := l.release()
	if ferr != nil {
		return ferr
	}
	return rerr
}
