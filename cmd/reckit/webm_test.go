package main

import (
	"testing"
)

func TestRefuseTerminalWebM(t *testing.T) {
	tests := []struct {
		name     string
		tty      bool
		output   string
		wantCode int
	}{
		{"terminal default stdout", true, "", exitUsage},
		{"terminal explicit dash", true, "-", exitOK},
		{"terminal to file", true, "out.webm", exitOK},
		{"pipe default stdout", false, "", exitOK},
		{"pipe dash", false, "-", exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _ := fakeIO(tc.tty)
			err := refuseTerminalWebM(&globals{io: ios}, tc.output)
			if got := exitCode(t.Context(), err); got != tc.wantCode {
				t.Fatalf("exitCode(refuseTerminalWebM(tty=%v, %q)) = %d (%v), want %d", tc.tty, tc.output, got, err, tc.wantCode)
			}
			if err != nil && hintOf(err) == "" {
				t.Fatalf("refuseTerminalWebM(tty=%v, %q) = %v, want a hint", tc.tty, tc.output, err)
			}
		})
	}
}
