package record_test

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/layout"
)

// TestCrashChild is the recorder that TestCrashTrials kills: it records the
// demo source into RECKIT_CRASH_DIR until it is killed. It does nothing
// when run as a normal test.
func TestCrashChild(t *testing.T) {
	root := os.Getenv("RECKIT_CRASH_DIR")
	if root == "" {
		t.Log("helper process for TestCrashTrials; nothing to do here")
		return
	}
	src, err := record.OpenSource("demo", record.SourceOptions{Width: 320, Height: 240, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	opts := record.SessionOptions{Root: root, Device: "crash", User: "u", SessionID: "crash", Source: "demo",
		MaxPartSize: 400 << 10, KeyframeInterval: time.Second}
	record.RecordSession(context.Background(), src, opts)
}

// TestCrashTrials kills a recorder with SIGKILL at random moments and checks
// what a crash must leave: a manifest that parses and reads as
// interrupted, final parts that are ok, and a .partial part that is
// incomplete and that repair completes keeping every complete frame.
// RECKIT_CRASH_TRIALS sets the number of trials (make test-crash: 50).
func TestCrashTrials(t *testing.T) {
	trials := 4
	if n, err := strconv.Atoi(os.Getenv("RECKIT_CRASH_TRIALS")); err == nil && n > 0 {
		trials = n
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; i < trials; i++ {
		root := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RECKIT_CRASH_DIR="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(300+rng.Intn(1500)) * time.Millisecond
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		checkCrashed(t, i, delay, root)
	}
}

func checkCrashed(t *testing.T, trial int, delay time.Duration, root string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(root, "*"))
	if len(dirs) == 0 {
		t.Logf("trial %d (killed after %v): killed before the recording directory existed", trial, delay)
		return
	}
	dir := dirs[0]
	m, state, err := layout.ReadEffective(dir)
	if err != nil {
		if _, serr := os.Stat(layout.ManifestPath(dir)); os.IsNotExist(serr) {
			return // killed between mkdir and the first manifest write: nothing to read yet
		}
		t.Fatalf("trial %d (killed after %v): manifest unreadable: %v", trial, delay, err)
	}
	if state != layout.StateInterrupted {
		t.Errorf("trial %d: effective state %s, want interrupted", trial, state)
	}
	if err := m.VerifyChain(); err != nil {
		t.Errorf("trial %d: chain: %v", trial, err)
	}
	ents, _ := os.ReadDir(dir)
	repaired := int64(-1)
	defer func() {
		t.Logf("trial %d: killed after %v: %d parts listed, .partial repaired with %d complete frames (-1: none)", trial, delay, len(m.Parts), repaired)
	}()
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, ".webm"):
			if _, listed := m.Part(name); !listed {
				// Killed between the rename and the manifest update: the
				// part is complete, the manifest does not list it yet.
				if rep := scan(t, path); rep.Verdict != inspect.OK {
					t.Errorf("trial %d: unlisted part %s is %s (%s)", trial, name, rep.Verdict, rep.Reason)
				}
				continue
			}
			if rep := scan(t, path); rep.Verdict != inspect.OK {
				t.Errorf("trial %d: part %s is %s (%s), want ok", trial, name, rep.Verdict, rep.Reason)
			}
		case strings.HasSuffix(name, ".webm.partial"):
			rep := scan(t, path)
			if rep.Verdict != inspect.Incomplete {
				t.Errorf("trial %d: %s is %s, want incomplete", trial, name, rep.Verdict)
			}
			if rep.Frames == 0 {
				continue // killed before its first Cluster reached the disk
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			src, err := mux.OpenSource(path, f)
			if err != nil {
				f.Close()
				t.Errorf("trial %d: %s: %v", trial, name, err)
				continue
			}
			var out testmedia.SeekBuffer
			res, err := mux.Repair(context.Background(), src, &out)
			f.Close()
			if err != nil {
				t.Errorf("trial %d: repair %s: %v", trial, name, err)
				continue
			}
			repaired = res.Frames
			if res.Frames != rep.Frames {
				t.Errorf("trial %d: repair of %s kept %d frames, %d were complete", trial, name, res.Frames, rep.Frames)
			}
			again, err := inspect.Scan(context.Background(), "repaired", bytes.NewReader(out.Bytes), int64(len(out.Bytes)), inspect.ScanOptions{})
			if err != nil || again.Verdict != inspect.OK {
				t.Errorf("trial %d: repaired %s is %v (%v)", trial, name, again.Verdict, err)
			}
		}
	}
}

func scan(t *testing.T, path string) *inspect.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := inspect.Scan(context.Background(), path, f, st.Size(), inspect.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
