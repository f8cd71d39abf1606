package layout

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix separates a target name from the random suffix of its
// temporary file: "manifest.json.tmp-123456789".
const tempInfix = ".tmp-"

// testHookBeforeRename, when set by a test, runs after the temporary file
// is written and synced and before it is renamed over the target. An error
// aborts AtomicWriteFile as a crash at that point would, except that the
// temporary file is removed.
var testHookBeforeRename func(tmp string) error

// IsTempName reports whether name is a temporary file of AtomicWriteFile:
// "<target>.tmp-<digits>". Such files are transient (or left by a crash)
// and never hold the only copy of anything; Walk ignores them.
func IsTempName(name string) bool {
	i := strings.LastIndex(name, tempInfix)
	return i > 0 && allDigits(name[i+len(tempInfix):])
}

// AtomicWriteFile replaces the file at path with the bytes write produces,
// so that path holds either its old content or the complete new content,
// also after a crash: write goes to "<path>.tmp-<digits>" in the same
// directory, which is flushed, fsynced, closed, given mode perm (exactly,
// without the umask), renamed over path, and then the directory is fsynced.
// On failure the temporary file is removed and path is untouched. write must
// not retain the writer.
func AtomicWriteFile(path string, write func(io.Writer) error, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("layout: atomic write %s: fsync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	if testHookBeforeRename != nil {
		if err := testHookBeforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		// The new content is in place; only its durability is in doubt.
		return fmt.Errorf("layout: atomic write %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs directory dir, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("layout: fsync dir %s: %w", dir, err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil && !errors.Is(serr, errors.ErrUnsupported) {
		return fmt.Errorf("layout: fsync dir %s: %w", dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("layout: fsync dir %s: %w", dir, cerr)
	}
	return nil
}

// CommitPartial finishes the part-file protocol for the file at
// partialPath ("NAME.webm.partial"): it fsyncs the file, renames it to its
// final name ("NAME.webm") and fsyncs the directory. It returns the final
// path. The caller has closed its own handle of the file.
func CommitPartial(partialPath string) (string, error) {
	final, ok := FinalName(partialPath)
	if !ok || !ValidPartFileName(filepath.Base(final)) || strings.HasSuffix(final, string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %q does not end in %s", ErrBadName, partialPath, PartialExt)
	}
	f, err := os.OpenFile(partialPath, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("layout: commit part: %w", err)
	}
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return "", fmt.Errorf("layout: commit part %s: fsync: %w", partialPath, serr)
	}
	if cerr != nil {
		return "", fmt.Errorf("layout: commit part %s: %w", partialPath, cerr)
	}
	if err := os.Rename(partialPath, final); err != nil {
		return "", fmt.Errorf("layout: commit part: %w", err)
	}
	if err := SyncDir(filepath.Dir(final)); err != nil {
		return final, err
	}
	return final, nil
}

// HashFile streams the file at path through SHA-256 and returns the
// lowercase hex digest and the number of bytes read.
func HashFile(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("layout: hash: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("layout: hash %s: %w", path, err)
	}
	return hexString(h.Sum(nil)), n, nil
}
