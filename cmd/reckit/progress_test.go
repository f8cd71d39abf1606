package main

import (
	"io"
	"strings"
	"testing"
)

func TestProgressOnlyOnTerminal(t *testing.T) {
	tests := []struct {
		name        string
		tty         bool
		quiet, json bool
		wantBar     bool
	}{
		{"terminal", true, false, false, true},
		{"piped", false, false, false, false},
		{"quiet", true, true, false, false},
		{"json", true, false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ios, out, errb := fakeIO(tc.tty)
			g := &globals{io: ios, quiet: tc.quiet, json: tc.json}
			p := newProgress(g, "scanning", 1000, true)
			p.update(500, 1000)
			p.update(1000, 2000) // total grew
			data := strings.Repeat("x", 3000)
			r := p.reader(strings.NewReader(data))
			b, err := io.ReadAll(r)
			if err != nil || string(b) != data {
				t.Fatalf("ReadAll(reader) = %d bytes, %v, want %d bytes, nil", len(b), err, len(data))
			}
			p.done()
			p.done() // idempotent
			if out.Len() != 0 {
				t.Errorf("progress wrote %q to stdout, want nothing", out.String())
			}
			if gotBar := errb.Len() > 0; gotBar != tc.wantBar {
				t.Errorf("progress wrote %q to stderr, want output = %v", errb.String(), tc.wantBar)
			}
			if tc.wantBar && !strings.Contains(errb.String(), "scanning") {
				t.Errorf("progress wrote %q, want the description", errb.String())
			}
		})
	}
}

func TestNilProgressIsNoop(t *testing.T) {
	var p *progress
	p.update(1, 2)
	r := strings.NewReader("abc")
	if got := p.reader(r); got != io.Reader(r) {
		t.Fatalf("nil progress reader(r) = %v, want r itself", got)
	}
	p.done()
}
