package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["crashrec"] = cmdCrashrec
	scriptCmds["holdrec"] = cmdHoldrec
	scriptCmds["droprec"] = cmdDroprec
}

var (
	heldMu sync.Mutex
	held   = map[string]*layout.RecordingLock{}
)

// cmdHoldrec implements "holdrec DIR": this test process takes DIR's
// recording lock, as a live recorder does, until "droprec DIR" or the end
// of the script.
func cmdHoldrec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: holdrec DIR")
	}
	dir := ts.MkAbs(args[0])
	l, err := layout.AcquireRecordingLock(dir)
	ts.Check(err)
	heldMu.Lock()
	held[dir] = l
	heldMu.Unlock()
	ts.Defer(func() { l.Release() })
}

// cmdDroprec implements "droprec DIR": it releases the lock of holdrec.
func cmdDroprec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: droprec DIR")
	}
	dir := ts.MkAbs(args[0])
	heldMu.Lock()
	l := held[dir]
	delete(held, dir)
	heldMu.Unlock()
	if l == nil {
		ts.Fatalf("droprec %s: not held", args[0])
	}
	ts.Check(l.Release())
}

// cmdCrashrec implements "crashrec DIR PROG ARGS...": it starts a recorder
// writing recording directories into DIR and kills it with SIGKILL once a
// recording there has a final part and a .partial part holding at least
// two complete key frames: the state a crash leaves. It sets $REC (the
// recording's directory name), $PARTIAL (the .partial's path relative to
// the work directory) and $PARTIAL_FRAMES (its complete frames, which a
// repair must keep).
func cmdCrashrec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: crashrec DIR PROG ARGS...")
	}
	root := ts.MkAbs(args[0])
	path := scriptLookPath(ts, args[1])
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = scriptEnv(ts)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ts.Check(cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			ts.Fatalf("%s ended on its own (%v): %s", args[1], err, stderr.String())
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			ts.Fatalf("%s: no recording with a final part and a .partial of two key frames in %s within 60 s", args[1], root)
		case <-time.After(20 * time.Millisecond):
		}
		rec, partial, frames := crashPoint(root)
		if partial == "" {
			continue
		}
		ts.Check(cmd.Process.Kill())
		<-exited
		rel, err := filepath.Rel(ts.MkAbs("."), partial)
		ts.Check(err)
		// Measured again once the process is dead: it may have written
		// more meanwhile.
		frames = completeFrames(partial)
		ts.Setenv("REC", rec)
		ts.Setenv("PARTIAL", rel)
		ts.Setenv("PARTIAL_FRAMES", strconv.FormatInt(frames, 10))
		ts.Logf("killed the recorder: %s has %d complete frames", rel, frames)
		return
	}
}

// crashPoint looks for a recording in root with a final part and a
// .partial of at least two complete key frames.
func crashPoint(root string) (rec, partial string, frames int64) {
	recs, _ := os.ReadDir(root)
	for _, r := range recs {
		dir := filepath.Join(root, r.Name())
		ents, _ := os.ReadDir(dir)
		final := false
		for _, e := range ents {
			final = final || strings.HasSuffix(e.Name(), ".webm")
		}
		for _, e := range ents {
			if !final || !strings.HasSuffix(e.Name(), ".webm.partial") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if rep := scanFile(p); rep != nil && rep.Keyframes >= 2 {
				return r.Name(), p, rep.Frames
			}
		}
	}
	return "", "", 0
}

func completeFrames(path string) int64 {
	if rep := scanFile(path); rep != nil {
		return rep.Frames
	}
	return -1
}

func scanFile(path string) *inspect.Report {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	rep, err := inspect.Scan(context.Background(), path, f, st.Size(), inspect.ScanOptions{})
	if err != nil {
		return nil
	}
	return rep
}

// scriptLookPath finds prog in the script's PATH.
func scriptLookPath(ts *testscript.TestScript, prog string) string {
	for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(d, prog); fileExists(p) {
			return p
		}
	}
	p, err := exec.LookPath(prog)
	ts.Check(err)
	return p
}

// scriptEnv is the environment a program started by a custom command gets:
// the script's PATH, HOME, TZ and WORK, and the Go and testscript variables
// that let the test binary act as reckit.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, kv := range []string{"PATH", "HOME", "TZ", "WORK"} {
		env = append(env, kv+"="+ts.Getenv(kv))
	}
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "GO") || strings.HasPrefix(e, "TESTSCRIPT") {
			env = append(env, e)
		}
	}
	return env
}

// writePart writes a part of frames synthetic VP8 frames (a key frame every
// 5) at path, tagged with the recorder's session ID; with frames 0 only the
// header, as a recorder killed before its first Cluster leaves it.
func writePart(t *testing.T, path, session string, frames int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mw, err := mux.NewWriter(f, mux.WriterOptions{Width: 160, Height: 120, FrameDuration: 100 * time.Millisecond,
		Tags: []mux.SimpleTag{{Name: mux.TagSession, Value: session}}})
	if err != nil {
		t.Fatal(err)
	}
	if frames == 0 {
		return // the header only: no Cluster, no Close
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < frames; i++ {
		if err := mw.WriteFrame(time.Duration(i)*100*time.Millisecond, i%5 == 0, testmedia.SynthVP8(rng, i%5 == 0, 160, 120, 300)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRepairRecordingParts covers what a crash can leave besides a .partial
// with frames: a complete part committed but not yet listed (listed now,
// with its hash and chain value), and a .partial without a single complete
// key frame (removed, reported as dropped whole).
func TestRepairRecordingParts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	if err := layout.Create(dir, layout.NewManifest("ws-1", "alice", "s1", "demo", start)); err != nil {
		t.Fatal(err)
	}
	name := func(n int) string {
		s, err := layout.FormatPartName(layout.PartName{Start: start.Add(time.Duration(n-1) * 2 * time.Second), Monitor: "m0", Number: n})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	writePart(t, filepath.Join(dir, name(1)), "s1", 20)
	empty := filepath.Join(dir, name(2)+".partial")
	writePart(t, empty, "s1", 0)
	st, err := os.Stat(empty)
	if err != nil {
		t.Fatal(err)
	}

	recs, err := repairRecording(context.Background(), &repairOptions{inPlace: true}, dir, t.Logf)
	if err != nil {
		t.Fatalf("repairRecording = %v", err)
	}
	if len(recs) != 2 || recs[0].Action != "listed" || recs[0].Frames != 20 || recs[1].Action != "removed" || recs[1].DroppedBytes != st.Size() {
		for _, r := range recs {
			t.Logf("record %+v", *r)
		}
		t.Fatalf("repairRecording: %d records; want part 1 listed with 20 frames, part 2 removed with its %d bytes dropped", len(recs), st.Size())
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("Stat(%s) = %v, want it removed", empty, err)
	}
	m, err := layout.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != layout.StateComplete || m.StopReason != layout.StopCrash || len(m.Parts) != 1 || len(m.Notes) != 3 {
		t.Fatalf("manifest: state %s, stop %q, %d parts, %d notes; want complete, crash, 1, 3 (one per part, one for the recording)", m.State, m.StopReason, len(m.Parts), len(m.Notes))
	}
	p := m.Parts[0]
	sum, size, err := layout.HashFile(filepath.Join(dir, name(1)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != name(1) || p.SHA256 != sum || p.SizeBytes != size || p.Frames != 20 || p.DurationMS != 2000 || p.Width != 160 || p.Height != 120 || p.SplitReason != layout.SplitStart {
		t.Errorf("part entry %+v; want %s, sha256 %s, %d bytes, 20 frames, 2000 ms, 160x120, split reason start", p, name(1), sum, size)
	}
	if err := m.VerifyChain(); err != nil {
		t.Errorf("VerifyChain = %v", err)
	}
	for i, want := range []string{"listed " + name(1), "removed " + name(2) + ".partial", "marked complete"} {
		if !strings.Contains(m.Notes[i].Text, want) {
			t.Errorf("note %d %q does not say %q", i, m.Notes[i].Text, want)
		}
	}
	if rec := inspect.CatalogDir(dir, inspect.CatalogOptions{}); rec.Verdict != inspect.OK {
		t.Errorf("CatalogDir verdict = %s (%s), want ok", rec.Verdict, rec.Reason)
	}
}

// newRecordingDir makes an empty recording directory of session s1 and
// returns it with a function naming its part n.
func newRecordingDir(t *testing.T) (string, func(n int) string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rec")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	if err := layout.Create(dir, layout.NewManifest("ws-1", "alice", "s1", "demo", start)); err != nil {
		t.Fatal(err)
	}
	return dir, func(n int) string {
		s, err := layout.FormatPartName(layout.PartName{Start: start.Add(time.Duration(n-1) * 2 * time.Second), Monitor: "m0", Number: n})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// snapshot returns every file of dir with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestRepairRecordingRefuses covers what repair must leave alone, writing
// nothing: a .partial damaged in the middle (frames may follow the damage),
// a part of another recording, and a recording under legal hold.
func TestRepairRecordingRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string, name func(int) string)
		want  string // in the error
	}{
		{"damaged in the middle", func(t *testing.T, dir string, name func(int) string) {
			p := filepath.Join(dir, name(1)+".partial")
			writePart(t, p, "s1", 20)
			// Zero the header of the 8th block: the walk stops there as
			// corrupt, with 12 frames after it.
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			r := mux.NewReader(f, mux.ReaderOptions{})
			var off int64
			for i := 0; i < 8; i++ {
				b, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				off = b.Offset
			}
			f.Close()
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			copy(data[off:off+8], make([]byte, 8))
			if err := os.WriteFile(p, data, 0o640); err != nil {
				t.Fatal(err)
			}
		}, "corrupt"},
		{"part of another recording", func(t *testing.T, dir string, name func(int) string) {
			writePart(t, filepath.Join(dir, name(1)), "other-session", 20)
		}, `not a part of this recording (session "other-session", the manifest's "s1")`},
		{"legal hold", func(t *testing.T, dir string, name func(int) string) {
			writePart(t, filepath.Join(dir, name(1)+".partial"), "s1", 20)
			if err := layout.Update(dir, func(m *layout.Manifest) error {
				m.SetLock("bob", "case 123", time.Now())
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}, "locked (legal hold) by bob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, name := newRecordingDir(t)
			tc.setup(t, dir, name)
			before := snapshot(t, dir)
			recs, err := repairRecording(context.Background(), &repairOptions{inPlace: true}, dir, t.Logf)
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(recs) != 0 {
				t.Fatalf("repairRecording = %d records, %v; want an error saying %q", len(recs), err, tc.want)
			}
			after := snapshot(t, dir)
			delete(before, layout.RecordingLockName)
			delete(after, layout.RecordingLockName)
			if len(after) != len(before) {
				t.Errorf("files after: %d, before: %d; want the directory unchanged", len(after), len(before))
			}
			for n, c := range before {
				if after[n] != c {
					t.Errorf("%s changed; want the directory unchanged", n)
				}
			}
		})
	}
}

// repairCopy writes at dst what mux.Repair makes of src, as an earlier
// repair would have.
func repairCopy(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	s, err := mux.OpenSource(src, io.NewSectionReader(in, 0, st.Size()))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := mux.Repair(context.Background(), s, out); err != nil {
		t.Fatal(err)
	}
}

// TestRepairRecordingResumes: a repair killed after it committed a part
// (listed or not) but before it removed the .partial is finished by the
// next run, which removes the .partial only because the part is exactly
// its repair; a temporary output of a killed run is removed.
func TestRepairRecordingResumes(t *testing.T) {
	for _, listed := range []bool{false, true} {
		t.Run(fmt.Sprintf("listed=%v", listed), func(t *testing.T) {
			dir, name := newRecordingDir(t)
			p1 := filepath.Join(dir, name(1)+".partial")
			writePart(t, p1, "s1", 10)
			repairCopy(t, p1, filepath.Join(dir, name(1)))
			if listed {
				sum, size, err := layout.HashFile(filepath.Join(dir, name(1)))
				if err != nil {
					t.Fatal(err)
				}
				pn, err := layout.ParsePartName(name(1))
				if err != nil {
					t.Fatal(err)
				}
				if err := layout.Update(dir, func(m *layout.Manifest) error {
					return m.AppendPart(layout.Part{Name: name(1), SHA256: sum, SizeBytes: size, Frames: 10,
						Start: pn.Start, End: pn.Start.Add(time.Second), DurationMS: 1000})
				}); err != nil {
					t.Fatal(err)
				}
			}
			writePart(t, filepath.Join(dir, name(2)+".partial"), "s1", 10)
			writePart(t, filepath.Join(dir, name(2)+".tmp-12345"), "s1", 3)
			recs, err := repairRecording(context.Background(), &repairOptions{inPlace: true}, dir, t.Logf)
			if err != nil {
				t.Fatalf("repairRecording = %v", err)
			}
			if len(recs) != 2 || recs[0].Action != "verified" || recs[1].Action != "repaired" || recs[1].Frames != 10 {
				for _, r := range recs {
					t.Logf("record %+v", *r)
				}
				t.Fatalf("repairRecording: %d records; want part 1 verified, part 2 repaired with 10 frames", len(recs))
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if n := e.Name(); strings.HasSuffix(n, ".partial") || strings.Contains(n, ".tmp-") {
					t.Errorf("directory still holds %s", n)
				}
			}
			m, err := layout.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Parts) != 2 || m.Parts[0].Name != name(1) || m.Parts[1].Name != name(2) {
				t.Errorf("manifest lists %d parts, want %s and %s", len(m.Parts), name(1), name(2))
			}
			if rec := inspect.CatalogDir(dir, inspect.CatalogOptions{}); rec.Verdict != inspect.OK {
				t.Errorf("CatalogDir verdict = %s (%s), want ok", rec.Verdict, rec.Reason)
			}
		})
	}
}

// TestRepairRecordingNeverChooses: a part next to a .partial whose repair
// gives other bytes (a copy recovered by hand with -o, say) is not taken
// for it: nothing is removed or listed.
func TestRepairRecordingNeverChooses(t *testing.T) {
	dir, name := newRecordingDir(t)
	p1 := filepath.Join(dir, name(1)+".partial")
	writePart(t, p1, "s1", 20)
	writePart(t, filepath.Join(dir, name(1)), "s1", 9) // fewer frames
	before := snapshot(t, dir)
	recs, err := repairRecording(context.Background(), &repairOptions{inPlace: true}, dir, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "differs from what repairing") || len(recs) != 0 {
		t.Fatalf("repairRecording = %d records, %v; want a refusal: the part differs from the .partial's repair", len(recs), err)
	}
	after := snapshot(t, dir)
	delete(before, layout.RecordingLockName)
	delete(after, layout.RecordingLockName)
	if len(after) != len(before) {
		t.Errorf("files after: %d, before: %d; want the directory unchanged", len(after), len(before))
	}
	for n, c := range before {
		if after[n] != c {
			t.Errorf("%s changed; want the directory unchanged", n)
		}
	}
}
