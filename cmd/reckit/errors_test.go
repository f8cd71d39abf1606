package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestExitCode(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"nil", live, nil, 0},
		{"plain failure", live, errors.New("boom"), 1},
		{"wrapped fs error", live, fmt.Errorf("open x: %w", fs.ErrNotExist), 1},
		{"usage", live, &usageError{err: errors.New("bad flag")}, 2},
		{"usage with hint", live, withHint(usageErrorf(nil, "bad %s", "flag"), "try --help"), 2},
		{"wrapped usage", live, fmt.Errorf("pre-run: %w", &usageError{err: errors.New("x")}), 2},
		{"partial", live, &partialError{failed: 1, total: 3}, 3},
		{"wrapped partial", live, fmt.Errorf("purge: %w", &partialError{failed: 1, total: 3}), 3},
		{"invalid media", live, &invalidMediaError{invalid: 2, total: 5}, 4},
		{"interrupted", cancelled, fmt.Errorf("split: %w", context.Canceled), 130},
		{"canceled without a signal is a failure", live, context.Canceled, 1},
		{"other error after a signal is not 130", cancelled, errors.New("disk full"), 1},
		{"deadline is a failure", cancelled, context.DeadlineExceeded, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.ctx, tc.err); got != tc.want {
				t.Fatalf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"partial", &partialError{failed: 2, total: 7, noun: "recordings"}, "2 of 7 recordings failed"},
		{"partial default noun with cause", &partialError{failed: 1, total: 2, err: fs.ErrPermission}, "1 of 2 items failed: permission denied"},
		{"invalid", &invalidMediaError{invalid: 3, total: 10}, "3 of 10 files invalid"},
		{"hint keeps message", withHint(errors.New("no space left"), "free some"), "no space left"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
	if got := withHint(nil, "x"); got != nil {
		t.Fatalf("withHint(nil, x) = %v, want nil", got)
	}
	if got := hintOf(fmt.Errorf("outer: %w", withHint(errors.New("e"), "h"))); got != "h" {
		t.Fatalf("hintOf(wrapped) = %q, want %q", got, "h")
	}
}

// testTree returns a root for g with extra test commands whose RunE returns
// the error the test names.
func testTree(g *globals, errs map[string]error) *cobra.Command {
	root := newRootCommand(g)
	for name, err := range errs {
		root.AddCommand(&cobra.Command{
			Use:  name + " FILE",
			Args: cobra.ExactArgs(1),
			RunE: func(*cobra.Command, []string) error { return err },
		})
	}
	finishTree(root)
	return root
}

func TestExecuteReportsErrors(t *testing.T) {
	errs := map[string]error{
		"ok":       nil,
		"fail":     errors.New("cannot read x.webm: permission denied"),
		"hinted":   withHint(errors.New("disk full"), "free some space"),
		"partial":  &partialError{failed: 1, total: 2, noun: "files"},
		"invalid":  &invalidMediaError{invalid: 1, total: 1},
		"badcombo": usageErrorf(nil, "--json and --table are mutually exclusive"),
		"cancel":   fmt.Errorf("copy: %w", context.Canceled),
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"ok", context.Background(), []string{"ok", "f"}, 0, ""},
		{"ok quiet json", context.Background(), []string{"--json", "-q", "ok", "f"}, 0, ""},
		{"failure", context.Background(), []string{"fail", "f"}, 1,
			"reckit: error: cannot read x.webm: permission denied\n"},
		{"failure json", context.Background(), []string{"fail", "--json", "f"}, 1,
			`{"type":"error","code":1,"message":"cannot read x.webm: permission denied"}` + "\n"},
		{"hint", context.Background(), []string{"hinted", "f"}, 1,
			"reckit: error: disk full\nreckit: hint: free some space\n"},
		{"hint json", context.Background(), []string{"--json", "hinted", "f"}, 1,
			`{"type":"error","code":1,"message":"disk full","hint":"free some space"}` + "\n"},
		{"partial", context.Background(), []string{"partial", "f"}, 3,
			"reckit: error: 1 of 2 files failed\n"},
		{"invalid", context.Background(), []string{"invalid", "f"}, 4,
			"reckit: error: 1 of 1 files invalid\n"},
		{"usage from RunE", context.Background(), []string{"badcombo", "f"}, 2,
			"reckit: error: --json and --table are mutually exclusive\nUsage: reckit badcombo FILE [flags]\nRun 'reckit badcombo --help' for usage.\n"},
		{"arg count", context.Background(), []string{"ok"}, 2,
			"reckit: error: accepts 1 arg(s), received 0\nUsage: reckit ok FILE [flags]\nRun 'reckit ok --help' for usage.\n"},
		{"bad flag on subcommand", context.Background(), []string{"ok", "--nope", "f"}, 2,
			"reckit: error: unknown flag: --nope\nUsage: reckit ok FILE [flags]\nRun 'reckit ok --help' for usage.\n"},
		{"arg count json", context.Background(), []string{"--json", "ok", "a", "b"}, 2,
			`{"type":"error","code":2,"message":"accepts 1 arg(s), received 2"}` + "\n"},
		{"interrupted", cancelled, []string{"cancel", "f"}, 130,
			"reckit: error: copy: context canceled\n"},
		{"quiet keeps errors", context.Background(), []string{"-q", "fail", "f"}, 1,
			"reckit: error: cannot read x.webm: permission denied\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ios, out, errb := fakeIO(false)
			g := &globals{io: ios, now: time.Now}
			code := execute(tc.ctx, g, testTree(g, errs), tc.args)
			if code != tc.wantCode {
				t.Errorf("execute(%q) = %d, want %d", tc.args, code, tc.wantCode)
			}
			if out.Len() != 0 {
				t.Errorf("execute(%q) stdout = %q, want empty", tc.args, out.String())
			}
			if errb.String() != tc.wantStderr {
				t.Errorf("execute(%q) stderr = %q, want %q", tc.args, errb.String(), tc.wantStderr)
			}
		})
	}
}

func TestReportInterruptedBare(t *testing.T) {
	ios, _, errb := fakeIO(false)
	reportError(&globals{io: ios}, nil, context.Canceled, exitInterrupted)
	if got, want := errb.String(), "reckit: error: interrupted\n"; got != want {
		t.Fatalf("reportError(context.Canceled) wrote %q, want %q", got, want)
	}
}

func TestJSONRequested(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"none", []string{"info", "x"}, false},
		{"flag", []string{"--bogus", "--json"}, true},
		{"explicit true", []string{"--json=true"}, true},
		{"explicit false", []string{"--json=false"}, false},
		{"after terminator", []string{"info", "--", "--json"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonRequested(tc.args); got != tc.want {
				t.Fatalf("jsonRequested(%q) = %v, want %v", tc.args, got, tc.want)
			}
		})
	}
}

func TestLongHelp(t *testing.T) {
	got := longHelp("Check files.\n", exitInvalid, exitPartial, exitInvalid)
	want := "Check files.\n\nEXIT STATUS\n\n" +
		"    0    success, including when nothing matched\n" +
		"    1    failure\n" +
		"    2    usage error: bad command, flag, value or argument count\n" +
		"    3    partial: some items failed, the rest succeeded\n" +
		"    4    invalid media found\n" +
		"    130  interrupted by SIGINT or SIGTERM"
	if got != want {
		t.Fatalf("longHelp() = %q, want %q", got, want)
	}
	if !strings.HasSuffix(got, "SIGTERM") {
		t.Fatalf("longHelp() = %q, want no trailing newline", got)
	}
}

func TestNotesAndWarnings(t *testing.T) {
	tests := []struct {
		name        string
		json, quiet bool
		want        string
	}{
		{"plain", false, false, "reckit: wrote a.webm\nreckit: warning: disk almost full\n"},
		{"quiet", false, true, ""},
		{"json", true, false, `{"type":"warning","message":"disk almost full"}` + "\n"},
		{"json quiet", true, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ios, out, errb := fakeIO(true)
			g := &globals{io: ios, json: tc.json, quiet: tc.quiet}
			g.notef("wrote %s", "a.webm")
			g.warnf("disk almost %s", "full")
			if errb.String() != tc.want || out.Len() != 0 {
				t.Fatalf("notef+warnf: stderr %q, stdout %q; want %q, empty", errb.String(), out.String(), tc.want)
			}
		})
	}
}
