// Package testx starts the real X11 and VNC programs reckit's tests
// check it against (Xvnc, Xvfb, xterm, xdotool, x11vnc) and takes X11
// screenshots. Only _test.go files import it. A missing program fails the
// test with the Debian package to install (scripts/install-peers).
package testx

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NeedTool fails the test when a peer program is missing, naming the
// Debian package that provides it (scripts/install-peers installs it).
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (scripts/install-peers)", name, pkg)
	}
	return p
}

// XServer is an X server started by a test: Xvnc (with its RFB socket) or
// Xvfb.
type XServer struct {
	Display string // ":N"
	Sock    string // Xvnc's RFB unix socket, "" for Xvfb
	Dir     string
}

// StartX starts prog (Xvnc or Xvfb) with -displayfd so it picks a free
// display; extra are added to its arguments. It is killed at cleanup.
func StartX(t testing.TB, prog, pkg string, extra ...string) *XServer {
	t.Helper()
	NeedTool(t, prog, pkg)
	dir := t.TempDir()
	xs := &XServer{Dir: dir}
	args := []string{"-displayfd", "3", "-nolisten", "tcp"}
	if prog == "Xvnc" {
		xs.Sock = filepath.Join(dir, "rfb.sock")
		args = append(args, "-rfbunixpath", xs.Sock, "-rfbport", "-1", "-UseBlacklist=0")
	}
	args = append(args, extra...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, args...)
	cmd.ExtraFiles = []*os.File{pw}
	logf, err := os.Create(filepath.Join(dir, prog+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prog, err)
	}
	pw.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(pr).ReadString('\n')
		pr.Close()
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if _, err := strconv.Atoi(s); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, prog+".log"))
			t.Fatalf("%s -displayfd wrote %q, want a display number; log:\n%s", prog, s, log)
		}
		xs.Display = ":" + s
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not report its display within 20 s", prog)
	}
	if xs.Sock != "" {
		WaitFor(t, 10*time.Second, func() bool { _, err := os.Stat(xs.Sock); return err == nil })
	}
	return xs
}

// WaitFor polls ok every 50 ms for up to d.
func WaitFor(t testing.TB, d time.Duration, ok func() bool) bool {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ok()
}

// Start starts a program on the X display, killed at cleanup.
func (xs *XServer) Start(t testing.TB, pkg, prog string, args ...string) *exec.Cmd {
	t.Helper()
	NeedTool(t, prog, pkg)
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+xs.Display)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prog, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// Run runs a program on the X display to completion.
func (xs *XServer) Run(t testing.TB, pkg, prog string, args ...string) {
	t.Helper()
	NeedTool(t, prog, pkg)
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+xs.Display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

// Xterm starts an xterm at the top left and moves the pointer over it, so
// that xdotool type reaches it.
func (xs *XServer) Xterm(t testing.TB) {
	t.Helper()
	xs.Start(t, "xterm", "xterm", "-geometry", "80x24+0+0", "-fa", "Monospace", "-fs", "10", "+cm", "+j", "-bg", "white", "-fg", "black", "-e", "/bin/sh")
	time.Sleep(700 * time.Millisecond)
	xs.Run(t, "xdotool", "xdotool", "mousemove", "100", "100")
}

// Screenshot returns the root window of the X display as RGBA (R, G, B,
// 255), read with the X11 protocol's GetImage (X Window System Protocol,
// section 8 and the GetImage request).
func (xs *XServer) Screenshot(t testing.TB) (w, h int, pix []byte) {
	t.Helper()
	n := strings.TrimPrefix(xs.Display, ":")
	c, err := net.Dial("unix", "/tmp/.X11-unix/X"+n)
	if err != nil {
		t.Fatalf("X11 connect %s: %v", xs.Display, err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// Connection setup: little-endian, protocol 11.0, no authorization.
	if _, err := c.Write([]byte{'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	var head [8]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		t.Fatal(err)
	}
	if head[0] != 1 {
		t.Fatalf("X11 setup refused (status %d)", head[0])
	}
	setup := make([]byte, 4*int(binary.LittleEndian.Uint16(head[6:])))
	if _, err := io.ReadFull(br, setup); err != nil {
		t.Fatal(err)
	}
	vlen := int(binary.LittleEndian.Uint16(setup[16:]))
	nfmt := int(setup[21])
	off := 32 + (vlen+3)&^3 + 8*nfmt
	scr := setup[off:]
	root := binary.LittleEndian.Uint32(scr[0:])
	w, h = int(binary.LittleEndian.Uint16(scr[20:])), int(binary.LittleEndian.Uint16(scr[22:]))
	depth := scr[38]
	if depth != 24 {
		t.Fatalf("X screen depth %d, want 24", depth)
	}
	req := make([]byte, 20)
	req[0], req[1] = 73, 2 // GetImage, ZPixmap
	binary.LittleEndian.PutUint16(req[2:], 5)
	binary.LittleEndian.PutUint32(req[4:], root)
	binary.LittleEndian.PutUint16(req[12:], uint16(w))
	binary.LittleEndian.PutUint16(req[14:], uint16(h))
	binary.LittleEndian.PutUint32(req[16:], 0xffffffff)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var rep [32]byte
	if _, err := io.ReadFull(br, rep[:]); err != nil {
		t.Fatal(err)
	}
	if rep[0] != 1 {
		t.Fatalf("X11 GetImage failed: error code %d", rep[1])
	}
	data := make([]byte, 4*int(binary.LittleEndian.Uint32(rep[4:])))
	if _, err := io.ReadFull(br, data); err != nil {
		t.Fatal(err)
	}
	if len(data) < 4*w*h {
		t.Fatalf("GetImage returned %d bytes for %dx%d", len(data), w, h)
	}
	pix = make([]byte, 4*w*h)
	for i := 0; i < w*h; i++ { // B, G, R, X in memory
		pix[4*i], pix[4*i+1], pix[4*i+2], pix[4*i+3] = data[4*i+2], data[4*i+1], data[4*i], 255
	}
	return w, h, pix
}

// VNCPasswordFile writes password in TigerVNC's obfuscated form (vncpasswd
// -f), for Xvnc -PasswordFile, the viewer's -PasswordFile and reckit's
// --password-file.
func VNCPasswordFile(t testing.TB, password string) string {
	t.Helper()
	NeedTool(t, "vncpasswd", "tigervnc-tools")
	cmd := exec.Command("vncpasswd", "-f")
	cmd.Stdin = strings.NewReader(password + "\n" + password + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vncpasswd -f: %v", err)
	}
	p := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
