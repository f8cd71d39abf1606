package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrPurging reports a recording in state purging where that state forbids
// the operation (locking it), and ErrNotPurging one that must be in state
// purging and is not.
var (
	ErrPurging    = errors.New("layout: recording is being purged")
	ErrNotPurging = errors.New("layout: recording is not in state purging")
)

// RemoveRecording carries out the deletion steps of the purge protocol
// (docs/layout.md, section 8) on recording directory dir, which MarkPurging
// has moved to state purging: it deletes every entry except manifest.json
// and the lock files (subdirectories with their contents; symbolic links
// themselves, never their targets), then manifest.json, then the lock
// files, then dir. It returns the bytes of the regular files it deleted
// (manifest and lock files not counted). It refuses with ErrNotPurging
// unless the manifest says purging; a directory without manifest (a purge
// that crashed after deleting it) is finished off.
func RemoveRecording(dir string) (freed int64, err error) {
	freed, err = RemoveRecordingUnsynced(dir)
	if err != nil {
		return freed, err
	}
	return freed, SyncDir(filepath.Dir(dir))
}

// RemoveRecordingUnsynced is RemoveRecording without the final fsync of
// the parent directory, for a caller that removes many recordings and
// syncs each parent once at the end (the purge executor). Until then a
// power loss may bring the removed directory back, empty or still marked
// purging; the next purge finishes it.
func RemoveRecordingUnsynced(dir string) (freed int64, err error) {
	m, err := Read(dir)
	switch {
	case errors.Is(err, ErrNoManifest):
	case err != nil:
		return 0, err
	case m.State != StatePurging:
		return 0, fmt.Errorf("%w: %s is %s", ErrNotPurging, dir, m.State)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("layout: remove recording: %w", err)
	}
	for _, d := range ents {
		name := d.Name()
		if name == ManifestName || isLockName(name) {
			continue
		}
		p := filepath.Join(dir, name)
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				if err := os.Remove(p); err != nil {
					return freed, fmt.Errorf("layout: remove recording: %w", err)
				}
				freed += fi.Size()
				continue
			}
		}
		if d.IsDir() {
			filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if fi, err := d.Info(); err == nil {
						freed += fi.Size()
					}
				}
				return nil
			})
		}
		if err := os.RemoveAll(p); err != nil {
			return freed, fmt.Errorf("layout: remove recording: %w", err)
		}
	}
	err = withLock(filepath.Join(dir, ManifestLockName), func() error {
		if err := os.Remove(ManifestPath(dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("layout: remove recording: %w", err)
		}
		return nil
	})
	if err != nil {
		return freed, err
	}
	for _, name := range []string{RecordingLockName, ManifestLockName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return freed, fmt.Errorf("layout: remove recording: %w", err)
		}
	}
	if err := os.Remove(dir); err != nil {
		return freed, fmt.Errorf("layout: remove recording: %w", err)
	}
	return freed, nil
}

// RemovePlainFile deletes a plain WebM file and then its sidecar manifest,
// under the sidecar lock of its directory. It refuses with ErrLocked if the
// sidecar holds a legal hold. It returns the bytes of the WebM file.
func RemovePlainFile(webmPath string) (freed int64, err error) {
	lock := filepath.Join(filepath.Dir(webmPath), SidecarLockName)
	err = withLock(lock, func() error {
		m, err := ReadSidecar(webmPath)
		switch {
		case errors.Is(err, ErrNoManifest):
		case err != nil:
			return err
		case m.Locked():
			return fmt.Errorf("%w: %s", ErrLocked, webmPath)
		}
		st, err := os.Lstat(webmPath)
		if err != nil {
			return fmt.Errorf("layout: remove: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("layout: remove: %s is not a regular file", webmPath)
		}
		if err := os.Remove(webmPath); err != nil {
			return fmt.Errorf("layout: remove: %w", err)
		}
		freed = st.Size()
		if err := os.Remove(SidecarPath(webmPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("layout: remove: %w", err)
		}
		return SyncDir(filepath.Dir(webmPath))
	})
	return freed, err
}
