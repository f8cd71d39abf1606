package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestProxyTLSTigerVNCViewer runs reckit proxy with TLS on both sides
// between TigerVNC's viewer (under Xvfb, trusting the proxy's CA and
// asking for X509Vnc only) and Xvnc with X509Vnc: the password is relayed
// inside both TLS links, typing in the viewer reaches the server, the
// JSON line reports X509Vnc on both sides, and the recording decodes with
// ffmpeg.
func TestProxyTLSTigerVNCViewer(t *testing.T) {
	testx.NeedTool(t, "ffmpeg", "ffmpeg")
	testx.NeedTool(t, "ffprobe", "ffmpeg")
	pki := testx.NewTLS(t)
	pw := testx.VNCPasswordFile(t, "tls-pw1")
	server := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "640x480", "-depth", "24",
		"-SecurityTypes", "X509Vnc", "-PasswordFile", pw, "-X509Cert", pki.CertFile, "-X509Key", pki.KeyFile)
	server.Xterm(t)
	viewerX := testx.StartX(t, "Xvfb", "xvfb", "-screen", "0", "800x600x24")

	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ios, out, errb := fakeIO(false)
	g := &globals{io: ios, now: time.Now, json: true}
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, g, newRootCommand(g), []string{"proxy", "--json", "--listen", "127.0.0.1:" + port, "--target", server.Sock,
			"--dir", dir, "--fps", "10", "--tls-cert", pki.CertFile, "--tls-key", pki.KeyFile, "--tls-ca", pki.CAFile})
	}()
	if !testx.WaitFor(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close() // a connection that ends in the handshake records nothing
		}
		return err == nil
	}) {
		t.Fatalf("proxy did not listen on port %s", port)
	}

	t.Setenv("HOME", t.TempDir()) // the viewer keeps certificates under $HOME/.vnc
	viewer := viewerX.Start(t, "tigervnc-viewer", "xtigervncviewer", "-SecurityTypes", "X509Vnc", "-X509CA", pki.CAFile,
		"-PasswordFile", pw, "-geometry", "640x480+0+0", "-RemoteResize=0", "127.0.0.1::"+port)
	marker := filepath.Join(t.TempDir(), "typed-through-tls-proxy")
	if !testx.WaitFor(t, 20*time.Second, func() bool {
		cmd := exec.Command("xdotool", "search", "--name", "TigerVNC")
		cmd.Env = append(os.Environ(), "DISPLAY="+viewerX.Display)
		b, _ := cmd.Output()
		return len(bytes.TrimSpace(b)) > 0
	}) {
		t.Fatal("the viewer's window did not appear within 20 s")
	}
	time.Sleep(1500 * time.Millisecond)
	viewerX.Run(t, "xdotool", "xdotool", "search", "--sync", "--name", "TigerVNC", "windowfocus", "--sync")
	viewerX.Run(t, "xdotool", "xdotool", "mousemove", "100", "100")
	time.Sleep(300 * time.Millisecond)
	viewerX.Run(t, "xdotool", "xdotool", "type", "--delay", "20", "touch "+marker+"\n")
	if !testx.WaitFor(t, 10*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Fatalf("typing in the viewer did not reach the server through the TLS proxy: %s not created", marker)
	}
	time.Sleep(time.Second)
	viewer.Process.Kill() // the viewer leaves: its recording is finalized
	if !testx.WaitFor(t, 10*time.Second, func() bool { return len(webms(t, dir)) == 1 }) {
		t.Fatalf("after the viewer left: recordings %v, want 1", webms(t, dir))
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("proxy exit status %d, want 0; stderr %s", code, errb)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not stop within 10 s of the interrupt")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout has %d JSON lines, want 1:\n%s\nstderr:\n%s", len(lines), out, errb)
	}
	var rec proxyRecord
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("bad JSON line %q: %v", lines[0], err)
	}
	t.Logf("recording through the TLS proxy: %d frames, %d bytes, %d ms, %s", rec.Frames, rec.Bytes, rec.DurationMS, rec.StopReason)
	if rec.ViewerSecurity != "X509Vnc" || rec.ServerSecurity != "X509Vnc" {
		t.Errorf("viewer_security %q, server_security %q, want X509Vnc on both sides", rec.ViewerSecurity, rec.ServerSecurity)
	}
	if rec.Frames < 10 || rec.Width != 640 || rec.Height != 480 || len(rec.Parts) != 1 {
		t.Fatalf("recording %+v, want one part of >= 10 frames of 640x480", rec)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
		"-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", rec.Parts[0]).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", rec.Parts[0], err)
	}
	if got, want := strings.TrimSpace(string(probe)), "640,480,"+strconv.FormatInt(rec.Frames, 10); got != want {
		t.Errorf("ffprobe %s = %q, want %q", rec.Parts[0], got, want)
	}
	var stderr bytes.Buffer
	dec := exec.Command("ffmpeg", "-v", "error", "-i", rec.Parts[0], "-f", "null", "-")
	dec.Stderr = &stderr
	if err := dec.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("ffmpeg decode of %s: %v, %s; want a clean decode", rec.Parts[0], err, stderr.String())
	}
}

// TestRecordVNCTLS records Xvnc offering only VeNCrypt X509Vnc: with
// --tls-ca the recording is made over TLS; without it, or with a CA that
// did not sign the server's certificate, or a name the certificate does
// not carry, record fails (exit 1) and leaves no file.
func TestRecordVNCTLS(t *testing.T) {
	testx.NeedTool(t, "ffprobe", "ffmpeg")
	pki := testx.NewTLS(t)
	other := testx.NewTLS(t)
	dir := t.TempDir()
	pw := testx.VNCPasswordFile(t, "tls-pw2")
	pwPlain := filepath.Join(dir, "pw.txt")
	os.WriteFile(pwPlain, []byte("tls-pw2\n"), 0o600)
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "320x240", "-depth", "24",
		"-SecurityTypes", "X509Vnc", "-PasswordFile", pw, "-X509Cert", pki.CertFile, "-X509Key", pki.KeyFile)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"ca", []string{"--tls-ca", pki.CAFile}, 0, ""},
		{"ca and name", []string{"--tls-ca", pki.CAFile, "--tls-server-name", "localhost"}, 0, ""},
		{"no ca", nil, 1, "which needs a TLS configuration\nreckit: hint: give the CA of the server's certificate with --tls-ca FILE"},
		{"other ca", []string{"--tls-ca", other.CAFile}, 1, "certificate signed by unknown authority"},
		{"wrong name", []string{"--tls-ca", pki.CAFile, "--tls-server-name", "vnc.example"}, 1, "not vnc.example"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "rec"+strconv.Itoa(i)+".webm")
			ios, stdout, stderr := fakeIO(false)
			g := &globals{io: ios, now: time.Now}
			args := append([]string{"record", "vnc+unix://" + xs.Sock, "-o", out, "--duration", "1s", "--fps", "5", "--password-file", pwPlain}, tc.args...)
			code := execute(context.Background(), g, newRootCommand(g), args)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("reckit %v = %d, stderr %q; want %d containing %q", args, code, stderr, tc.wantCode, tc.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			_, serr := os.Stat(out)
			if (serr == nil) != (tc.wantCode == 0) {
				t.Fatalf("output exists: %v, want %v", serr == nil, tc.wantCode == 0)
			}
			if tc.wantCode != 0 {
				return
			}
			probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
				"-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", out).Output()
			if err != nil {
				t.Fatalf("ffprobe %s: %v", out, err)
			}
			if got := strings.TrimSpace(string(probe)); !strings.HasPrefix(got, "320,240,") || got == "320,240,0" {
				t.Errorf("ffprobe %s = %q, want 320,240 and some frames", out, got)
			}
		})
	}
}

// TestTLSServerName: the name a server certificate is checked against.
func TestTLSServerName(t *testing.T) {
	tests := []struct {
		name, flag, network, addr, spec string
		want                            string
	}{
		{"flag wins", "vnc1", "tcp", "10.0.0.5:5900", "vnc://10.0.0.5:5900", "vnc1"},
		{"host", "", "tcp", "vnc1.example.com:5900", "vnc://vnc1.example.com:1", "vnc1.example.com"},
		{"ip", "", "tcp", "10.0.0.5:5900", "vnc://10.0.0.5", "10.0.0.5"},
		{"ipv6", "", "tcp", "[::1]:5900", "vnc://[::1]:5901", "::1"},
		{"unix socket", "", "unix", "/run/vnc.sock", "vnc+unix:///run/vnc.sock", "localhost"},
		{"no host", "", "tcp", ":5900", "vnc://:5900", "localhost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tlsServerName(tc.flag, tc.network, tc.addr); got != tc.want {
				t.Errorf("tlsServerName(%q, %q, %q) = %q, want %q", tc.flag, tc.network, tc.addr, got, tc.want)
			}
			if got := vncServerName(tc.flag, tc.spec); got != tc.want {
				t.Errorf("vncServerName(%q, %q) = %q, want %q", tc.flag, tc.spec, got, tc.want)
			}
		})
	}
}
