package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"zero", 0, "0 B"},
		{"bytes", 1023, "1023 B"},
		{"one KiB", 1024, "1.0 KiB"},
		{"one and a half KiB", 1536, "1.5 KiB"},
		{"rounds down", 1024 + 51, "1.0 KiB"},
		{"rounds up", 1024 + 52, "1.1 KiB"},
		{"just under MiB rounds to next unit", 1<<20 - 1, "1.0 MiB"},
		{"512 MiB", 512 << 20, "512.0 MiB"},
		{"2 GB decimal", 2e9, "1.9 GiB"},
		{"TiB", 3 << 40, "3.0 TiB"},
		{"max", math.MaxInt64, "8.0 EiB"},
		{"negative", -1536, "-1.5 KiB"},
		{"min", math.MinInt64, "-8.0 EiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := humanBytes(tc.in); got != tc.want {
				t.Fatalf("humanBytes(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatClock(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0:00:00.000"},
		{"three seconds", 3 * time.Second, "0:00:03.000"},
		{"truncates to ms", 1500*time.Microsecond + 999, "0:00:00.001"},
		{"mixed", time.Hour + 2*time.Minute + 3*time.Second + 45*time.Millisecond, "1:02:03.045"},
		{"over a day", 27*time.Hour + 46*time.Minute + 40*time.Second + 250*time.Millisecond, "27:46:40.250"},
		{"negative", -1500 * time.Millisecond, "-0:00:01.500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatClock(tc.in); got != tc.want {
				t.Fatalf("formatClock(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func fakeIO(tty bool) (IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return IO{
		In:            strings.NewReader(""),
		Out:           &out,
		Err:           &errb,
		IsTerminalOut: func() bool { return tty },
		IsTerminalErr: func() bool { return tty },
	}, &out, &errb
}

func TestTablePiped(t *testing.T) {
	ios, out, _ := fakeIO(false)
	tb := newTable(ios, "NAME", "SIZE", "START", "DURATION", "PARTS")
	start := time.Date(2026, 11, 22, 6, 1, 56, 0, time.FixedZone("CET", 3600))
	tb.row("a.webm", byteCount(1536), start, 3*time.Second+250*time.Millisecond, 2)
	tb.row("tab\there\\new\nline", byteCount(0), time.Time{}, time.Duration(0), int64(-1))
	if err := tb.render(); err != nil {
		t.Fatalf("render() = %v, want nil", err)
	}
	want := "a.webm\t1536\t2026-11-22T05:01:56Z\t3250\t2\n" +
		"tab\\there\\\\new\\nline\t0\t\t0\t-1\n"
	if got := out.String(); got != want {
		t.Fatalf("piped table = %q, want %q", got, want)
	}
}

func TestTableTerminal(t *testing.T) {
	ios, out, _ := fakeIO(true)
	tb := newTable(ios, "NAME", "SIZE", "START", "DURATION")
	tb.loc = time.UTC
	tb.row("a.webm", byteCount(1536), time.Date(2026, 11, 22, 6, 1, 56, 0, time.UTC), 3*time.Second)
	tb.row("longer-name.webm", byteCount(2<<30), time.Time{}, 90*time.Minute)
	if err := tb.render(); err != nil {
		t.Fatalf("render() = %v, want nil", err)
	}
	want := "" +
		"NAME              SIZE     START                    DURATION\n" +
		"a.webm            1.5 KiB  2026-11-22 06:01:56 UTC  0:00:03.000\n" +
		"longer-name.webm  2.0 GiB  -                        1:30:00.000\n"
	if got := out.String(); got != want {
		t.Fatalf("terminal table =\n%s\nwant\n%s", got, want)
	}
}

type testRecord struct {
	Type  string `json:"type"`
	Bytes int64  `json:"size_bytes"`
	Note  string `json:"note,omitempty"`
}

type embeddedRecord struct {
	testRecord
	Extra string `json:"extra"`
}

type untypedRecord struct {
	Name string `json:"name"`
}

type hiddenTypeRecord struct {
	Type string `json:"-"`
	Kind string `json:"kind"`
}

func TestJSONL(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    string
		wantErr string
	}{
		{"struct", testRecord{Type: "file", Bytes: 42}, `{"type":"file","size_bytes":42}` + "\n", ""},
		{"pointer", &testRecord{Type: "file", Note: "<a&b>"}, `{"type":"file","size_bytes":0,"note":"<a&b>"}` + "\n", ""},
		{"embedded", embeddedRecord{testRecord{Type: "part"}, "x"}, `{"type":"part","size_bytes":0,"extra":"x"}` + "\n", ""},
		{"no type field", untypedRecord{Name: "x"}, "", "has no `json:\"type\"` field"},
		{"type field hidden", hiddenTypeRecord{Type: "x"}, "", "has no"},
		{"map", map[string]string{"type": "x"}, "", "has no"},
		{"nil", nil, "", "has no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := newJSONL(&buf).encode(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || buf.Len() != 0 {
					t.Fatalf("encode(%#v) = %v, wrote %q; want error containing %q and nothing written", tc.in, err, buf.String(), tc.wantErr)
				}
				return
			}
			if err != nil || buf.String() != tc.want {
				t.Fatalf("encode(%#v) = %v, wrote %q; want nil, %q", tc.in, err, buf.String(), tc.want)
			}
		})
	}
}
