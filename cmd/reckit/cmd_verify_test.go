package main

import (
	"bytes"
	"context"
	"flag"
	"github.com/reckit/reckit/internal/testmedia"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["mkrec"] = cmdMkrec
	scriptCmds["damage"] = cmdDamage
}

// cmdMkrec implements "mkrec DIR [flags]": it makes the recording
// directory DIR as the recorder does (parts written by the mux writer,
// hashed, appended to the manifest with the hash chain, layout.Create).
//
//	-parts N      parts (default 2)
//	-frames N     frames per part at 10 fps, key frame every 10 (default 20)
//	-device D -user U -session S
//	-start T      RFC 3339 start (default 2026-11-22T06:00:00Z)
//	-state S      manifest state (default complete)
func cmdMkrec(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mkrec")
	}
	if len(args) < 1 {
		ts.Fatalf("usage: mkrec DIR [flags]")
	}
	fs := flag.NewFlagSet("mkrec", flag.ContinueOnError)
	parts := fs.Int("parts", 2, "")
	frames := fs.Int("frames", 20, "")
	device := fs.String("device", "ws-1", "")
	user := fs.String("user", "alice", "")
	session := fs.String("session", "sess-1", "")
	startS := fs.String("start", "2026-11-22T06:00:00Z", "")
	state := fs.String("state", layout.StateComplete, "")
	if err := fs.Parse(args[1:]); err != nil {
		ts.Fatalf("mkrec: %v", err)
	}
	start, err := time.Parse(time.RFC3339, *startS)
	if err != nil {
		ts.Fatalf("mkrec: -start: %v", err)
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	m := layout.NewManifest(*device, *user, *session, "demo", start)
	at := start
	dur := time.Duration(*frames) * 100 * time.Millisecond
	for i := 1; i <= *parts; i++ {
		name := layout.PartName{Start: at, Monitor: "m0", Number: i}.String()
		path := filepath.Join(dir, name)
		var buf testmedia.SeekBuffer
		mw, err := mux.NewWriter(&buf, mux.WriterOptions{Width: 160, Height: 120, FrameDuration: 100 * time.Millisecond,
			DateUTC: at, SegmentUID: bytes.Repeat([]byte{byte(i)}, 16)})
		ts.Check(err)
		rng := rand.New(rand.NewSource(int64(i)))
		for f := 0; f < *frames; f++ {
			key := f%10 == 0
			ts.Check(mw.WriteFrame(time.Duration(f)*100*time.Millisecond, key, testmedia.SynthVP8(rng, key, 160, 120, 200+rng.Intn(300))))
		}
		ts.Check(mw.Close())
		ts.Check(os.WriteFile(path, buf.Bytes, 0o644))
		sum, size, err := layout.HashFile(path)
		ts.Check(err)
		reason := layout.SplitSize
		if i == 1 {
			reason = layout.SplitStart
		}
		ts.Check(m.AppendPart(layout.Part{Name: name, SizeBytes: size, SHA256: sum, Start: at, End: at.Add(dur),
			DurationMS: dur.Milliseconds(), Width: 160, Height: 120, Monitor: "m0", FPS: 10, SplitReason: reason, Frames: int64(*frames)}))
		at = at.Add(dur)
	}
	if *state != layout.StateRecording {
		ts.Check(m.SetState(*state))
		m.End = at
		m.StopReason = layout.StopSignal
	}
	ts.Check(layout.Create(dir, m))
}

// cmdDamage implements "damage FILE HOW": real defects for verify.
//
//	flip      flip one bit in the middle of frame 7's payload (structure
//	          intact: only a checksum sees it)
//	zero      zero 64 bytes from frame 12's block element on
//	overrun   make frame 5's block size field run far past its Cluster
//	cut PCT   keep the first PCT percent of the file
func cmdDamage(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! damage")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: damage FILE flip|zero|overrun|cut PCT")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	block := func(n int) *mux.Block {
		rd := mux.NewReader(bytes.NewReader(data), mux.ReaderOptions{})
		if _, err := rd.ReadHeader(); err != nil {
			ts.Fatalf("damage: %v", err)
		}
		for i := 0; ; i++ {
			b, err := rd.Next()
			if err != nil {
				ts.Fatalf("damage: frame %d: %v", n, err)
			}
			if i == n {
				c := *b
				return &c
			}
		}
	}
	switch args[1] {
	case "flip":
		b := block(7)
		data[b.DataOffset+b.DataSize/2] ^= 0x40
	case "zero":
		b := block(12)
		copy(data[b.Offset:], make([]byte, 64))
	case "overrun":
		b := block(5)
		data[b.Offset+1] = 0x01 // an 8-byte size field: far past the Cluster
	case "cut":
		if len(args) < 3 {
			ts.Fatalf("usage: damage FILE cut PCT")
		}
		pct, err := strconv.Atoi(args[2])
		ts.Check(err)
		data = data[:len(data)*pct/100]
	default:
		ts.Fatalf("damage: unknown defect %q", args[1])
	}
	ts.Check(os.WriteFile(path, data, 0o644))
}

// writePlain writes a complete plain WebM file of n frames at path.
func writePlain(t *testing.T, path string, n int) {
	t.Helper()
	var buf testmedia.SeekBuffer
	mw, err := mux.NewWriter(&buf, mux.WriterOptions{Width: 160, Height: 120, FrameDuration: 100 * time.Millisecond,
		DateUTC: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), Tags: []mux.SimpleTag{{Name: mux.TagDevice, Value: "ws-9"}}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		if err := mw.WriteFrame(time.Duration(i)*100*time.Millisecond, i%10 == 0, testmedia.SynthVP8(rng, i%10 == 0, 160, 120, 400)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLsTerminal checks the terminal form of ls: a table with a header and
// human units on stdout, the footer (totals, bytes per device, free space)
// on stderr; piped, neither header nor footer.
func TestLsTerminal(t *testing.T) {
	dir := t.TempDir()
	writePlain(t, filepath.Join(dir, "a.webm"), 30)
	writePlain(t, filepath.Join(dir, "b.webm"), 20)
	tests := []struct {
		name               string
		tty                bool
		stdout, stderr     []string
		noStdout, noStderr []string
	}{
		{"terminal", true,
			[]string{"DEVICE", "STATUS", "ws-9", "2026-11-22", "0:00:03.000", "KiB", "a.webm"},
			[]string{"2 recordings, 2 parts, ", "by device: ws-9 ", " free on "}, nil, nil},
		{"piped", false,
			[]string{"ws-9\t\t2026-11-22T06:00:00Z\t3000\t160x120\t1\t"},
			nil, []string{"DEVICE", "KiB"}, []string{"recordings"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ios, out, errb := fakeIO(tc.tty)
			g := &globals{io: ios, now: time.Now}
			opts := &lsOptions{sort: "start"}
			if err := runLs(context.Background(), opts, g, []string{dir}); err != nil {
				t.Fatalf("runLs = %v", err)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("ls stdout = %q, want %q in it", out, s)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("ls stderr = %q, want %q in it", errb, s)
				}
			}
			for _, s := range tc.noStdout {
				if strings.Contains(out.String(), s) {
					t.Errorf("ls stdout = %q, want no %q", out, s)
				}
			}
			for _, s := range tc.noStderr {
				if strings.Contains(errb.String(), s) {
					t.Errorf("ls stderr = %q, want no %q", errb, s)
				}
			}
		})
	}
}

// TestDefaultRecordingsDir checks the order verify, ls and lock rely on:
// $RECKIT_DIR, $XDG_VIDEOS_DIR, ~/Videos (no user-dirs.dirs here).
func TestDefaultRecordingsDir(t *testing.T) {
	tests := []struct {
		name, reckit, xdg, home, want string
	}{
		{"RECKIT_DIR", "/r", "/x", "/h", "/r"},
		{"XDG_VIDEOS_DIR", "", "/x", "/h", "/x/reckit"},
		{"home", "", "", "/h", "/h/Videos/reckit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RECKIT_DIR", tc.reckit)
			t.Setenv("XDG_VIDEOS_DIR", tc.xdg)
			t.Setenv("HOME", tc.home)
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			got, err := defaultRecordingsDir()
			if err != nil || got != tc.want {
				t.Errorf("defaultRecordingsDir() = %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

// TestVerifyTerminal runs verify with a terminal on stderr: the progress
// bar (sized by a first walk over the manifests) must not disturb stdout,
// and the closing note still comes.
func TestVerifyTerminal(t *testing.T) {
	dir := t.TempDir()
	writePlain(t, filepath.Join(dir, "a.webm"), 30)
	ios, out, errb := fakeIO(true)
	g := &globals{io: ios, now: time.Now}
	if err := runVerify(context.Background(), &verifyOptions{jobs: 2}, g, []string{dir}); err != nil {
		t.Fatalf("runVerify = %v", err)
	}
	if want := filepath.Join(dir, "a.webm") + ": ok\n"; out.String() != want {
		t.Errorf("verify stdout = %q, want %q", out, want)
	}
	if !strings.Contains(errb.String(), "reckit: verified 1 recording (1 file, ") {
		t.Errorf("verify stderr = %q, want the closing note", errb)
	}
}
