package layout

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, device, monitor string
	}{
		{"plain", "ws-042", "ws-042", "ws-042"},
		{"upper", "WS-ACME.Corp_1", "ws-acme.corp_1", "ws-acme.corp_1"},
		{"empty", "", UnknownDevice, DefaultMonitor},
		{"spaces and slash", "a b/c", "a_b_c", "a_b_c"},
		{"unicode", "Büro-PC", "b_ro-pc", "b_ro-pc"},
		{"invalid utf8", "a\xffb", "a_b", "a_b"},
		{"dots", "..", "..", ".."},
		{"long", strings.Repeat("x", 100), strings.Repeat("x", MaxDeviceLen), strings.Repeat("x", MaxMonitorLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SanitizeDevice(tc.in); got != tc.device {
				t.Errorf("SanitizeDevice(%q) = %q, want %q", tc.in, got, tc.device)
			}
			if got := SanitizeMonitor(tc.in); got != tc.monitor {
				t.Errorf("SanitizeMonitor(%q) = %q, want %q", tc.in, got, tc.monitor)
			}
		})
	}
}

func TestShortSession(t *testing.T) {
	// SHA-256("abc") = ba7816bf8f01cfea...
	if got := ShortSession("abc"); got != "ba7816bf" {
		t.Errorf("ShortSession(%q) = %q, want %q", "abc", got, "ba7816bf")
	}
}

func TestRecordingName(t *testing.T) {
	start := time.Date(2026, 11, 22, 5, 59, 13, 250e6, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		in      RecordingName
		want    string
		wantErr bool
	}{
		{"basic", NewRecordingName(start, "WS-042", "abc"), "20261122T045913Z-ws-042-ba7816bf", false},
		{"dash device", RecordingName{Start: start, Device: "a-b-c", Session: "0123abcd"}, "20261122T045913Z-a-b-c-0123abcd", false},
		{"empty device", RecordingName{Start: start, Session: "0123abcd"}, "20261122T045913Z-unknown-0123abcd", false},
		{"year 0", RecordingName{Start: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Device: "d", Session: "00000000"}, "00000101T000000Z-d-00000000", false},
		{"year 10000", RecordingName{Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Device: "d", Session: "00000000"}, "", true},
		{"bad session", RecordingName{Start: start, Device: "d", Session: "ABC"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatRecordingName(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadName) {
					t.Fatalf("FormatRecordingName(%+v) error = %v, want ErrBadName", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FormatRecordingName(%+v) = %q, %v, want %q", tc.in, got, err, tc.want)
			}
			back, err := ParseRecordingName(got)
			if err != nil {
				t.Fatalf("ParseRecordingName(%q) error %v", got, err)
			}
			if !back.Start.Equal(tc.in.Start.Truncate(time.Second)) || back.Device != SanitizeDevice(tc.in.Device) || back.Session != tc.in.Session {
				t.Errorf("ParseRecordingName(%q) = %+v, want fields of %+v", got, back, tc.in)
			}
		})
	}
}

func TestParseRecordingNameRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"20261122T055913Z",
		"20261122T055913Z-dev",
		"20261122T055913Z-dev-0123abc",    // short token
		"20261122T055913Z-dev-0123ABCD",   // upper hex
		"20261122T055913Z-Dev-0123abcd",   // not canonical
		"20261122T055913Z--0123abcd",      // empty device
		"20261122T055913Z-d/v-0123abcd",   // slash
		"20261122T055913.250Z-d-0123abcd", // ms in a dir name
		"20260230T055913Z-d-0123abcd",     // Feb 30
		"20261122T245913Z-d-0123abcd",     // hour 24
		"20261122X055913Z-d-0123abcd",
		"2026112aT055913Z-d-0123abcd",
		"20261122T055913Zxd-0123abcd",
	} {
		t.Run(s, func(t *testing.T) {
			if n, err := ParseRecordingName(s); !errors.Is(err, ErrBadName) {
				t.Errorf("ParseRecordingName(%q) = %+v, %v, want ErrBadName", s, n, err)
			}
		})
	}
}

func TestPartName(t *testing.T) {
	start := time.Date(2026, 11, 22, 5, 59, 13, 250_999_999, time.UTC)
	tests := []struct {
		name    string
		in      PartName
		want    string
		wantErr bool
	}{
		{"basic", PartName{Start: start, Monitor: "m0", Number: 1}, "20261122T055913.250Z-m0-001.webm", false},
		{"output name", PartName{Start: start, Monitor: "HDMI-1", Number: 12}, "20261122T055913.250Z-hdmi-1-012.webm", false},
		{"default monitor", PartName{Start: start, Number: 7}, "20261122T055913.250Z-m0-007.webm", false},
		{"four digits", PartName{Start: start, Monitor: "m1", Number: 1234}, "20261122T055913.250Z-m1-1234.webm", false},
		{"zero part", PartName{Start: start, Monitor: "m1", Number: 0}, "", true},
		{"huge part", PartName{Start: start, Monitor: "m1", Number: 1_000_000_000}, "", true},
		{"year -1", PartName{Start: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), Number: 1}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatPartName(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadName) {
					t.Fatalf("FormatPartName(%+v) error = %v, want ErrBadName", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FormatPartName(%+v) = %q, %v, want %q", tc.in, got, err, tc.want)
			}
			back, err := ParsePartName(got)
			if err != nil {
				t.Fatalf("ParsePartName(%q) error %v", got, err)
			}
			if !back.Start.Equal(tc.in.Start.Truncate(time.Millisecond)) || back.Monitor != SanitizeMonitor(tc.in.Monitor) || back.Number != tc.in.Number {
				t.Errorf("ParsePartName(%q) = %+v, want fields of %+v", got, back, tc.in)
			}
		})
	}
}

func TestParsePartNameRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"20261122T055913.250Z-m0-001", // no extension
		"20261122T055913.250Z-m0-001.webm.partial", // partial
		"20261122T055913.250Z-m0-01.webm",          // two digits
		"20261122T055913.250Z-m0-0001.webm",        // padded beyond 3
		"20261122T055913.250Z-m0-000.webm",         // part 0
		"20261122T055913.250Z-m0-1234567890.webm",  // too many digits
		"20261122T055913.250Z-M0-001.webm",         // not canonical
		"20261122T055913Z-m0-001.webm",             // no ms
		"20261122T055913.25xZ-m0-001.webm",
		"20261122T055913.250Z--001.webm",
		"20261122T055913.250Z-m0-+01.webm",
	} {
		t.Run(s, func(t *testing.T) {
			if n, err := ParsePartName(s); !errors.Is(err, ErrBadName) {
				t.Errorf("ParsePartName(%q) = %+v, %v, want ErrBadName", s, n, err)
			}
		})
	}
}

// TestNameSortOrder checks that sorting names as strings sorts them by
// start time, for parts (ms) and recordings (seconds).
func TestNameSortOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(1999, 12, 31, 23, 59, 0, 0, time.UTC).UnixMilli()
	monitors := []string{"m0", "m1", "hdmi-1", "zz"}
	type item struct {
		name  string
		start time.Time
	}
	var parts, recs []item
	for i := 0; i < 2000; i++ {
		start := time.UnixMilli(base + r.Int64N(40*365*24*3600*1000)).UTC()
		if i%10 == 0 { // near-equal times
			start = time.UnixMilli(base + int64(r.IntN(3))).UTC()
		}
		pn, err := FormatPartName(PartName{Start: start, Monitor: monitors[r.IntN(len(monitors))], Number: 1 + r.IntN(2000)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, item{pn, start})
		rn, err := FormatRecordingName(NewRecordingName(start, monitors[r.IntN(len(monitors))], pn))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, item{rn, start.Truncate(time.Second)})
	}
	for _, c := range []struct {
		name  string
		items []item
	}{{"parts", parts}, {"recordings", recs}} {
		t.Run(c.name, func(t *testing.T) {
			slices.SortFunc(c.items, func(a, b item) int { return strings.Compare(a.name, b.name) })
			for i := 1; i < len(c.items); i++ {
				if c.items[i].start.Before(c.items[i-1].start) {
					t.Fatalf("sorted names %q < %q but start %v > %v", c.items[i-1].name, c.items[i].name, c.items[i-1].start, c.items[i].start)
				}
			}
		})
	}
}

func TestPartialNames(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		partial bool
		final   string
		finalOK bool
	}{
		{"final", "a.webm", false, "", false},
		{"partial", "a.webm.partial", true, "a.webm", true},
		{"bare", ".partial", true, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPartial(tc.in); got != tc.partial {
				t.Errorf("IsPartial(%q) = %v, want %v", tc.in, got, tc.partial)
			}
			f, ok := FinalName(tc.in)
			if f != tc.final || ok != tc.finalOK {
				t.Errorf("FinalName(%q) = %q, %v, want %q, %v", tc.in, f, ok, tc.final, tc.finalOK)
			}
		})
	}
	if got := PartialName("x.webm"); got != "x.webm.partial" {
		t.Errorf("PartialName(%q) = %q, want %q", "x.webm", got, "x.webm.partial")
	}
}

func FuzzPartName(f *testing.F) {
	f.Add("20261122T055913.250Z-m0-001.webm")
	f.Add("20261122T055913.250Z-hdmi-1-1234.webm")
	f.Add("99991231T235959.999Z-x-999999999.webm")
	f.Add("20260230T055913.250Z-m0-001.webm")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParsePartName(s)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("ParsePartName(%q) error %v does not wrap ErrBadName", s, err)
			}
			// Formatting anything must yield a name that parses back.
			n = PartName{Start: time.UnixMilli(int64(len(s)%4096) * 123456789).UTC(), Monitor: s, Number: 1 + len(s)}
			name, err := FormatPartName(n)
			if err != nil {
				t.Fatalf("FormatPartName(%+v) error %v", n, err)
			}
			back, err := ParsePartName(name)
			if err != nil || back.Monitor != SanitizeMonitor(s) || back.Number != n.Number || !back.Start.Equal(n.Start) {
				t.Fatalf("ParsePartName(FormatPartName(%+v)) = %+v, %v", n, back, err)
			}
			return
		}
		got, err := FormatPartName(n)
		if err != nil || got != s {
			t.Fatalf("FormatPartName(ParsePartName(%q)) = %q, %v, want the input", s, got, err)
		}
	})
}

func FuzzRecordingName(f *testing.F) {
	f.Add("20261122T055913Z-ws-042-3f2a9c1e")
	f.Add("00000101T000000Z-..-00000000")
	f.Add("20261122T055913Z-a-b-c-0123abcd")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseRecordingName(s)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("ParseRecordingName(%q) error %v does not wrap ErrBadName", s, err)
			}
			n = NewRecordingName(time.Unix(int64(len(s)%128)*987654321, 0), s, s)
			name, err := FormatRecordingName(n)
			if err != nil {
				t.Fatalf("FormatRecordingName(%+v) error %v", n, err)
			}
			back, err := ParseRecordingName(name)
			if err != nil || back.Device != n.Device || back.Session != n.Session || !back.Start.Equal(n.Start) {
				t.Fatalf("ParseRecordingName(FormatRecordingName(%+v)) = %+v, %v", n, back, err)
			}
			return
		}
		got, err := FormatRecordingName(n)
		if err != nil || got != s {
			t.Fatalf("FormatRecordingName(ParseRecordingName(%q)) = %q, %v, want the input", s, got, err)
		}
	})
}
