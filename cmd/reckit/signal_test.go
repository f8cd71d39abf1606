package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestSignalInterrupts sends this process a real SIGTERM while a command
// waits on its context, and checks status 130 and the message.
func TestSignalInterrupts(t *testing.T) {
	ctx, stop := signalContext()
	defer stop()
	ios, out, errb := fakeIO(false)
	g := &globals{io: ios, now: time.Now}
	root := newRootCommand(g)
	started := make(chan struct{})
	root.AddCommand(&cobra.Command{
		Use: "wait",
		RunE: func(cmd *cobra.Command, _ []string) error {
			close(started)
			select {
			case <-cmd.Context().Done():
				return cmd.Context().Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		},
	})
	done := make(chan int)
	go func() { done <- execute(ctx, g, root, []string{"wait"}) }()
	<-started
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitInterrupted || out.Len() != 0 || errb.String() != "reckit: error: interrupted\n" {
			t.Fatalf("execute(wait) after SIGTERM = %d, stdout %q, stderr %q; want 130, \"\", %q", code, out.String(), errb.String(), "reckit: error: interrupted\n")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("execute(wait) did not return within 5s of SIGTERM")
	}
	if context.Cause(ctx) == nil {
		t.Fatalf("context.Cause(ctx) = nil after SIGTERM, want the signal")
	}
}
