// Package main is the reckit command: the cobra tree, flag types,
// rendering (tables, JSON Lines, progress) and the mapping from errors to
// exit codes. It is the only package that touches os.Stdout, os.Exit,
// environment variables and signals; the libraries below it never do.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(Main())
}

// Main runs reckit with os.Args and the process's standard streams and
// returns the exit status documented in docs/exit-codes.md.
//
// SIGINT and SIGTERM cancel the command's context; commands stop at the next
// safe point and return an error wrapping context.Canceled (exit 130). A
// second signal is not caught: it ends the process at once.
func Main() int {
	ctx, stop := signalContext()
	defer stop()
	g := &globals{io: systemIO(), now: time.Now}
	return run(ctx, g, os.Args[1:])
}

// signalContext returns a context cancelled by the first SIGINT or SIGTERM.
// After that signal the default behaviour is restored, so that a second
// Ctrl-C kills a command that does not stop quickly enough.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// run executes the command line args against g and returns the exit status.
// Tests call it in process with fake streams.
func run(ctx context.Context, g *globals, args []string) int {
	return execute(ctx, g, newRootCommand(g), args)
}

// execute runs root, a tree built for g, with args and reports its error.
func execute(ctx context.Context, g *globals, root *cobra.Command, args []string) int {
	if args == nil {
		// cobra falls back to os.Args when given nil.
		args = []string{}
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code := exitCode(ctx, err)
	if err != nil {
		if !g.json && jsonRequested(args) {
			// Flag parsing failed before --json was seen.
			g.json = true
		}
		reportError(g, cmd, err, code)
	}
	return code
}

// Exit statuses; docs/exit-codes.md is the contract.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitPartial     = 3
	exitInvalid     = 4
	exitInterrupted = 130
)

// exitCode maps the error a command returned to the process exit status.
// This switch is the only place where that mapping happens.
func exitCode(ctx context.Context, err error) int {
	var (
		usage   *usageError
		partial *partialError
		invalid *invalidMediaError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &partial):
		return exitPartial
	case errors.As(err, &invalid):
		return exitInvalid
	default:
		return exitFailure
	}
}

// jsonRequested reports whether args ask for JSON output before a "--"
// terminator. It is used only when cobra failed before parsing --json.
func jsonRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "--json=1":
			return true
		}
	}
	return false
}
