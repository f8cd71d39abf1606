package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newRecording(t *testing.T) (string, *Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), NewRecordingName(t0, "ws-042", "sess-7f3a").String())
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	m := fullManifest(t)
	if err := Create(dir, m); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return dir, m
}

func TestCreateAndRead(t *testing.T) {
	dir, m := newRecording(t)
	got, err := Read(dir)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if string(encode(t, got)) != string(encode(t, m)) {
		t.Errorf("Read(Create(m)) differs from m")
	}
	st, err := os.Stat(ManifestPath(dir))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("manifest mode = %v, %v, want 0640 (from a 0750 directory)", st.Mode().Perm(), err)
	}
	if err := Create(dir, m); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create = %v, want fs.ErrExist", err)
	}
	if _, err := Read(t.TempDir()); !errors.Is(err, ErrNoManifest) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(empty dir) = %v, want ErrNoManifest wrapping fs.ErrNotExist", err)
	}
}

func TestReadTooLarge(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(ManifestPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file far above the cap: Read must stop at the cap.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Read(dir); !errors.Is(err, ErrManifestTooLarge) {
		t.Errorf("Read(1 GiB manifest) = %v, want ErrManifestTooLarge", err)
	}
}

func TestAtomicWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := AtomicWriteFile(path, write("one"), 0o600); err != nil {
		t.Fatalf("AtomicWriteFile: %v", err)
	}
	boom := errors.New("boom")
	tests := []struct {
		name string
		hook func(string) error
		fn   func(io.Writer) error
		want error
	}{
		{"writer fails", nil, func(w io.Writer) error { io.WriteString(w, "half"); return boom }, boom},
		{"fails before rename", func(string) error { return boom }, write("two"), boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testHookBeforeRename = tc.hook
			defer func() { testHookBeforeRename = nil }()
			if err := AtomicWriteFile(path, tc.fn, 0o600); !errors.Is(err, tc.want) {
				t.Fatalf("AtomicWriteFile = %v, want %v", err, tc.want)
			}
			if b, _ := os.ReadFile(path); string(b) != "one" {
				t.Errorf("content after failed write = %q, want %q", b, "one")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("directory after failed write holds %d entries, want 1 (no temporary file left)", len(ents))
			}
		})
	}
	if err := AtomicWriteFile(path, write("three"), 0o640); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "three" || st.Mode().Perm() != 0o640 {
		t.Errorf("after write: %q mode %v, want %q mode 0640", b, st.Mode().Perm(), "three")
	}
}

// TestCrashBeforeRename kills a writer between the synced temporary file
// and the rename: the old manifest stays intact and readable, the
// temporary file is left behind and Walk ignores it.
func TestCrashBeforeRename(t *testing.T) {
	dir, m := newRecording(t)
	h := startHelper(t, "crash-before-rename", dir)
	if code := h.wait(); code != 42 {
		t.Fatalf("helper exit code %d, want 42 (crashed in the hook)", code)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatalf("Read after crash: %v", err)
	}
	if len(got.Notes) != len(m.Notes) {
		t.Errorf("notes after crash = %d, want %d (the crashed write is invisible)", len(got.Notes), len(m.Notes))
	}
	ents, _ := os.ReadDir(dir)
	var temps []string
	for _, e := range ents {
		if IsTempName(e.Name()) {
			temps = append(temps, e.Name())
		}
	}
	if len(temps) != 1 || !strings.HasPrefix(temps[0], ManifestName+".tmp-") {
		t.Fatalf("temporary files after crash = %v, want one manifest.json.tmp-N", temps)
	}
	if b, err := os.ReadFile(filepath.Join(dir, temps[0])); err != nil || !strings.Contains(string(b), "never visible") {
		t.Errorf("temporary file holds %d bytes, %v; want the complete new manifest", len(b), err)
	}
	// The crash left the manifest lock free: the next update succeeds.
	if err := Update(dir, func(m *Manifest) error { m.AddNote("x", "after", t0); return nil }); err != nil {
		t.Errorf("Update after crash = %v, want nil", err)
	}
	// Walk over the parent and over a plain directory holding a stray
	// temporary sidecar: temporary files never show up.
	plain := t.TempDir()
	os.WriteFile(filepath.Join(plain, "a.webm.reckit.json.tmp-123"), []byte("{"), 0o644)
	for _, root := range []string{filepath.Dir(dir), plain} {
		var got []string
		err := Walk(context.Background(), root, func(e Entry) error {
			got = append(got, e.Kind.String()+" "+filepath.Base(e.Path))
			return nil
		})
		want := []string{}
		if root != plain {
			want = []string{"recording-dir " + filepath.Base(dir)}
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Walk(%s) = %v, %v, want %v", root, got, err, want)
		}
	}
}

func TestUpdateConcurrent(t *testing.T) {
	dir, m := newRecording(t)
	const goroutines, each, procs, perProc = 8, 10, 2, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- Update(dir, func(m *Manifest) error {
					m.AddNote(fmt.Sprintf("g%d", g), fmt.Sprint(i), t0)
					return nil
				})
			}
		}()
	}
	var hs []*helper
	for p := 0; p < procs; p++ {
		hs = append(hs, startHelper(t, "add-notes", dir, fmt.Sprintf("LAYOUT_TEST_N=%d", perProc)))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	for _, h := range hs {
		if code := h.wait(); code != 0 {
			t.Errorf("add-notes helper exit code %d, want 0", code)
		}
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := len(m.Notes) + goroutines*each + procs*perProc
	if len(got.Notes) != want {
		t.Errorf("notes after concurrent updates = %d, want %d", len(got.Notes), want)
	}
	seen := map[string]bool{}
	for _, n := range got.Notes {
		k := n.Author + "/" + n.Text
		if seen[k] {
			t.Errorf("note %s written twice", k)
		}
		seen[k] = true
	}
}

func TestUpdateRules(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(m *Manifest) error
		want error
	}{
		{"fn error", func(m *Manifest) error { m.Title = "changed"; return boom }, boom},
		{"note removed", func(m *Manifest) error { m.Notes = m.Notes[1:]; return nil }, ErrNotesRewritten},
		{"note edited", func(m *Manifest) error { m.Notes[0].Text = "rewritten"; return nil }, ErrNotesRewritten},
		{"complete to recording", func(m *Manifest) error { m.State = StateRecording; return nil }, ErrBadTransition},
		{"invalid part name", func(m *Manifest) error { m.Parts[0].Name = "../x"; return nil }, ErrInvalidManifest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := newRecording(t)
			before := encode(t, m)
			if err := Update(dir, tc.fn); !errors.Is(err, tc.want) {
				t.Fatalf("Update = %v, want %v", err, tc.want)
			}
			got, err := Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if string(encode(t, got)) != string(before) {
				t.Errorf("manifest changed by a refused Update")
			}
		})
	}
}

func TestMarkPurging(t *testing.T) {
	dir, _ := newRecording(t) // fullManifest is locked
	if err := MarkPurging(dir, t0); !errors.Is(err, ErrLocked) {
		t.Fatalf("MarkPurging(locked) = %v, want ErrLocked", err)
	}
	if err := Update(dir, func(m *Manifest) error { m.ClearLock(); return nil }); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(90 * 24 * time.Hour)
	for i := 0; i < 2; i++ { // the second call resumes an interrupted purge
		if err := MarkPurging(dir, now.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("MarkPurging #%d = %v, want nil", i+1, err)
		}
	}
	m, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != StatePurging || !m.PurgeStarted.Equal(now) {
		t.Errorf("after MarkPurging: state %s, purge_started_time %v; want purging, %v", m.State, m.PurgeStarted, now)
	}
}

// makeWebM writes a short VP8 WebM with ffmpeg.
func makeWebM(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg not found (install the Debian package ffmpeg): %v", err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5",
		"-t", "0.6", "-c:v", "libvpx", "-f", "webm", "-y", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

func TestSidecar(t *testing.T) {
	dir := t.TempDir()
	webm := filepath.Join(dir, "Chrome recording.webm")
	makeWebM(t, webm)
	mtime := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(webm, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	sum, size, err := HashFile(webm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSidecar(webm); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("ReadSidecar(none yet) = %v, want ErrNoManifest", err)
	}
	err = UpdateSidecar(webm, func(m *Manifest) error {
		m.SetLock("auditor", "case 9", t0)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateSidecar(lock) = %v", err)
	}
	if err := UpdateSidecar(webm, func(m *Manifest) error { m.AddNote("auditor", "seen", t0); return nil }); err != nil {
		t.Fatalf("UpdateSidecar(note) = %v", err)
	}
	m, err := ReadSidecar(webm)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Parts[0]
	if len(m.Parts) != 1 || p.Name != filepath.Base(webm) || p.SizeBytes != size || p.SHA256 != sum {
		t.Errorf("sidecar part = %+v, want %s, %d bytes, sha256 %s", p, filepath.Base(webm), size, sum)
	}
	if m.State != StateComplete || !m.End.Equal(mtime) || !m.Locked() || len(m.Notes) != 1 {
		t.Errorf("sidecar = state %s end %v locked %v notes %d; want complete, %v, true, 1", m.State, m.End, m.Locked(), len(m.Notes), mtime)
	}
	if err := m.VerifyChain(); err != nil {
		t.Errorf("sidecar VerifyChain = %v, want nil", err)
	}
	var got []string
	Walk(context.Background(), dir, func(e Entry) error {
		got = append(got, fmt.Sprintf("%s %s %s", e.Kind, filepath.Base(e.Path), filepath.Base(e.Sidecar)))
		return nil
	})
	want := []string{"plain-file Chrome recording.webm Chrome recording.webm.reckit.json"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Walk = %q, want %q", got, want)
	}
}

func TestCommitPartial(t *testing.T) {
	dir := t.TempDir()
	name, _ := FormatPartName(PartName{Start: t0, Monitor: "m0", Number: 1})
	partial := filepath.Join(dir, PartialName(name))
	makeWebM(t, partial)
	want, _ := os.ReadFile(partial)
	final, err := CommitPartial(partial)
	if err != nil || final != filepath.Join(dir, name) {
		t.Fatalf("CommitPartial(%s) = %s, %v, want %s", partial, final, err, filepath.Join(dir, name))
	}
	got, err := os.ReadFile(final)
	if err != nil || string(got) != string(want) {
		t.Errorf("final file: %d bytes, %v, want %d bytes", len(got), err, len(want))
	}
	if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("partial after commit: %v, want it gone", err)
	}
	if _, err := CommitPartial(final); !errors.Is(err, ErrBadName) {
		t.Errorf("CommitPartial(final name) = %v, want ErrBadName", err)
	}
}

func TestRemoveRecording(t *testing.T) {
	dir, m := newRecording(t)
	mkTree(t, dir, m.Parts[0].Name, m.Parts[1].Name, "orphan.webm.partial", "sub/deep.bin", "manifest.json.tmp-5")
	outside := filepath.Join(t.TempDir(), "keep.webm")
	mkTree(t, filepath.Dir(outside), "keep.webm")
	if err := os.Symlink(outside, filepath.Join(dir, "link.webm")); err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveRecording(dir); !errors.Is(err, ErrNotPurging) {
		t.Fatalf("RemoveRecording(complete) = %v, want ErrNotPurging", err)
	}
	if err := Update(dir, func(m *Manifest) error { m.ClearLock(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := MarkPurging(dir, t0); err != nil {
		t.Fatal(err)
	}
	if err := Update(dir, func(m *Manifest) error { m.SetLock("late", "too late", t0); return nil }); !errors.Is(err, ErrPurging) {
		t.Errorf("Update(lock a purging recording) = %v, want ErrPurging", err)
	}
	freed, err := RemoveRecording(dir)
	if err != nil {
		t.Fatalf("RemoveRecording = %v", err)
	}
	if freed != 5 { // five one-byte files: two parts, the partial, the temporary file, sub/deep.bin
		t.Errorf("RemoveRecording freed %d bytes, want 5", freed)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("recording directory after RemoveRecording: %v, want it gone", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("symlink target after RemoveRecording: %v, want it kept", err)
	}
}

func TestRemovePlainFile(t *testing.T) {
	dir := t.TempDir()
	webm := filepath.Join(dir, "a.webm")
	makeWebM(t, webm)
	st, _ := os.Stat(webm)
	if err := UpdateSidecar(webm, func(m *Manifest) error { m.SetLock("x", "hold", t0); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := RemovePlainFile(webm); !errors.Is(err, ErrLocked) {
		t.Fatalf("RemovePlainFile(locked) = %v, want ErrLocked", err)
	}
	if err := UpdateSidecar(webm, func(m *Manifest) error { m.ClearLock(); return nil }); err != nil {
		t.Fatal(err)
	}
	freed, err := RemovePlainFile(webm)
	if err != nil || freed != st.Size() {
		t.Fatalf("RemovePlainFile = %d, %v, want %d, nil", freed, err, st.Size())
	}
	for _, p := range []string{webm, SidecarPath(webm)} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after RemovePlainFile: %v, want it gone", p, err)
		}
	}
}
