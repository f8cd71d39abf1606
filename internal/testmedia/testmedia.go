// Package testmedia makes real WebM test media at test time with the programs
// reckit's users check it against: ffmpeg/ffprobe (Debian package ffmpeg),
// mkvmerge/mkvinfo (Debian package mkvtoolnix) and headless Chromium's
// MediaRecorder (Debian package chromium).
//
// It is a test-only helper: every function takes a testing.TB and fails the
// test (t.Fatalf) when a tool is missing or misbehaves, naming the Debian
// package to install. It never skips a test. Files are written into the
// directory the caller passes (normally t.TempDir()); the caller owns them.
//
// Nothing here is hand-typed media: bytes come from the real tools, run with
// fixed parameters, so a test can assert frame counts and durations.
package testmedia

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// toolTimeout bounds one run of an external tool, so a hung tool fails the
// test instead of stalling the whole suite until go test's own deadline.
const toolTimeout = 3 * time.Minute

// stderrTail is how much of a tool's stderr a failure message quotes.
const stderrTail = 2000

// tools maps a tool name accepted by Require to the Debian package providing
// it.
var tools = map[string]string{
	"ffmpeg":   "ffmpeg",
	"ffprobe":  "ffmpeg",
	"mkvmerge": "mkvtoolnix",
	"mkvinfo":  "mkvtoolnix",
	"chromium": "chromium",
}

// chromiumNames are the executable names tried for "chromium", in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// lookTool returns the path of tool, or an error naming its Debian package.
func lookTool(tool string) (string, error) {
	pkg, ok := tools[tool]
	if !ok {
		return "", fmt.Errorf("testmedia: unknown tool %q (known: ffmpeg, ffprobe, mkvmerge, mkvinfo, chromium)", tool)
	}
	names := []string{tool}
	if tool == "chromium" {
		names = chromiumNames
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("testmedia: %s not found (install Debian package %s; make test installs it)", tool, pkg)
}

// Require fails the test unless every named tool is installed. Known tools:
// "ffmpeg", "ffprobe", "mkvmerge", "mkvinfo", "chromium". The failure message
// names the Debian package that provides the missing tool.
func Require(t testing.TB, names ...string) {
	t.Helper()
	for _, tool := range names {
		if _, err := lookTool(tool); err != nil {
			t.Fatal(err)
		}
	}
}

// result is what one tool run produced.
type result struct {
	stdout, stderr []byte
	code           int // exit code; -1 if the process did not exit normally
}

// run runs tool with args, feeding it nothing on stdin. If stdout is non-nil,
// the tool's stdout goes there instead of into result.stdout. A non-zero exit
// code is not an error; failing to start, or a timeout, is.
func run(tool string, stdout io.Writer, args ...string) (result, error) {
	path, err := lookTool(tool)
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Stderr = &errb
	err = cmd.Run()
	res := result{stdout: out.Bytes(), stderr: errb.Bytes(), code: 0}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("testmedia: %s %s: timed out after %v", tool, strings.Join(args, " "), toolTimeout)
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		return res, fmt.Errorf("testmedia: %s: %w", tool, err)
	}
	return res, nil
}

// mustRun runs tool and fails the test unless it exits 0.
func mustRun(t testing.TB, tool string, stdout io.Writer, args ...string) result {
	t.Helper()
	res, err := run(tool, stdout, args...)
	if err != nil {
		t.Fatal(err)
	}
	if res.code != 0 {
		t.Fatalf("testmedia: %s %s: exit status %d: %s", tool, strings.Join(args, " "), res.code, tail(res.stderr))
	}
	return res
}

// tail returns the last stderrTail bytes of b as trimmed text.
func tail(b []byte) string {
	if len(b) > stderrTail {
		b = b[len(b)-stderrTail:]
	}
	return strings.TrimSpace(string(b))
}

// Cut writes the first n bytes of in to out, simulating a recording
// interrupted after n bytes. It fails the test if in is shorter than n bytes.
func Cut(t testing.TB, in, out string, n int64) {
	t.Helper()
	if n < 0 {
		t.Fatalf("testmedia: Cut(%s, %d): negative length", in, n)
	}
	src, err := os.Open(in)
	if err != nil {
		t.Fatalf("testmedia: Cut: %v", err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		t.Fatalf("testmedia: Cut: %v", err)
	}
	copied, err := io.CopyN(dst, src, n)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testmedia: Cut(%s, %d): copied %d bytes: %v", in, n, copied, err)
	}
}

// Size returns the size of the file at path in bytes, failing the test if it
// cannot be stat'ed.
func Size(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	return fi.Size()
}
