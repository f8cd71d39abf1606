package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"-width", "320", "-height", "180", "-frames", "6", "-key-every", "3", "-runs", "1", "-clips", "typing,drag"}, &stdout, &stderr)
	if reference == nil {
		// Default build: no libvpx to compare with.
		if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "built without libvpx") {
			t.Errorf("run() without libvpx = %d, stdout %q, stderr %q, want 2, nothing, \"built without libvpx\"", code, stdout.String(), stderr.String())
		}
		return
	}
	if code != 0 {
		t.Fatalf("run() = %d, stderr %s, want 0", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	want := []string{"| typing | key | 2 |", "| typing | inter | 4 |", "| drag | key | 2 |", "| drag | inter | 4 |"}
	if len(lines) != 2+len(want) {
		t.Fatalf("run() printed %d lines, want %d:\n%s", len(lines), 2+len(want), stdout.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[2+i], w) {
			t.Errorf("run() line %d = %s, want prefix %s", 2+i, lines[2+i], w)
		}
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-bogus"}},
		{"one frame", []string{"-frames", "1"}},
		{"no runs", []string{"-runs", "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(tc.args, &stdout, &stderr); code != 2 || stdout.Len() != 0 {
				t.Errorf("run(%q) = %d, stdout %q, want 2 and nothing", tc.args, code, stdout.String())
			}
		})
	}
}
