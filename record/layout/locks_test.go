package layout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRecordingLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	if held, err := RecordingInProgress(dir); err != nil || held {
		t.Fatalf("RecordingInProgress(no lock file) = %v, %v, want false, nil", held, err)
	}
	l, err := AcquireRecordingLock(dir)
	if err != nil {
		t.Fatalf("AcquireRecordingLock: %v", err)
	}
	if held, err := RecordingInProgress(dir); err != nil || !held {
		t.Errorf("RecordingInProgress(held) = %v, %v, want true, nil", held, err)
	}
	// flock locks belong to the open file description: a second open in
	// the same process conflicts.
	if l2, err := AcquireRecordingLock(dir); !errors.Is(err, ErrInProgress) {
		t.Errorf("second AcquireRecordingLock = %v, %v, want ErrInProgress", l2, err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release = %v, want nil", err)
	}
	if held, err := RecordingInProgress(dir); err != nil || held {
		t.Errorf("RecordingInProgress(released) = %v, %v, want false, nil", held, err)
	}
	if _, err := os.Stat(filepath.Join(dir, RecordingLockName)); err != nil {
		t.Errorf("lock file after Release: %v, want it kept", err)
	}
	l3, err := AcquireRecordingLock(dir)
	if err != nil {
		t.Fatalf("AcquireRecordingLock after Release: %v", err)
	}
	l3.Release()
}

func TestRecordingLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	m := NewManifest("d", "u", "s", "demo", t0)
	if err := Create(dir, m); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, "hold-recording-lock", dir)
	if held, err := RecordingInProgress(dir); err != nil || !held {
		t.Fatalf("RecordingInProgress(held by helper) = %v, %v, want true, nil", held, err)
	}
	if _, state, err := ReadEffective(dir); err != nil || state != StateRecording {
		t.Errorf("ReadEffective(held) state = %q, %v, want recording", state, err)
	}
	if _, err := AcquireRecordingLock(dir); !errors.Is(err, ErrInProgress) {
		t.Errorf("AcquireRecordingLock(held by helper) = %v, want ErrInProgress", err)
	}
	if err := MarkPurging(dir, t0); !errors.Is(err, ErrInProgress) {
		t.Errorf("MarkPurging(held by helper) = %v, want ErrInProgress", err)
	}
	// The recorder crashes: the kernel drops its lock.
	h.cmd.Process.Kill()
	h.cmd.Wait()
	if held, err := RecordingInProgress(dir); err != nil || held {
		t.Errorf("RecordingInProgress(helper killed) = %v, %v, want false, nil", held, err)
	}
	got, state, err := ReadEffective(dir)
	if err != nil || state != StateInterrupted || got.State != StateRecording {
		t.Errorf("ReadEffective(helper killed) = state %q (stored %q), %v, want interrupted (stored recording)", state, got.State, err)
	}
}

func TestTreeLock(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	l, err := AcquireTreeLock(ctx, root, 0)
	if err != nil {
		t.Fatalf("AcquireTreeLock: %v", err)
	}
	if _, err := AcquireTreeLock(ctx, root, 0); !errors.Is(err, ErrTreeLocked) {
		t.Errorf("AcquireTreeLock(held, wait 0) = %v, want ErrTreeLocked", err)
	}
	start := time.Now()
	if _, err := AcquireTreeLock(ctx, root, 250*time.Millisecond); !errors.Is(err, ErrTreeLocked) {
		t.Errorf("AcquireTreeLock(held, wait 250ms) = %v, want ErrTreeLocked", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("AcquireTreeLock(held, wait 250ms) returned after %v, want at least 250ms", d)
	}
	cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := AcquireTreeLock(cctx, root, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AcquireTreeLock(held, ctx times out) = %v, want context.DeadlineExceeded", err)
	}
	// Released while another caller waits: the waiter gets it.
	go func() {
		time.Sleep(150 * time.Millisecond)
		l.Release()
	}()
	l2, err := AcquireTreeLock(ctx, root, 5*time.Second)
	if err != nil {
		t.Fatalf("AcquireTreeLock(released while waiting) = %v, want nil", err)
	}
	l2.Release()
}

func TestTreeLockAcrossProcesses(t *testing.T) {
	root := t.TempDir()
	h := startHelper(t, "hold-tree-lock", root)
	if _, err := AcquireTreeLock(context.Background(), root, 0); !errors.Is(err, ErrTreeLocked) {
		t.Errorf("AcquireTreeLock(held by helper) = %v, want ErrTreeLocked", err)
	}
	if code := h.wait(); code != 0 {
		t.Fatalf("helper exit code %d, want 0", code)
	}
	l, err := AcquireTreeLock(context.Background(), root, 0)
	if err != nil {
		t.Fatalf("AcquireTreeLock(helper gone) = %v, want nil", err)
	}
	l.Release()
}
