package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"github.com/reckit/reckit/internal/testmedia"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
	"github.com/reckit/reckit/retention"
	"github.com/rogpeppe/go-internal/testscript"
)

// The purge scripts' commands (testdata/script/purge_*.txtar).
func init() {
	scriptCmds["genrec"] = cmdGenrec
	scriptCmds["mtime"] = cmdMtime
	scriptCmds["reclock"] = cmdReclock
	scriptCmds["treelock"] = cmdTreelock
	scriptCmds["crashpurge"] = cmdCrashpurge
	scriptCmds["snap"] = cmdSnap
	scriptCmds["treediff"] = cmdTreediff
	scriptCmds["needtool"] = cmdNeedtool
	scriptCmds["killmidway"] = cmdKillmidway
}

// cmdKillmidway implements "killmidway [-INT] DIR N PROG ARGS...": start
// PROG (from the script's PATH, with its environment), wait until DIR
// holds fewer than N entries (the purge has deleted something), then
// SIGKILL it; with -INT, send SIGINT instead and require exit status 130.
// It fails if PROG ends on its own first.
func cmdKillmidway(ts *testscript.TestScript, neg bool, args []string) {
	sigint := len(args) > 0 && args[0] == "-INT"
	if sigint {
		args = args[1:]
	}
	if neg || len(args) < 3 {
		ts.Fatalf("usage: killmidway [-INT] DIR N PROG ARGS...")
	}
	dir := ts.MkAbs(args[0])
	var n int
	_, err := fmt.Sscan(args[1], &n)
	ts.Check(err)
	path, err := exec.LookPath(args[2])
	if err != nil {
		// LookPath uses this process's PATH; try the script's.
		for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
			if p := filepath.Join(d, args[2]); fileExists(p) {
				path, err = p, nil
				break
			}
		}
	}
	ts.Check(err)
	cmd := exec.Command(path, args[3:]...)
	cmd.Dir = ts.MkAbs(".")
	for _, kv := range []string{"PATH", "HOME", "TZ", "WORK"} {
		cmd.Env = append(cmd.Env, kv+"="+ts.Getenv(kv))
	}
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "GO") || strings.HasPrefix(e, "TESTSCRIPT") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ts.Check(cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			ts.Fatalf("%s ended on its own (%v) before DIR dropped below %d entries", args[2], err, n)
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			ts.Fatalf("%s: %s never dropped below %d entries", args[2], dir, n)
		default:
		}
		if ents, err := os.ReadDir(dir); err == nil && len(ents) < n {
			if sigint {
				ts.Check(cmd.Process.Signal(os.Interrupt))
				err := <-exited
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != exitInterrupted {
					ts.Fatalf("%s after SIGINT: %v, want exit status %d", args[2], err, exitInterrupted)
				}
				if !regexp.MustCompile(`^reckit: error: interrupted after [0-9]+ of [0-9]+ deletions \([0-9]+ not done\): context canceled\n$`).Match(stderr.Bytes()) {
					ts.Fatalf("%s after SIGINT: stderr %q", args[2], stderr.String())
				}
				ts.Logf("interrupted %s with %d entries left in %s", args[2], len(ents), args[0])
				return
			}
			ts.Check(cmd.Process.Kill())
			err := <-exited
			ts.Logf("killed %s with %d entries left in %s: %v", args[2], len(ents), args[0], err)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// cmdNeedtool implements "needtool PROG PACKAGE": fail, naming the Debian
// package, unless PROG is on PATH. Tests never skip for a missing tool.
func cmdNeedtool(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: needtool PROG PACKAGE")
	}
	if _, err := exec.LookPath(args[0]); err != nil {
		ts.Fatalf("%s is missing: install the Debian package %s (apt-get install %s)", args[0], args[1], args[1])
	}
}

// cmdGenrec implements "genrec DIR [flags]": a recording directory DIR
// (created, with its parents) with parts made by the mux writer and a
// manifest made by the layout package, every file's mtime set to the
// recording's end.
//
//	-device D     device (default ws-1)
//	-user U       user (default alice)
//	-age DUR      the recording ended DUR before now (default 1d; d allowed)
//	-parts N      parts p-001.webm ... (default 1)
//	-frames N     frames per part (default 10)
//	-state S      manifest state: complete (default), interrupted, recording
//	-lock BY:WHY  a legal hold
//	-count N      write N recordings DIR-001 ... DIR-N instead
//	-plain        write DIR as a plain WebM file instead (DateUTC its
//	              start, mtime its end; no manifest)
func cmdGenrec(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! genrec")
	}
	if len(args) < 1 {
		ts.Fatalf("usage: genrec DIR [flags]")
	}
	fs := flag.NewFlagSet("genrec", flag.ContinueOnError)
	device := fs.String("device", "ws-1", "")
	usr := fs.String("user", "alice", "")
	ageS := fs.String("age", "1d", "")
	nparts := fs.Int("parts", 1, "")
	frames := fs.Int("frames", 10, "")
	state := fs.String("state", layout.StateComplete, "")
	lock := fs.String("lock", "", "")
	plain := fs.Bool("plain", false, "")
	count := fs.Int("count", 0, "")
	if err := fs.Parse(args[1:]); err != nil {
		ts.Fatalf("genrec: %v", err)
	}
	if *count > 0 {
		rest := args[1:]
		for i, a := range rest {
			if a == "-count" && i+1 < len(rest) {
				rest = append(append([]string{}, rest[:i]...), rest[i+2:]...)
				break
			}
		}
		for i := 1; i <= *count; i++ {
			cmdGenrec(ts, false, append([]string{fmt.Sprintf("%s-%03d", args[0], i)}, rest...))
		}
		return
	}
	age, err := parseDuration(*ageS)
	if err != nil {
		ts.Fatalf("genrec: -age: %v", err)
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(dir), 0o755))
	end := time.Now().Add(-age).UTC().Truncate(time.Millisecond)
	start := end.Add(-time.Duration(*nparts) * time.Minute)
	rng := rand.New(rand.NewSource(int64(len(dir))))
	part := func(i int, ps time.Time) []byte {
		var buf testmedia.SeekBuffer
		w, err := mux.NewWriter(&buf, mux.WriterOptions{Width: 64, Height: 48, FrameDuration: 100 * time.Millisecond,
			DateUTC: ps, SegmentUID: bytes.Repeat([]byte{byte(i)}, 16)})
		ts.Check(err)
		for f := 0; f < *frames; f++ {
			ts.Check(w.WriteFrame(time.Duration(f)*100*time.Millisecond, f%5 == 0, testmedia.SynthVP8(rng, f%5 == 0, 64, 48, 100+rng.Intn(100))))
		}
		ts.Check(w.Close())
		return buf.Bytes
	}
	if *plain {
		ts.Check(os.WriteFile(dir, part(1, end.Add(-time.Duration(*frames)*100*time.Millisecond)), 0o644))
		ts.Check(os.Chtimes(dir, end, end))
		return
	}
	m := layout.NewManifest(*device, *usr, "sess-"+filepath.Base(dir), "demo", start)
	ts.Check(os.Mkdir(dir, 0o750))
	var files []string
	for i := 1; i <= *nparts; i++ {
		ps := start.Add(time.Duration(i-1) * time.Minute)
		b := part(i, ps)
		name := fmt.Sprintf("p-%03d.webm", i)
		ts.Check(os.WriteFile(filepath.Join(dir, name), b, 0o640))
		files = append(files, filepath.Join(dir, name))
		sum := sha256.Sum256(b)
		reason := layout.SplitStart
		if i > 1 {
			reason = layout.SplitDuration
		}
		ts.Check(m.AppendPart(layout.Part{Name: name, SizeBytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:]),
			Start: ps, End: ps.Add(time.Duration(*frames) * 100 * time.Millisecond), DurationMS: int64(*frames) * 100,
			Width: 64, Height: 48, Monitor: "m0", SplitReason: reason, Frames: int64(*frames)}))
	}
	m.State = *state
	if *state != layout.StateRecording {
		m.End, m.StopReason = end, layout.StopEndOfInput
	}
	if *lock != "" {
		by, why, _ := strings.Cut(*lock, ":")
		m.SetLock(by, why, end)
	}
	ts.Check(layout.Create(dir, m))
	files = append(files, layout.ManifestPath(dir), filepath.Join(dir, layout.ManifestLockName))
	for _, f := range files {
		ts.Check(os.Chtimes(f, end, end))
	}
}

// cmdMtime implements "mtime PATH AGE": set PATH's times to AGE ago.
func cmdMtime(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mtime PATH AGE")
	}
	age, err := parseDuration(args[1])
	ts.Check(err)
	t := time.Now().Add(-age)
	ts.Check(os.Chtimes(ts.MkAbs(args[0]), t, t))
}

// cmdReclock implements "reclock DIR": this test process takes DIR's
// recording lock, as a live recorder does, until the script ends. reckit
// runs as another process, so it sees the lock held.
func cmdReclock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: reclock DIR")
	}
	l, err := layout.AcquireRecordingLock(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(func() { l.Release() })
}

// cmdTreelock implements "treelock ROOT [HOLD]": this test process takes
// ROOT's purge lock, as a running purge does, until the script ends or,
// with HOLD, for HOLD and then releases it in the background.
func cmdTreelock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: treelock ROOT [HOLD]")
	}
	l, err := layout.AcquireTreeLock(context.Background(), ts.MkAbs(args[0]), 0)
	ts.Check(err)
	ts.Defer(func() { l.Release() })
	if len(args) == 2 {
		hold, err := parseDuration(args[1])
		ts.Check(err)
		time.AfterFunc(hold, func() { l.Release() })
	}
}

// cmdCrashpurge implements "crashpurge DIR": the state a purge killed
// half-way through DIR leaves: the manifest marked purging and the first
// part already deleted.
func cmdCrashpurge(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: crashpurge DIR")
	}
	dir := ts.MkAbs(args[0])
	m, err := layout.Read(dir)
	ts.Check(err)
	ts.Check(layout.MarkPurging(dir, time.Now()))
	if len(m.Parts) > 0 {
		ts.Check(os.Remove(filepath.Join(dir, m.Parts[0].Name)))
	}
}

// cmdSnap implements "snap DIR FILE": write to FILE one line per entry
// under DIR (symbolic links not followed), sorted: its path relative to
// DIR and its SHA-256 (files), link target (symlinks) or "dir".
func cmdSnap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: snap DIR FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(snapLines(ts, ts.MkAbs(args[0])), "\n")+"\n"), 0o644))
}

func snapLines(ts *testscript.TestScript, root string) []string {
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case rel == ".":
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			lines = append(lines, rel+" -> "+t)
		case d.IsDir():
			lines = append(lines, rel+" dir")
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			lines = append(lines, rel+" "+hex.EncodeToString(sum[:8]))
		}
		return nil
	})
	ts.Check(err)
	sort.Strings(lines)
	return lines
}

// cmdTreediff implements "treediff FILE DIR": compare DIR with the snap
// in FILE and print, sorted, "- PATH" for each entry gone, "+ PATH" for
// each new one and "~ PATH" for each changed one (to stdout, for the
// stdout and cmp commands).
func cmdTreediff(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: treediff FILE DIR")
	}
	w := ts.Stdout() // an empty diff still replaces stdout
	before := map[string]string{}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, v, ok := strings.Cut(sc.Text(), " "); ok {
			before[p] = v
		}
	}
	after := map[string]string{}
	for _, l := range snapLines(ts, ts.MkAbs(args[1])) {
		p, v, _ := strings.Cut(l, " ")
		after[p] = v
	}
	var out []string
	for p, v := range before {
		switch w, ok := after[p]; {
		case !ok:
			out = append(out, "- "+p)
		case w != v:
			out = append(out, "~ "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			out = append(out, "+ "+p)
		}
	}
	sort.Strings(out)
	for _, l := range out {
		fmt.Fprintln(w, l)
	}
}

func TestFreeValue(t *testing.T) {
	tests := []struct {
		in      string
		want    retention.Free
		wantErr bool
	}{
		{"15%", retention.Free{Percent: 15}, false},
		{"0.5%", retention.Free{Percent: 0.5}, false},
		{"100%", retention.Free{Percent: 100}, false},
		{"50GiB", retention.Free{Bytes: 50 << 30}, false},
		{"100MB", retention.Free{Bytes: 100e6}, false},
		{"1", retention.Free{Bytes: 1}, false},
		{"0", retention.Free{}, true},
		{"0%", retention.Free{}, true},
		{"101%", retention.Free{}, true},
		{"-5%", retention.Free{}, true},
		{"1e1%", retention.Free{}, true},
		{"%", retention.Free{}, true},
		{"NaN%", retention.Free{}, true},
		{"5 %", retention.Free{}, true},
		{"ten", retention.Free{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var got retention.Free
			err := (&freeValue{p: &got}).Set(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("freeValue.Set(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err == nil {
				var again retention.Free
				if err := (&freeValue{p: &again}).Set((&freeValue{p: &got}).String()); err != nil || again != got {
					t.Errorf("freeValue.Set(String()) = %+v, %v; want %+v", again, err, got)
				}
			}
		})
	}
}
