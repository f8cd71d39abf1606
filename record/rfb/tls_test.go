package rfb

import (
	"crypto/tls"
	"errors"
	"testing"
)

// TestChooseSecurity: with a TLS configuration VeNCrypt wins over the
// server's clear-text types; without one it is never chosen.
func TestChooseSecurity(t *testing.T) {
	tlsCfg := &tls.Config{}
	tests := []struct {
		name    string
		types   []byte
		cfg     Config
		want    uint32
		wantErr error
	}{
		{"none", []byte{SecNone}, Config{}, SecNone, nil},
		{"vnc with password", []byte{SecVNCAuth, SecNone}, Config{Password: []byte("x")}, SecNone, nil},
		{"vnc only", []byte{SecVNCAuth}, Config{Password: []byte("x")}, SecVNCAuth, nil},
		{"tls preferred over none", []byte{SecNone, SecVeNCrypt}, Config{TLS: tlsCfg}, SecVeNCrypt, nil},
		{"tls preferred over vnc", []byte{SecVNCAuth, SecVeNCrypt}, Config{TLS: tlsCfg, Password: []byte("x")}, SecVeNCrypt, nil},
		{"no tls config", []byte{SecNone, SecVeNCrypt}, Config{}, SecNone, nil},
		{"only VeNCrypt, no tls config", []byte{SecVeNCrypt}, Config{}, 0, ErrUnsupported},
		{"vnc without password", []byte{SecVNCAuth}, Config{}, 0, ErrAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseSecurity(tc.types, tc.cfg)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("chooseSecurity(%v) = %d, %v; want %d, %v", tc.types, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestSecurityName: the names match TigerVNC's SecurityTypes spelling.
func TestSecurityName(t *testing.T) {
	tests := []struct {
		in   uint32
		want string
	}{
		{SecNone, "None"}, {SecVNCAuth, "VncAuth"}, {SecX509None, "X509None"}, {SecX509Vnc, "X509Vnc"},
		{vencryptTLSVnc, "TLSVnc"}, {99, "security type 99"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := SecurityName(tc.in); got != tc.want {
				t.Errorf("SecurityName(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
