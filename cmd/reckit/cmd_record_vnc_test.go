package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

// TestRecordVNCPassword records Xvnc with VNC Authentication, the
// password coming from --password-file or $RECKIT_VNC_PASSWORD (never
// argv); a wrong one fails with exit 1 and leaves no file.
func TestRecordVNCPassword(t *testing.T) {
	testx.NeedTool(t, "vncpasswd", "tigervnc-tools")
	dir := t.TempDir()
	cmd := exec.Command("vncpasswd", "-f")
	cmd.Stdin = strings.NewReader("rightpw\nrightpw\n")
	obf, err := cmd.Output()
	if err != nil {
		t.Fatalf("vncpasswd -f: %v", err)
	}
	pwFile := filepath.Join(dir, "server.passwd")
	os.WriteFile(pwFile, obf, 0o600)
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "320x240", "-depth", "24",
		"-SecurityTypes", "VncAuth", "-PasswordFile", pwFile)
	right := filepath.Join(dir, "right.txt")
	wrong := filepath.Join(dir, "wrong.txt")
	os.WriteFile(right, []byte("rightpw\n"), 0o600)
	os.WriteFile(wrong, []byte("nope\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		env      string
		wantCode int
		wantErr  string
	}{
		{"password file", []string{"--password-file", right}, "", 0, ""},
		{"environment", nil, "rightpw", 0, ""},
		{"file wins over environment", []string{"--password-file", right}, "nope", 0, ""},
		{"wrong password", []string{"--password-file", wrong}, "", 1, "authentication failed"},
		{"no password", nil, "", 1, "requires a VNC password\nreckit: hint: give the VNC password with --password-file"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RECKIT_VNC_PASSWORD", tc.env) // restored after the test
			if tc.env == "" {
				os.Unsetenv("RECKIT_VNC_PASSWORD")
			}
			out := filepath.Join(dir, "rec"+string(rune('a'+i))+".webm")
			ios, stdout, stderr := fakeIO(false)
			g := &globals{io: ios, now: time.Now}
			args := append([]string{"record", "vnc+unix://" + xs.Sock, "-o", out, "--duration", "1s", "--fps", "5"}, tc.args...)
			code := execute(context.Background(), g, newRootCommand(g), args)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("reckit %v = %d, stderr %q; want %d containing %q", args, code, stderr, tc.wantCode, tc.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			_, serr := os.Stat(out)
			if (serr == nil) != (tc.wantCode == 0) {
				t.Errorf("output exists: %v, want %v", serr == nil, tc.wantCode == 0)
			}
		})
	}
}
