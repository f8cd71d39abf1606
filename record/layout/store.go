package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SidecarExt is appended to a plain WebM file's name to name the sidecar
// manifest that reckit creates beside it on lock or note.
const SidecarExt = ".reckit.json"

// ManifestPath returns the path of the manifest of recording directory dir.
func ManifestPath(dir string) string { return filepath.Join(dir, ManifestName) }

// SidecarPath returns the path of the sidecar manifest of a plain WebM file.
func SidecarPath(webmPath string) string { return webmPath + SidecarExt }

// IsSidecarName reports whether name is the name of a sidecar manifest.
func IsSidecarName(name string) bool {
	return len(name) > len(SidecarExt) && strings.HasSuffix(name, SidecarExt)
}

// IsWebMName reports whether name ends in ".webm", in any letter case.
func IsWebMName(name string) bool {
	return len(name) > len(PartExt) && strings.EqualFold(name[len(name)-len(PartExt):], PartExt)
}

// Read reads and validates the manifest of recording directory dir. A
// missing manifest is ErrNoManifest.
func Read(dir string) (*Manifest, error) { return ReadFile(ManifestPath(dir)) }

// ReadSidecar reads and validates the sidecar manifest of a plain WebM
// file. A missing sidecar is ErrNoManifest.
func ReadSidecar(webmPath string) (*Manifest, error) { return ReadFile(SidecarPath(webmPath)) }

// ReadFile reads and validates the manifest at path (see Decode).
func ReadFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoManifest, path)
	}
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxManifestSize {
		return nil, fmt.Errorf("%s: %w: %d bytes, limit %d", path, ErrManifestTooLarge, st.Size(), MaxManifestSize)
	}
	m, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadEffective reads the manifest of dir and probes its recording lock,
// returning the manifest and its effective state (see
// Manifest.EffectiveState).
func ReadEffective(dir string) (*Manifest, string, error) {
	m, err := Read(dir)
	if err != nil {
		return nil, "", err
	}
	held, err := RecordingInProgress(dir)
	if err != nil {
		return m, "", err
	}
	return m, m.EffectiveState(held), nil
}

// Create writes m as the first manifest of recording directory dir, under
// the manifest lock. It fails with an error wrapping fs.ErrExist if dir
// already has a manifest. The manifest gets dir's read and write permission
// bits (a 0750 directory gets a 0640 manifest).
func Create(dir string, m *Manifest) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("layout: create manifest: %w", err)
	}
	path := ManifestPath(dir)
	return withLock(filepath.Join(dir, ManifestLockName), func() error {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("layout: create manifest %s: %w", path, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("layout: create manifest: %w", err)
		}
		return writeManifest(path, m, st.Mode().Perm()&0o666)
	})
}

// Update is the read-modify-write of the manifest of recording directory
// dir: under an exclusive flock on ManifestLockName it reads the manifest,
// calls fn, checks the result (a state change the state machine allows,
// notes only appended, Validate) and writes it atomically. If fn returns an
// error nothing is written and Update returns it. Every writer of a
// manifest, the recorder included, goes through Update so that no
// concurrent change is lost.
func Update(dir string, fn func(*Manifest) error) error {
	return update(ManifestPath(dir), filepath.Join(dir, ManifestLockName), nil, fn)
}

// UpdateSidecar is Update for the sidecar manifest of a plain WebM file,
// under an exclusive flock on SidecarLockName in the file's directory. If
// the sidecar does not exist yet, it starts from NewManifestForFile with
// the file's name, size, modification time and SHA-256 (the file is read
// once to hash it).
func UpdateSidecar(webmPath string, fn func(*Manifest) error) error {
	create := func() (*Manifest, error) {
		st, err := os.Lstat(webmPath)
		if err != nil {
			return nil, fmt.Errorf("layout: sidecar: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("layout: sidecar: %s is not a regular file", webmPath)
		}
		sum, n, err := HashFile(webmPath)
		if err != nil {
			return nil, err
		}
		return NewManifestForFile(filepath.Base(webmPath), n, st.ModTime(), sum), nil
	}
	lock := filepath.Join(filepath.Dir(webmPath), SidecarLockName)
	return update(SidecarPath(webmPath), lock, create, fn)
}

// NewManifestForFile returns the manifest of a plain WebM file named name
// (a base name) that has no manifest: one complete part of size bytes,
// ended at modTime, with the given SHA-256 (lowercase hex, or "" if not
// computed; then the chain is left empty). Session, device and user are
// unknown and stay empty; facts from the file's headers (start, duration,
// resolution) are for the caller to add.
func NewManifestForFile(name string, size int64, modTime time.Time, sha256Hex string) *Manifest {
	end := modTime.UTC().Truncate(time.Millisecond)
	m := &Manifest{
		SchemaVersion: SchemaVersion,
		Source:        "file",
		Title:         name,
		State:         StateComplete,
		End:           end,
	}
	p := Part{Name: name, SizeBytes: size, SHA256: sha256Hex, End: end, SplitReason: SplitStart}
	if sha256Hex != "" && m.AppendPart(p) == nil {
		return m
	}
	p.SHA256 = ""
	m.Parts = []Part{p}
	return m
}

// MarkPurging moves the recording in dir to state purging (recording
// purge_started_time = now) before any of its files is deleted, so that
// readers see it as being deleted. It refuses with ErrLocked if the
// recording is under legal hold and with ErrInProgress if its recording
// lock is held. A recording already purging is left as is (a purge that
// was interrupted is resumed).
func MarkPurging(dir string, now time.Time) error {
	return Update(dir, func(m *Manifest) error {
		if m.Lock != nil {
			return fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		held, err := RecordingInProgress(dir)
		if err != nil {
			return err
		}
		if held {
			return fmt.Errorf("%w: %s", ErrInProgress, dir)
		}
		if m.State == StatePurging {
			return nil
		}
		if err := m.SetState(StatePurging); err != nil {
			return err
		}
		m.PurgeStarted = now.UTC().Truncate(time.Millisecond)
		return nil
	})
}

func update(path, lockPath string, create func() (*Manifest, error), fn func(*Manifest) error) error {
	return withLock(lockPath, func() error {
		var perm fs.FileMode
		m, err := ReadFile(path)
		switch {
		case err == nil:
			st, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("layout: update: %w", err)
			}
			perm = st.Mode().Perm()
		case errors.Is(err, ErrNoManifest) && create != nil:
			if m, err = create(); err != nil {
				return err
			}
			perm = 0o644
			if st, err := os.Stat(strings.TrimSuffix(path, SidecarExt)); err == nil {
				perm = st.Mode().Perm() & 0o666
			}
		default:
			return err
		}
		state, hadLock := m.State, m.Lock != nil
		oldNotes := make([][]byte, len(m.Notes))
		for i, n := range m.Notes {
			if oldNotes[i], err = json.Marshal(n); err != nil {
				return fmt.Errorf("layout: update: %w", err)
			}
		}
		if err := fn(m); err != nil {
			return err
		}
		if state == StatePurging && !hadLock && m.Lock != nil {
			return fmt.Errorf("%w: cannot lock %s", ErrPurging, path)
		}
		if !CanTransition(state, m.State) {
			return fmt.Errorf("%w: %s to %s", ErrBadTransition, state, m.State)
		}
		if len(m.Notes) < len(oldNotes) {
			return fmt.Errorf("%w: %d notes before, %d after", ErrNotesRewritten, len(oldNotes), len(m.Notes))
		}
		for i, old := range oldNotes {
			cur, err := json.Marshal(m.Notes[i])
			if err != nil || !bytes.Equal(old, cur) {
				return fmt.Errorf("%w: note %d changed", ErrNotesRewritten, i)
			}
		}
		return writeManifest(path, m, perm)
	})
}

func writeManifest(path string, m *Manifest, perm fs.FileMode) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	return AtomicWriteFile(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}, perm)
}
