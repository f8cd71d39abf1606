package rfb

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/internal/testx"
)

func handshake(t *testing.T, network, addr string, cfg Config) (*Client, error) {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := NewClient(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func TestXvncVNCAuth(t *testing.T) {
	pw := testx.VNCPasswordFile(t, "s3cret!x")
	xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "320x240", "-depth", "24",
		"-SecurityTypes", "VncAuth", "-PasswordFile", pw)
	tests := []struct {
		name     string
		password []byte
		wantErr  error
	}{
		{"right", []byte("s3cret!x"), nil},
		{"right, extra bytes ignored", []byte("s3cret!xyz"), nil},
		{"wrong", []byte("wrong"), ErrAuth},
		{"none", nil, ErrAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := handshake(t, "unix", xs.Sock, Config{Password: tc.password})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("NewClient(password %q) = %v, want %v", tc.password, err, tc.wantErr)
			}
			if err == nil {
				if c.Security != SecVNCAuth || c.Version != "3.8" {
					t.Errorf("security %d version %s, want %d 3.8", c.Security, c.Version, SecVNCAuth)
				}
				if _, err := c.ReadMessage(); err != nil {
					t.Errorf("ReadMessage after auth = %v", err)
				}
				c.FB.Lock()
				w, h := c.FB.W, c.FB.H
				c.FB.Unlock()
				if w != 320 || h != 240 {
					t.Errorf("framebuffer %dx%d, want 320x240", w, h)
				}
			}
		})
	}
}

func TestXvncVeNCrypt(t *testing.T) {
	certs := testx.NewTLS(t)
	cert, key := certs.CertFile, certs.KeyFile
	pw := testx.VNCPasswordFile(t, "tlspass1")
	tlsCfg := certs.ClientConfig("localhost")
	tests := []struct {
		name     string
		types    string
		cfg      Config
		wantSec  uint32
		wantErr  error
		errMatch string
	}{
		{"x509none", "X509None", Config{TLS: tlsCfg}, vencryptX509None, nil, ""},
		{"x509vnc", "X509Vnc", Config{TLS: tlsCfg, Password: []byte("tlspass1")}, vencryptX509Vnc, nil, ""},
		{"x509vnc wrong password", "X509Vnc", Config{TLS: tlsCfg, Password: []byte("nope")}, 0, ErrAuth, ""},
		{"anonymous TLS only", "TLSNone", Config{TLS: tlsCfg}, 0, ErrUnsupported, "anonymous TLS"},
		{"no TLS config", "X509None", Config{}, 0, ErrUnsupported, "VeNCrypt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			xs := testx.StartX(t, "Xvnc", "tigervnc-standalone-server", "-geometry", "320x240", "-depth", "24",
				"-SecurityTypes", tc.types, "-X509Cert", cert, "-X509Key", key, "-PasswordFile", pw)
			c, err := handshake(t, "unix", xs.Sock, tc.cfg)
			if !errors.Is(err, tc.wantErr) || (err != nil && !strings.Contains(err.Error(), tc.errMatch)) {
				t.Fatalf("NewClient(%s) = %v, want %v containing %q", tc.types, err, tc.wantErr, tc.errMatch)
			}
			if err != nil {
				return
			}
			if c.Security != tc.wantSec {
				t.Errorf("Security = %d, want %d", c.Security, tc.wantSec)
			}
			if _, err := c.ReadMessage(); err != nil {
				t.Errorf("ReadMessage over TLS = %v", err)
			}
		})
	}
}
