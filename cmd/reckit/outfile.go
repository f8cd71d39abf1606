package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// partialSuffix marks a file being written; a final name always holds a
// complete file (docs/layout.md).
const partialSuffix = ".partial"

// outFile is an output written under a temporary name in the target
// directory (NAME.partial, or NAME.tmp-<digits>: see createOut), fsynced
// and renamed to NAME when complete.
type outFile struct {
	*os.File
	final string
	force bool
	done  bool

	// written counts bytes written in order; writeback has been started
	// for everything before synced (see startWriteback).
	written, synced int64
}

// writebackChunk is how much an output accumulates before its writeback
// is started.
const writebackChunk = 8 << 20

// Write writes to the file and starts writeback of every full chunk.
func (o *outFile) Write(p []byte) (int, error) {
	n, err := o.File.Write(p)
	o.wrote(int64(n))
	return n, err
}

// ReadFrom copies r into the file (copy_file_range from another file) and
// starts writeback of every full chunk.
func (o *outFile) ReadFrom(r io.Reader) (int64, error) {
	n, err := o.File.ReadFrom(r)
	o.wrote(n)
	return n, err
}

func (o *outFile) wrote(n int64) {
	o.written += n
	if o.written-o.synced >= writebackChunk {
		startWriteback(o.File.Fd(), o.synced, o.written-o.synced)
		o.synced = o.written
	}
}

// createOut starts writing final, as final.partial (docs/layout.md). An
// existing final.partial is never truncated or removed: it may be the very
// input (a recorder's unfinished part) or another writer's; the output then
// goes to a unique final.tmp-<digits> instead (layout.IsTempName). Without
// force, an existing final name is an error, checked now and again at
// commit.
func createOut(final string, force bool) (*outFile, error) {
	if err := checkFinal(final, force); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(final+partialSuffix, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return createOutTemp(final, force, 0o644)
	}
	if err != nil {
		return nil, err
	}
	return &outFile{File: f, final: final, force: force}, nil
}

// createOutTemp is createOut writing to a unique final.tmp-<digits>, with
// mode perm, for outputs inside a recording directory, where final.partial
// means an unfinished recorder part.
func createOutTemp(final string, force bool, perm fs.FileMode) (*outFile, error) {
	if err := checkFinal(final, force); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(final)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil { // CreateTemp makes 0600
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &outFile{File: f, final: final, force: force}, nil
}

func checkFinal(final string, force bool) error {
	if !force {
		if _, err := os.Lstat(final); err == nil {
			return withHint(fmt.Errorf("%s: %w", final, fs.ErrExist), "use --force to overwrite it")
		}
	}
	return nil
}

// commit fsyncs, closes and renames the file to its final name, then
// fsyncs the directory.
func (o *outFile) commit() error {
	if o.done {
		return errors.New("output already finished")
	}
	o.done = true
	tmp := o.File.Name()
	if err := o.File.Sync(); err != nil {
		o.File.Close()
		os.Remove(tmp)
		return err
	}
	if err := o.File.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if !o.force {
		if _, err := os.Lstat(o.final); err == nil {
			os.Remove(tmp)
			return withHint(fmt.Errorf("%s: %w", o.final, fs.ErrExist), "use --force to overwrite it")
		}
	}
	if err := os.Rename(tmp, o.final); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(o.final))
}

// abort closes and removes the partial file; safe to call after commit.
func (o *outFile) abort() {
	if o.done {
		return
	}
	o.done = true
	o.File.Close()
	os.Remove(o.File.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
