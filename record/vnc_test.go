package record

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

func TestVNCAddress(t *testing.T) {
	tests := []struct {
		network, rest string
		want          string
		wantErr       bool
	}{
		{"tcp", "//example.org:5901", "example.org:5901", false},
		{"tcp", "//example.org", "example.org:5900", false},
		{"tcp", "//example.org:2", "example.org:5902", false},
		{"tcp", "//:5905", "localhost:5905", false},
		{"tcp", "//[::1]:6000", "[::1]:6000", false},
		{"tcp", "", "localhost:5900", false},
		{"tcp", "//h:99999", "", true},
		{"tcp", "//h/path", "", true},
		{"unix", "///run/vnc.sock", "/run/vnc.sock", false},
		{"unix", "//host/x", "", true},
		{"unix", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.network+tc.rest, func(t *testing.T) {
			got, err := vncAddress(tc.network, tc.rest)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("vncAddress(%q, %q) = %q, %v, want %q (error %v)", tc.network, tc.rest, got, err, tc.want, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadOption) {
				t.Errorf("vncAddress(%q, %q) error %v does not wrap ErrBadOption", tc.network, tc.rest, err)
			}
		})
	}
}

// probeFrames returns WIDTHxHEIGHT of every frame ffprobe decodes.
func probeFrames(t *testing.T, path string) []string {
	t.Helper()
	testx.NeedTool(t, "ffprobe", "ffmpeg")
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=width,height",
		"-of", "csv=p=0:s=x", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.Fields(string(out))
}

func TestVNCRecordXvnc(t *testing.T) {
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "640x480", "-depth", "24", "-SecurityTypes", "None")
	testx.NeedTool(t, "xrandr", "x11-xserver-utils")
	xs.Xterm(t)
	src, err := OpenSource("vnc+unix://"+xs.Sock, SourceOptions{FPS: 10})
	if err != nil {
		t.Fatalf("OpenSource(vnc+unix://%s) = %v", xs.Sock, err)
	}
	defer src.Close()
	if info := src.Info(); info.Width != 640 || info.Height != 480 || info.FPSNum != 10 {
		t.Errorf("Info() = %+v, want 640x480 at 10 fps", info)
	}
	path := filepath.Join(t.TempDir(), "vnc.webm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(500 * time.Millisecond)
		xs.Run(t, "xdotool", "xdotool", "type", "--delay", "5", "echo hello from reckit\n")
		time.Sleep(500 * time.Millisecond)
		xs.Run(t, "x11-xserver-utils", "xrandr", "-s", "800x600")
		xs.Run(t, "xdotool", "xdotool", "type", "--delay", "5", "ls\n")
	}()
	st, err := Record(context.Background(), src, f, RecordOptions{Duration: 3 * time.Second})
	<-done
	if err != nil {
		t.Fatalf("Record = %v", err)
	}
	// 3 s at 10 fps is 30 ticks; a slow encoder (the race detector on a
	// loaded machine) skips ticks rather than falling behind.
	if st.Frames < 5 || st.Frames > 30 {
		t.Errorf("Record frames = %d, want 5..30 (3 s at 10 fps)", st.Frames)
	}
	if st.Duration < time.Second || st.Duration > 3100*time.Millisecond {
		t.Errorf("Record duration = %v, want 1..3.1 s (3 s less the ticks skipped at the end)", st.Duration)
	}
	if st.Resizes != 1 || st.Width != 800 || st.Height != 600 {
		t.Errorf("Record resizes %d, last size %dx%d, want 1 and 800x600", st.Resizes, st.Width, st.Height)
	}
	frames := probeFrames(t, path)
	if int64(len(frames)) != st.Frames {
		t.Errorf("ffprobe decoded %d frames, want %d", len(frames), st.Frames)
	}
	if len(frames) > 0 && (frames[0] != "640x480" || frames[len(frames)-1] != "800x600") {
		t.Errorf("frame sizes first %s last %s, want 640x480 then 800x600", frames[0], frames[len(frames)-1])
	}
}

// TestVNCIdleAndDisconnect: an idle screen still yields frames at the frame rate, with
// empty hints.
func TestVNCIdleAndDisconnect(t *testing.T) {
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "320x240", "-depth", "24", "-SecurityTypes", "None")
	conn, err := net.Dial("unix", xs.Sock)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewVNCSource(conn, "test", SourceOptions{FPS: 20, HideCursor: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	start := time.Now()
	var last Frame
	for i := 0; i < 10; i++ {
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("Next #%d = %v", i, err)
		}
		if i == 0 && f.Hints != nil {
			t.Errorf("first frame hints = %v, want nil (everything)", f.Hints)
		}
		if i > 2 && (f.Hints == nil || len(f.Hints) != 0) {
			t.Errorf("idle frame %d hints = %v, want empty", i, f.Hints)
		}
		// PTS sits on the 20 fps grid and increases; a tick the caller
		// was too late for is skipped, never queued (so a loaded machine
		// may skip some).
		if f.PTS%(50*time.Millisecond) != 0 || (i > 0 && f.PTS <= last.PTS) || (i == 0 && f.PTS != 0) {
			t.Errorf("frame %d PTS = %v after %v, want the next multiple of 50ms", i, f.PTS, last.PTS)
		}
		last = f
	}
	if el := time.Since(start); el < 400*time.Millisecond || el > 3*time.Second {
		t.Errorf("10 frames at 20 fps took %v, want about 450 ms", el)
	}
	if last.Img.Rect.Dx() != 320 || last.Img.Rect.Dy() != 240 {
		t.Errorf("frame size %v, want 320x240", last.Img.Rect)
	}
	// A connection that goes away ends the source with io.EOF, never a
	// hang.
	conn.Close()
	var nerr error
	for i := 0; i < 5 && nerr == nil; i++ {
		_, nerr = src.Next(ctx)
	}
	if !errors.Is(nerr, io.EOF) {
		t.Errorf("Next after disconnect = %v, want io.EOF", nerr)
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
