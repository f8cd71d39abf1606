package retention

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

// webmBytes returns a small complete WebM made by the mux writer: frames
// synthetic VP8 key frames with valid frame tags (RFC 6386, 9.1) and
// seeded random payload.
func webmBytes(t testing.TB, frames int, seed int64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "part.webm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := mux.NewWriter(f, mux.WriterOptions{Width: 64, Height: 48, FrameDuration: 100 * time.Millisecond,
		DateUTC: now, SegmentUID: bytes.Repeat([]byte{1}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < frames; i++ {
		b := make([]byte, 100+rng.Intn(200))
		rng.Read(b)
		tag := uint32(len(b)/2)<<5 | 1<<4 // key frame, version 0, shown
		b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		b[6], b[7], b[8], b[9] = 64, 0, 48, 0
		if err := w.WriteFrame(time.Duration(i)*100*time.Millisecond, true, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeRecording writes a complete recording directory under root with
// nparts copies of part and returns its path.
func makeRecording(t testing.TB, root, device string, start time.Time, part []byte, nparts int) string {
	t.Helper()
	m := layout.NewManifest(device, "alice", fmt.Sprintf("sess-%s-%d", device, start.Unix()), "demo", start)
	dir := filepath.Join(root, layout.NewRecordingName(start, device, m.SessionID).String())
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(part)
	for i := 1; i <= nparts; i++ {
		ps := start.Add(time.Duration(i-1) * time.Minute)
		name := layout.PartName{Start: ps, Monitor: "m0", Number: i}.String()
		if err := os.WriteFile(filepath.Join(dir, name), part, 0o640); err != nil {
			t.Fatal(err)
		}
		p := layout.Part{Name: name, SizeBytes: int64(len(part)), SHA256: hex.EncodeToString(sum[:]), Start: ps,
			End: ps.Add(time.Minute), DurationMS: 60000, Width: 64, Height: 48, Monitor: "m0", SplitReason: layout.SplitStart}
		if i > 1 {
			p.SplitReason = layout.SplitDuration
		}
		if err := m.AppendPart(p); err != nil {
			t.Fatal(err)
		}
	}
	m.State, m.End, m.StopReason = layout.StateComplete, start.Add(time.Duration(nparts)*time.Minute), layout.StopEndOfInput
	if err := layout.Create(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir
}

// snapshot maps every path under root (symlinks not followed) to its
// content (or link target, or "dir").
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decide(path, kind string, bytes int64) Decision {
	return Decision{Type: "purge", Path: path, Kind: kind, Bytes: bytes, Action: Delete, Rule: RuleOlderThan, Reason: "test"}
}

func TestExecute(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	part := webmBytes(t, 5, 1)
	start := now.Add(-100 * day)

	old := makeRecording(t, root, "ws-1", start, part, 3)
	keep := makeRecording(t, root, "ws-1", start.Add(time.Hour), part, 1)
	locked := makeRecording(t, root, "ws-2", start, part, 1)
	if err := layout.Update(locked, func(m *layout.Manifest) error { m.SetLock("bob", "case 4711", now); return nil }); err != nil {
		t.Fatal(err)
	}
	live := makeRecording(t, root, "ws-3", start, part, 1)
	rl, err := layout.AcquireRecordingLock(live)
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Release()
	plain := filepath.Join(root, "chrome.webm")
	if err := os.WriteFile(plain, part, 0o644); err != nil {
		t.Fatal(err)
	}
	// A "recording directory" that has been replaced by a symlink out of
	// the tree since the scan.
	victim := makeRecording(t, outside, "ws-9", start, part, 1)
	swapped := filepath.Join(root, "swapped")
	if err := os.Symlink(victim, swapped); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "notes.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifestBefore, err := os.ReadFile(layout.ManifestPath(old))
	if err != nil {
		t.Fatal(err)
	}
	beforeOutside := snapshot(t, outside)
	beforeRoot := snapshot(t, root)

	plan := Plan{Decisions: []Decision{
		decide(old, "directory", int64(3*len(part))),
		{Type: "purge", Path: keep, Kind: "directory", Action: Keep, Rule: RulePolicy, Reason: "new"},
		decide(locked, "directory", int64(len(part))),
		decide(live, "directory", int64(len(part))),
		decide(plain, "file", int64(len(part))),
		decide(swapped, "directory", int64(len(part))),
	}, Kept: 1, Deleted: 5}
	var log bytes.Buffer
	var results []Result
	s, err := Execute(context.Background(), plan, Options{Now: func() time.Time { return now }, Who: "tester@host", Log: &log},
		func(r Result) error { results = append(results, r); return nil })
	if err != nil {
		t.Fatalf("Execute() = %v", err)
	}

	want := []string{StatusDeleted, StatusKept, StatusFailed, StatusFailed, StatusDeleted, StatusFailed}
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("Execute() result %d (%s) = %s (%s), want %s", i, filepath.Base(r.Path), r.Status, r.Error, want[i])
		}
	}
	if len(results) != len(want) {
		t.Fatalf("Execute() gave %d results, want %d", len(results), len(want))
	}
	for i, wantErr := range map[int]error{2: layout.ErrLocked, 3: layout.ErrInProgress, 5: ErrNotRecording} {
		if !strings.Contains(results[i].Error, strings.TrimPrefix(wantErr.Error(), "layout: ")) {
			t.Errorf("Execute() result %d error = %q, want %q", i, results[i].Error, wantErr)
		}
	}
	if s.Deleted != 2 || s.Failed != 3 || s.FreedBytes != int64(4*len(part)) || s.NotDone != 0 {
		t.Errorf("Execute() summary = %+v, want 2 deleted, 3 failed, %d bytes freed", s, 4*len(part))
	}
	if results[0].FreedBytes != int64(3*len(part)) {
		t.Errorf("Execute() freed %d bytes for %s, want %d", results[0].FreedBytes, old, 3*len(part))
	}

	// What was deleted is gone; everything else is byte for byte as before.
	after := snapshot(t, root)
	for p, content := range beforeRoot {
		gone := strings.HasPrefix(p, filepath.Base(old)) || p == "chrome.webm"
		got, ok := after[p]
		switch {
		case gone && ok:
			t.Errorf("after Execute() %s still exists", p)
		case !gone && !ok:
			t.Errorf("after Execute() %s is gone", p)
		case !gone && got != content && !strings.HasSuffix(p, ".lock"):
			t.Errorf("after Execute() %s changed", p)
		}
	}
	if got := snapshot(t, outside); fmt.Sprint(got) != fmt.Sprint(beforeOutside) {
		t.Errorf("Execute() changed the tree outside the root: %v", got)
	}

	// The audit log: one line per deletion attempt, deleted ones with the
	// SHA-256 of the manifest they had.
	var entries []LogEntry
	sc := bufio.NewScanner(&log)
	for sc.Scan() {
		var e LogEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 5 {
		t.Fatalf("log has %d lines, want 5", len(entries))
	}
	sum := sha256.Sum256(manifestBefore)
	e := entries[0]
	if e.Path != old || e.Status != StatusDeleted || e.ManifestSHA256 != hex.EncodeToString(sum[:]) ||
		e.Bytes != int64(3*len(part)) || e.Who != "tester@host" || !e.Time.Equal(now) || e.Reason != "test" {
		t.Errorf("log[0] = %+v, want the deletion of %s with manifest sha256 %x", e, old, sum)
	}
	if entries[1].Status != StatusFailed || entries[1].Error == "" {
		t.Errorf("log[1] = %+v, want a failed deletion with its error", entries[1])
	}
}

func TestExecuteDryRun(t *testing.T) {
	root := t.TempDir()
	dir := makeRecording(t, root, "ws-1", now.Add(-100*day), webmBytes(t, 3, 2), 2)
	before := snapshot(t, root)
	var log bytes.Buffer
	s, err := Execute(context.Background(), Plan{Decisions: []Decision{decide(dir, "directory", 10)}, Deleted: 1, DeleteBytes: 10},
		Options{DryRun: true, Log: &log}, nil)
	if err != nil || s.Deleted != 0 || s.Planned != 1 || s.PlannedBytes != 10 {
		t.Errorf("Execute(dry run) = %+v, %v; want 1 planned, 0 deleted", s, err)
	}
	if got := snapshot(t, root); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("Execute(dry run) changed the tree")
	}
	if log.Len() != 0 {
		t.Errorf("Execute(dry run) wrote the log: %q", log.String())
	}
}

// TestExecuteFailingRemover: one recording cannot be removed; it is
// reported and counted, and the purge goes on.
func TestExecuteFailingRemover(t *testing.T) {
	root := t.TempDir()
	part := webmBytes(t, 3, 3)
	a := makeRecording(t, root, "ws-1", now.Add(-100*day), part, 1)
	b := makeRecording(t, root, "ws-2", now.Add(-100*day), part, 1)
	remove := func(dir string) (int64, error) {
		if dir == a {
			return 0, &fs.PathError{Op: "unlinkat", Path: dir, Err: fs.ErrPermission}
		}
		return layout.RemoveRecording(dir)
	}
	var results []Result
	s, err := Execute(context.Background(), Plan{Decisions: []Decision{decide(a, "directory", 1), decide(b, "directory", 1)}, Deleted: 2},
		Options{removeDir: remove}, func(r Result) error { results = append(results, r); return nil })
	if err != nil {
		t.Fatalf("Execute() = %v", err)
	}
	if s.Failed != 1 || s.Deleted != 1 || results[0].Status != StatusFailed || results[1].Status != StatusDeleted {
		t.Errorf("Execute() = %+v, statuses %s %s; want 1 failed then 1 deleted", s, results[0].Status, results[1].Status)
	}
	if !strings.Contains(results[0].Error, "permission denied") {
		t.Errorf("Execute() error = %q, want the remover's error", results[0].Error)
	}
	// The failed one is left in state purging: readers see it as being
	// deleted, and the next purge finishes it.
	m, err := layout.Read(a)
	if err != nil || m.State != layout.StatePurging {
		t.Errorf("after a failed removal layout.Read(a) = %v, %v; want state purging", m, err)
	}
}

// TestExecuteCrashAndResume: the process dies between marking a recording
// purging and removing it; the next run's plan finishes it.
func TestExecuteCrashAndResume(t *testing.T) {
	root := t.TempDir()
	part := webmBytes(t, 3, 4)
	a := makeRecording(t, root, "ws-1", now.Add(-100*day), part, 2)
	b := makeRecording(t, root, "ws-2", now.Add(-99*day), part, 1)
	plan := Plan{Decisions: []Decision{decide(a, "directory", 1), decide(b, "directory", 1)}, Deleted: 2}
	crash := func(string) error { return errCrash }
	s, err := Execute(context.Background(), plan, Options{afterMark: crash}, nil)
	if !errors.Is(err, errCrash) || s.NotDone != 2 {
		t.Fatalf("Execute(crashing) = %+v, %v; want the crash with 2 not done", s, err)
	}
	m, err := layout.Read(a)
	if err != nil || m.State != layout.StatePurging || m.PurgeStarted.IsZero() {
		t.Fatalf("after the crash layout.Read(a) = %+v, %v; want state purging with purge_started_time", m, err)
	}
	if ents, _ := os.ReadDir(a); len(ents) < 3 {
		t.Fatalf("after the crash %s holds %d entries, want its parts still there", a, len(ents))
	}

	// The next run plans a recording in state purging as a deletion,
	// whatever the policy, and finishes it.
	recs := []Recording{
		{Path: a, Kind: "directory", Device: "ws-1", End: now, LastWrite: now, Purging: true},
		{Path: b, Kind: "directory", Device: "ws-2", End: now.Add(-99 * day), LastWrite: now.Add(-99 * day)},
	}
	plan2 := Apply(recs, Policy{OlderThan: 365 * day, Grace: time.Hour}, now)
	if got := verdicts(plan2); got != a+":delete:purging "+b+":keep:policy" {
		t.Fatalf("Apply(after crash) = %s", got)
	}
	s, err = Execute(context.Background(), plan2, Options{}, nil)
	if err != nil || s.Deleted != 1 {
		t.Fatalf("Execute(resume) = %+v, %v; want 1 deleted", s, err)
	}
	if _, err := os.Lstat(a); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after resuming, Lstat(%s) = %v, want not exist", a, err)
	}
	if _, err := os.Lstat(b); err != nil {
		t.Errorf("after resuming, %s: %v; want it kept", b, err)
	}
}

// TestExecuteCancel: cancelling lets the deletions under way finish (at
// most a window of two per worker plus the one running), then stops; every
// planned deletion is either done or counted as not done.
func TestExecuteCancel(t *testing.T) {
	tests := []struct {
		name    string
		workers int
	}{
		{"one worker", 1},
		{"two workers", 2},
	}
	part := webmBytes(t, 3, 5)
	const total = 12
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var ds []Decision
			for i := 0; i < total; i++ {
				ds = append(ds, decide(makeRecording(t, root, fmt.Sprintf("ws-%02d", i), now.Add(-100*day), part, 1), "directory", 1))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			s, err := Execute(ctx, Plan{Decisions: ds, Deleted: len(ds)}, Options{Workers: tc.workers}, func(r Result) error {
				n++
				cancel()
				return nil
			})
			maxDone := 1 + 3*tc.workers
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Execute(cancelled) error = %v, want context.Canceled", err)
			}
			if s.Deleted < 1 || s.Deleted > maxDone || s.Deleted+s.NotDone != total || n != s.Deleted {
				t.Errorf("Execute(cancelled after the first result) = %d deleted, %d not done, %d reported; want 1 to %d deleted, all reported, the rest not done",
					s.Deleted, s.NotDone, n, maxDone)
			}
			left, _ := os.ReadDir(root)
			if len(left) != s.NotDone {
				t.Errorf("after cancelling, %d recordings left, want %d (not done)", len(left), s.NotDone)
			}
		})
	}
}

// BenchmarkExecute10k deletes 10,000 small recordings (one 4-KiB part
// each) per iteration, with the default number of workers.
func BenchmarkExecute10k(b *testing.B) { benchExecute(b, 10000, 0) }

// BenchmarkExecuteWorkers shows how deleting 1,000 recordings scales with
// the number of workers.
func BenchmarkExecuteWorkers(b *testing.B) {
	for _, w := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) { benchExecute(b, 1000, w) })
	}
}

func benchExecute(b *testing.B, n, workers int) {
	part := webmBytes(b, 20, 6)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := b.TempDir()
		var ds []Decision
		start := now.Add(-100 * day)
		for j := 0; j < n; j++ {
			ds = append(ds, decide(makeRecording(b, root, "ws", start.Add(time.Duration(j)*time.Second), part, 1), "directory", int64(len(part))))
		}
		sort.Slice(ds, func(x, y int) bool { return ds[x].Path < ds[y].Path })
		b.StartTimer()
		s, err := Execute(context.Background(), Plan{Decisions: ds, Deleted: len(ds)}, Options{Workers: workers}, nil)
		if err != nil || s.Deleted != len(ds) {
			b.Fatalf("Execute() = %+v, %v", s, err)
		}
	}
}
