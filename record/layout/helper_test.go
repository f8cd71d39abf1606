package layout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// The test binary doubles as a helper process (a second process holding
// locks, writing notes, or crashing mid-write) when LAYOUT_TEST_HELPER is
// set; LAYOUT_TEST_DIR names the recording directory it works on.
func TestMain(m *testing.M) {
	if h := os.Getenv("LAYOUT_TEST_HELPER"); h != "" {
		os.Exit(runHelper(h, os.Getenv("LAYOUT_TEST_DIR")))
	}
	os.Exit(m.Run())
}

func runHelper(h, dir string) int {
	switch h {
	case "hold-recording-lock":
		l, err := AcquireRecordingLock(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin or kills us
		l.Release()
		return 0
	case "hold-tree-lock":
		l, err := AcquireTreeLock(context.Background(), dir, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin)
		l.Release()
		return 0
	case "add-notes":
		n, _ := strconv.Atoi(os.Getenv("LAYOUT_TEST_N"))
		for i := 0; i < n; i++ {
			err := Update(dir, func(m *Manifest) error {
				m.AddNote("pid"+strconv.Itoa(os.Getpid()), strconv.Itoa(i), time.Unix(0, 0))
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return 0
	case "crash-before-rename":
		// Die the way a power cut would: after the temporary manifest is
		// written and synced, before it is renamed over the old one.
		testHookBeforeRename = func(string) error { os.Exit(42); return nil }
		err := Update(dir, func(m *Manifest) error {
			m.AddNote("crasher", "never visible", time.Unix(0, 0))
			return nil
		})
		fmt.Fprintln(os.Stderr, "not crashed:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "unknown helper", h)
	return 2
}

// helper is a running helper process.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHelper starts helper h on dir and, for the hold-* helpers, waits
// until it reports that it holds its lock.
func startHelper(t *testing.T, h, dir string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"LAYOUT_TEST_HELPER=" + h, "LAYOUT_TEST_DIR=" + dir}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	hp := &helper{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		hp.stdin.Close()
		hp.cmd.Process.Kill()
		hp.cmd.Wait()
	})
	if len(h) > 5 && h[:5] == "hold-" {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if line != "held\n" {
			t.Fatalf("helper %s: first line %q, %v; want \"held\"", h, line, err)
		}
	}
	return hp
}

// wait waits for the helper to exit and returns its exit code.
func (h *helper) wait() int {
	h.stdin.Close()
	err := h.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
