package main

import (
	"context"
	"encoding/json"
	"github.com/reckit/reckit/record/layout"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
	"github.com/reckit/reckit/record/rfb"
)

// viewFor connects an RFB client to addr (a unix socket) and reads
// messages for d, then disconnects.
func viewFor(t *testing.T, addr string, d time.Duration) {
	t.Helper()
	conn, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := rfb.NewClient(conn, rfb.Config{})
	if err != nil {
		conn.Close()
		t.Fatalf("NewClient through the proxy = %v", err)
	}
	conn.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	time.Sleep(d)
	c.Close()
	<-done
}

// webms lists the finished parts of the recording directories in dir.
func webms(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", "*.webm"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProxyRecordsEachViewer(t *testing.T) {
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "640x480", "-depth", "24", "-SecurityTypes", "None")
	xs.Xterm(t)
	testx.NeedTool(t, "ffprobe", "ffmpeg")
	dir := t.TempDir()
	listen := filepath.Join(t.TempDir(), "proxy.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ios, out, errb := fakeIO(false)
	g := &globals{io: ios, now: time.Now, json: true}
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, g, newRootCommand(g), []string{"proxy", "--json", "--listen", listen, "--target", xs.Sock, "--dir", dir, "--fps", "10"})
	}()
	if !testx.WaitFor(t, 10*time.Second, func() bool { _, err := os.Stat(listen); return err == nil }) {
		t.Fatalf("proxy did not listen on %s", listen)
	}
	// Viewer 1 disconnects: its recording is finalized while the proxy
	// keeps running.
	viewFor(t, listen, 1500*time.Millisecond)
	if !testx.WaitFor(t, 10*time.Second, func() bool { return len(webms(t, dir)) == 1 }) {
		t.Fatalf("after the first viewer left: recordings %v, want 1", webms(t, dir))
	}
	// Viewer 2 is still connected when the proxy is interrupted.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		cancel()
	}()
	viewFor(t, listen, 3*time.Second)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("proxy exit status %d, want 0; stderr %s", code, errb)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not stop within 10 s of the interrupt")
	}
	files := webms(t, dir)
	if len(files) != 2 {
		t.Fatalf("recordings %v, want 2", files)
	}
	if partial, _ := filepath.Glob(filepath.Join(dir, "*", "*.partial")); len(partial) != 0 {
		t.Errorf("left behind %v", partial)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d JSON lines, want 2:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var rec proxyRecord
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		if rec.Type != "recording" || rec.Target != xs.Sock || rec.Frames < 5 || rec.Width != 640 || rec.Height != 480 || len(rec.Parts) != 1 {
			t.Fatalf("recording line %+v, want type recording, target %s, one part of >= 5 frames of 640x480", rec, xs.Sock)
		}
		m, err := layout.Read(rec.Path)
		if err != nil || m.State != layout.StateComplete || m.Device != xs.Sock || m.User != rec.Viewer {
			t.Errorf("manifest of %s: %+v, %v: want complete, device = target, user = viewer", rec.Path, m, err)
		}
		probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
			"-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", rec.Parts[0]).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", rec.Parts[0], err)
		}
		want := "640,480," + strconv.FormatInt(rec.Frames, 10)
		if got := strings.TrimSpace(string(probe)); got != want {
			t.Errorf("ffprobe %s = %q, want %q", rec.Path, got, want)
		}
	}
}
