package layout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind classifies what Walk found.
type Kind int

// Kinds of Entry.
const (
	// KindRecordingDir is a directory holding manifest.json. Walk does not
	// descend into it: its files belong to the recording.
	KindRecordingDir Kind = iota + 1
	// KindPlainFile is a ".webm" file outside any recording directory: a
	// one-part recording, with a sidecar manifest or without.
	KindPlainFile
	// KindPartial is a "*.webm.partial" file outside any recording
	// directory: a part being written, or left by a crash.
	KindPartial
	// KindSymlink is a symbolic link; Walk never follows it.
	KindSymlink
	// KindUnknown is any other file, which reckit lists but never touches.
	KindUnknown
	// KindError is a directory Walk could not read; Err says why.
	KindError
)

var kindNames = [...]string{"", "recording-dir", "plain-file", "partial", "symlink", "unknown", "error"}

// String returns the kind's lowercase name, such as "recording-dir".
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Entry is one item Walk found.
type Entry struct {
	Kind    Kind
	Path    string // root joined with the item's relative path
	Sidecar string // KindPlainFile: the sidecar manifest's path, "" if none
	Err     error  // KindError: why the directory could not be read
	d       fs.DirEntry
}

// Info returns the entry's file information. It does not follow a symbolic
// link, except for the root given to Walk, which Walk follows too.
func (e Entry) Info() (fs.FileInfo, error) {
	if e.d != nil {
		return e.d.Info()
	}
	return os.Stat(e.Path)
}

// ManifestPath returns the manifest path of a recording directory or of a
// plain file's sidecar, and "" for other entries.
func (e Entry) ManifestPath() string {
	switch e.Kind {
	case KindRecordingDir:
		return ManifestPath(e.Path)
	case KindPlainFile:
		return e.Sidecar
	}
	return ""
}

// ReadManifest reads the manifest of a recording directory or of a plain
// file's sidecar; ErrNoManifest for anything else.
func (e Entry) ReadManifest() (*Manifest, error) {
	p := e.ManifestPath()
	if p == "" {
		return nil, fmt.Errorf("%w: %s", ErrNoManifest, e.Path)
	}
	return ReadFile(p)
}

// Walk calls fn for each recording directory, plain WebM file, partial
// file, symbolic link and unknown file under root, depth first in lexical
// order; see docs/layout.md ("Walking"). It follows root itself if root is
// a symbolic link, and no link below it. It does not descend into
// recording directories, and skips its own transient files (temporary
// manifests, lock files) and sidecars whose WebM file exists (they are
// reported with that file). A subdirectory it cannot read is reported as a
// KindError entry and the walk goes on; an error reading root is returned.
// If fn returns fs.SkipAll, Walk stops and returns nil; any other error
// from fn stops Walk and is returned. Walk holds one directory listing per
// level of depth, never the whole tree.
func Walk(ctx context.Context, root string, fn func(Entry) error) error {
	st, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("layout: walk: %w", err)
	}
	w := walker{ctx: ctx, fn: fn}
	if st.IsDir() {
		if isRecordingDir(root) {
			err = fn(Entry{Kind: KindRecordingDir, Path: root})
		} else {
			err = w.dir(root, true)
		}
	} else {
		e, skip := classifyFile(root, filepath.Base(root), st.Mode(), func(name string) bool {
			_, err := os.Lstat(filepath.Join(filepath.Dir(root), name))
			return err == nil
		})
		if !skip {
			err = fn(e)
		}
	}
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

type walker struct {
	ctx context.Context
	fn  func(Entry) error
}

func isRecordingDir(dir string) bool {
	st, err := os.Lstat(filepath.Join(dir, ManifestName))
	return err == nil && !st.IsDir()
}

func (w *walker) dir(dir string, isRoot bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if isRoot {
			return fmt.Errorf("layout: walk: %w", err)
		}
		return w.fn(Entry{Kind: KindError, Path: dir, Err: err})
	}
	var names map[string]bool // only when the directory holds sidecars
	for _, d := range ents {
		if IsSidecarName(d.Name()) {
			names = make(map[string]bool, len(ents))
			for _, d := range ents {
				names[d.Name()] = true
			}
			break
		}
	}
	has := func(name string) bool { return names[name] }
	for i, d := range ents {
		if i&63 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		path := filepath.Join(dir, d.Name())
		t := d.Type()
		switch {
		case t&fs.ModeSymlink != 0:
			err = w.fn(Entry{Kind: KindSymlink, Path: path, d: d})
		case t.IsDir():
			if isRecordingDir(path) {
				err = w.fn(Entry{Kind: KindRecordingDir, Path: path, d: d})
			} else {
				err = w.dir(path, false)
			}
		default:
			e, skip := classifyFile(path, d.Name(), t, has)
			if skip {
				continue
			}
			e.d = d
			err = w.fn(e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// classifyFile classifies a non-directory, non-symlink file named name at
// path; has reports whether a sibling name exists. skip is true for files
// Walk does not report.
func classifyFile(path, name string, mode fs.FileMode, has func(string) bool) (e Entry, skip bool) {
	e = Entry{Kind: KindUnknown, Path: path}
	if mode&fs.ModeSymlink != 0 {
		e.Kind = KindSymlink
		return e, false
	}
	if !mode.IsRegular() {
		return e, false
	}
	switch {
	case IsTempName(name), isLockName(name):
		return e, true
	case IsSidecarName(name):
		// Reported with its WebM file; an orphan sidecar is unknown.
		return e, has(strings.TrimSuffix(name, SidecarExt))
	case IsWebMName(name):
		e.Kind = KindPlainFile
		if has(name + SidecarExt) {
			e.Sidecar = SidecarPath(path)
		}
	case IsPartial(name) && IsWebMName(strings.TrimSuffix(name, PartialExt)):
		e.Kind = KindPartial
	}
	return e, false
}

func isLockName(name string) bool {
	switch name {
	case RecordingLockName, ManifestLockName, SidecarLockName, TreeLockName:
		return true
	}
	return false
}
