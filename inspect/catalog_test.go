package inspect_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

func runCatalog(t testing.TB, roots []string, probe bool) ([]*inspect.Recording, []*inspect.Unknown) {
	t.Helper()
	var recs []*inspect.Recording
	var unk []*inspect.Unknown
	err := inspect.Catalog(context.Background(), roots, inspect.CatalogOptions{Probe: probe, Now: t0},
		func(r *inspect.Recording) error { recs = append(recs, r); return nil },
		func(u *inspect.Unknown) error { unk = append(unk, u); return nil })
	if err != nil {
		t.Fatalf("Catalog(%v) = %v", roots, err)
	}
	return recs, unk
}

// TestCatalog lists a tree holding recording directories, plain files with
// and without a sidecar, a symlink and an unknown file, and checks each
// recording's facts and header-only verdict.
func TestCatalog(t *testing.T) {
	root := t.TempDir()
	okDir := genRecording(t, root, recSpec{device: "WS-042", user: "alice", session: "s1", parts: 2, frames: 20})
	gone := genRecording(t, root, recSpec{device: "ws-7", user: "bob", session: "s2", start: t0.Add(time.Hour)})
	m, _ := layout.Read(gone)
	if err := os.Remove(filepath.Join(gone, m.Parts[0].Name)); err != nil {
		t.Fatal(err)
	}
	sized := genRecording(t, root, recSpec{device: "ws-8", session: "s3", start: t0.Add(2 * time.Hour)})
	m, _ = layout.Read(sized)
	if err := os.Truncate(filepath.Join(sized, m.Parts[1].Name), 100); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(root, "plain", "chrome.webm")
	os.MkdirAll(filepath.Dir(plain), 0o755)
	genWebM(t, plain, webmSpec{frames: 25, live: true, tags: []mux.SimpleTag{{Name: mux.TagDevice, Value: "laptop"}}})
	locked := filepath.Join(root, "plain", "held.webm")
	genWebM(t, locked, webmSpec{frames: 30})
	if err := layout.UpdateSidecar(locked, func(m *layout.Manifest) error {
		m.SetLock("carol", "case 4711", t0)
		m.AddNote("carol", "held", t0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "README.txt"), []byte("x"), 0o644)
	os.Symlink(plain, filepath.Join(root, "link.webm"))

	recs, unk := runCatalog(t, []string{root}, true)
	type want struct {
		verdict    inspect.Verdict
		device     string
		parts      int
		durationMS int64
		locked     bool
		notes      int
		res        string
		state      string
	}
	wants := map[string]want{
		okDir:  {inspect.OK, "WS-042", 2, 4000, false, 0, "160x120", "complete"},
		gone:   {inspect.Missing, "ws-7", 2, 4000, false, 0, "160x120", "complete"},
		sized:  {inspect.SizeMismatch, "ws-8", 2, 4000, false, 0, "160x120", "complete"},
		plain:  {inspect.Unseekable, "laptop", 1, 0, false, 0, "160x120", ""},
		locked: {inspect.OK, "", 1, 3000, true, 1, "160x120", "complete"},
	}
	if len(recs) != len(wants) {
		t.Fatalf("Catalog: %d recordings, want %d", len(recs), len(wants))
	}
	for _, r := range recs {
		w, ok := wants[r.Path]
		if !ok {
			t.Errorf("Catalog: unexpected recording %s", r.Path)
			continue
		}
		got := want{r.Verdict, r.Device, r.Parts, r.DurationMS, r.Locked, r.Notes, r.ResolutionString(), r.State}
		if got != w {
			t.Errorf("Catalog(%s) = %+v (%s), want %+v", filepath.Base(r.Path), got, r.Reason, w)
		}
		if r.Bytes <= 0 || r.ModTime.IsZero() || len(r.Files) == 0 {
			t.Errorf("Catalog(%s): bytes %d, mtime %v, files %v: want all set", filepath.Base(r.Path), r.Bytes, r.ModTime, r.Files)
		}
	}
	if len(unk) != 2 {
		t.Fatalf("Catalog unknown = %d entries, want 2 (README.txt, link.webm)", len(unk))
	}
	if unk[0].Kind != "file" || unk[1].Kind != "symlink" {
		t.Errorf("Catalog unknown kinds = %s, %s, want file, symlink", unk[0].Kind, unk[1].Kind)
	}
}

// TestProbe checks the header-only verdicts against Scan's on the same
// files: a probe never reads a Cluster, yet sees a cut Segment.
func TestProbe(t *testing.T) {
	full := genWebM(t, "", webmSpec{frames: 40})
	live := genWebM(t, "", webmSpec{frames: 40, live: true})
	tests := []struct {
		name string
		data []byte
		want inspect.Verdict
		dur  int64
	}{
		{"complete", full, inspect.OK, 4000},
		{"live layout", live, inspect.Unseekable, 0},
		{"cut at 60%", full[:len(full)*6/10], inspect.Incomplete, 4000},
		{"cut inside the header", full[:60], inspect.Incomplete, 0},
		{"text", []byte("hello, world\n"), inspect.NotWebM, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := inspect.Probe("x", bytesReaderAt(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatalf("Probe = %v", err)
			}
			if rep.Verdict != tc.want || rep.DurationMS != tc.dur {
				t.Errorf("Probe(%s) = %s, %d ms (%s), want %s, %d ms", tc.name, rep.Verdict, rep.DurationMS, rep.Reason, tc.want, tc.dur)
			}
		})
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestCatalogInProgress: a recording whose lock is held is "recording",
// its .partial part is not damage; once the lock is gone it was
// interrupted.
func TestCatalogInProgress(t *testing.T) {
	root := t.TempDir()
	dir := genRecording(t, root, recSpec{device: "ws-5", session: "live", parts: 1, state: layout.StateRecording})
	genWebM(t, filepath.Join(dir, "20261122T060200.000Z-m0-002.webm.partial"), webmSpec{frames: 5, live: true})
	lock, err := layout.AcquireRecordingLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := runCatalog(t, []string{root}, true)
	if r := recs[0]; r.Verdict != inspect.InProgress || !r.InProgress || r.State != layout.StateRecording {
		t.Errorf("Catalog(held) = %s, in progress %v, state %s (%s), want recording, true, recording", r.Verdict, r.InProgress, r.State, r.Reason)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	recs, _ = runCatalog(t, []string{root}, true)
	if r := recs[0]; r.Verdict != inspect.Incomplete || r.InProgress || r.State != layout.StateInterrupted {
		t.Errorf("Catalog(released) = %s, in progress %v, state %s (%s), want incomplete, false, interrupted", r.Verdict, r.InProgress, r.State, r.Reason)
	}
}

// TestCatalogStops: an error from the callback stops the walk and is
// returned; a cancelled context stops it too, without hanging.
func TestCatalogStops(t *testing.T) {
	root := t.TempDir()
	for i := range 20 {
		genRecording(t, root, recSpec{device: "ws", session: "s" + string(rune('a'+i)), parts: 1, start: t0.Add(time.Duration(i) * time.Hour)})
	}
	stop := errors.New("stop")
	n := 0
	err := inspect.Catalog(context.Background(), []string{root}, inspect.CatalogOptions{}, func(*inspect.Recording) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Catalog with a failing callback = %v after %d recordings, want stop after 3", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = inspect.Catalog(ctx, []string{root}, inspect.CatalogOptions{}, func(*inspect.Recording) error {
		n++
		cancel()
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) || n >= 20 {
		t.Errorf("Catalog cancelled = %v after %d recordings, want context.Canceled before 20", err, n)
	}
	ctx, cancel = context.WithCancel(context.Background())
	_, err = inspect.Verify(ctx, []string{root}, inspect.VerifyOptions{Jobs: 2}, func(any) error { cancel(); return nil }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Verify cancelled = %v, want context.Canceled", err)
	}
}
