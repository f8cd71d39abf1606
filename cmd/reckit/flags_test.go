package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string // substring; "" means success
	}{
		{"plain bytes", "512", 512, ""},
		{"zero", "0", 0, ""},
		{"B suffix", "512B", 512, ""},
		{"K", "4K", 4096, ""},
		{"k lowercase", "4k", 4096, ""},
		{"KiB", "4KiB", 4096, ""},
		{"kib any case", "4kib", 4096, ""},
		{"KB decimal", "4KB", 4000, ""},
		{"kB decimal", "4kB", 4000, ""},
		{"M", "512M", 512 << 20, ""},
		{"MiB", "512MiB", 512 << 20, ""},
		{"MB", "512MB", 512e6, ""},
		{"G", "2G", 2 << 30, ""},
		{"GB", "2GB", 2e9, ""},
		{"T", "3T", 3 << 40, ""},
		{"TiB", "3TiB", 3 << 40, ""},
		{"TB", "3TB", 3e12, ""},
		{"fraction", "1.5G", 3 << 29, ""},
		{"fraction decimal unit", "1.5KB", 1500, ""},
		{"leading dot", ".5K", 512, ""},
		{"trailing dot", "2.K", 2048, ""},
		{"max int64 bytes", "9223372036854775807", math.MaxInt64, ""},
		{"largest T", "8388607T", math.MaxInt64 - (1<<40 - 1), ""},
		{"overflow bytes", "9223372036854775808", 0, "too large"},
		{"overflow T", "8388608T", 0, "too large"},
		{"overflow TB", "9300000TB", 0, "too large"},
		{"overflow huge", strings.Repeat("9", 60) + "K", 0, "too large"},
		{"fractional bytes", "0.1K", 0, "not a whole number"},
		{"fractional plain", "1.5", 0, "not a whole number"},
		{"negative", "-1", 0, "negative"},
		{"negative unit", "-1G", 0, "negative"},
		{"empty", "", 0, "want a number"},
		{"unit only", "K", 0, "want a number"},
		{"garbage", "lots", 0, "want a number"},
		{"unknown unit", "12X", 0, `unknown size unit "X"`},
		{"exponent", "1e3", 0, `unknown size unit "e3"`},
		{"space", "1 K", 0, `unknown size unit " K"`},
		{"petabytes not supported", "1P", 0, `unknown size unit "P"`},
		{"two dots", "1.2.3K", 0, "malformed number"},
		{"dot only", ".K", 0, "malformed number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("parseSize(%q) = %d, %v, want %d, nil", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseSize(%q) = %d, %v, want error containing %q", tc.in, got, err, tc.wantErr)
			}
		})
	}
}

func TestFormatSizeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"zero", 0, "0"},
		{"bytes", 1000, "1000"},
		{"KiB", 4096, "4KiB"},
		{"MiB", 512 << 20, "512MiB"},
		{"not a whole KiB", 1<<20 + 1, "1048577"},
		{"GiB", 3 << 30, "3GiB"},
		{"TiB", 5 << 40, "5TiB"},
		{"max", math.MaxInt64, "9223372036854775807"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := formatSize(tc.in)
			if got != tc.want {
				t.Fatalf("formatSize(%d) = %q, want %q", tc.in, got, tc.want)
			}
			back, err := parseSize(got)
			if err != nil || back != tc.in {
				t.Fatalf("parseSize(formatSize(%d)) = %d, %v, want %d, nil", tc.in, back, err, tc.in)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{"days", "90d", 90 * day, ""},
		{"hours", "24h", 24 * time.Hour, ""},
		{"minutes", "10m", 10 * time.Minute, ""},
		{"hours minutes", "1h30m", 90 * time.Minute, ""},
		{"days hours", "2d12h", 60 * time.Hour, ""},
		{"fraction hours", "1.5h", 90 * time.Minute, ""},
		{"fraction days", "0.5d", 12 * time.Hour, ""},
		{"many fraction digits", "1.000001d", day + 86400*time.Microsecond, ""},
		{"ms", "500ms", 500 * time.Millisecond, ""},
		{"s", "30s", 30 * time.Second, ""},
		{"us", "250us", 250 * time.Microsecond, ""},
		{"micro sign", "250µs", 250 * time.Microsecond, ""},
		{"ns", "7ns", 7, ""},
		{"zero", "0", 0, ""},
		{"zero with unit", "0s", 0, ""},
		{"plus sign", "+5m", 5 * time.Minute, ""},
		{"all units", "1d1h1m1s1ms1us1ns", day + time.Hour + time.Minute + time.Second + time.Millisecond + time.Microsecond + 1, ""},
		{"max days", "106751d", 106751 * day, ""},
		{"overflow days", "106752d", 0, "too long"},
		{"overflow sum", "106751d24h", 0, "too long"},
		{"overflow digits", strings.Repeat("9", 50) + "s", 0, "too long"},
		{"weeks rejected", "2w", 0, `unknown duration unit "w"`},
		{"years rejected", "1y", 0, `unknown duration unit "y"`},
		{"capital H rejected", "1H", 0, `unknown duration unit "H"`},
		{"negative", "-1h", 0, "negative"},
		{"no unit", "90", 0, `missing unit after "90"`},
		{"trailing number", "1h30", 0, `missing unit after "30"`},
		{"empty", "", 0, "want a number"},
		{"plus only", "+", 0, "want a number"},
		{"unit only", "h", 0, "want a number"},
		{"inner minus", "1h-5m", 0, `unknown duration unit "h-"`},
		{"two dots", "1.2.3h", 0, "malformed number"},
		{"space", "1h 30m", 0, `unknown duration unit "h "`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDuration(tc.in)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("parseDuration(%q) = %v, %v, want %v, nil", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseDuration(%q) = %v, %v, want error containing %q", tc.in, got, err, tc.wantErr)
			}
		})
	}
}

func TestFormatDurationFlagRoundTrip(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"days", 90 * day, "90d"},
		{"days hours", 36 * time.Hour, "1d12h"},
		{"hours minutes", 90 * time.Minute, "1h30m"},
		{"minute and a half second", time.Minute + 500*time.Millisecond, "1m500ms"},
		{"ms", 500 * time.Millisecond, "500ms"},
		{"odd", 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second + 7, "3d4h5m6.000000007s"},
		{"max", math.MaxInt64, "106751d23h47m16.854775807s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := formatDurationFlag(tc.in)
			if got != tc.want {
				t.Fatalf("formatDurationFlag(%v) = %q, want %q", tc.in, got, tc.want)
			}
			back, err := parseDuration(got)
			if err != nil || back != tc.in {
				t.Fatalf("parseDuration(formatDurationFlag(%v)) = %v, %v, want %v, nil", tc.in, back, err, tc.in)
			}
		})
	}
}

// TestFlagValues checks the value types through pflag, as commands use them:
// the default shown in help, a good value and the error for a bad one.
func TestFlagValues(t *testing.T) {
	var (
		size   int64
		age    time.Duration
		format string
	)
	newSet := func() *pflag.FlagSet {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.SetOutput(&strings.Builder{})
		fs.Var(newSizeValue(512<<20, &size), "max-size", "split size")
		fs.Var(newDurationValue(90*24*time.Hour, &age), "older-than", "age")
		fs.Var(newEnumValue("format", []string{"table", "json"}, "table", &format), "format", "output format")
		return fs
	}
	tests := []struct {
		name      string
		args      []string
		wantSize  int64
		wantAge   time.Duration
		wantFmt   string
		wantErr   string
		wantUsage string // substring of FlagUsages
	}{
		{"defaults", nil, 512 << 20, 90 * 24 * time.Hour, "table", "", "--max-size size         split size (default 512MiB)"},
		{"set all", []string{"--max-size=1.5G", "--older-than", "2d12h", "--format", "json"}, 3 << 29, 60 * time.Hour, "json", "", "--older-than duration   age (default 90d)"},
		{"bad size", []string{"--max-size", "12X"}, 0, 0, "", `invalid argument "12X" for "--max-size" flag: unknown size unit "X"`, ""},
		{"bad duration", []string{"--older-than", "2w"}, 0, 0, "", `invalid argument "2w" for "--older-than" flag: unknown duration unit "w"`, ""},
		{"bad enum", []string{"--format", "xml"}, 0, 0, "", `invalid argument "xml" for "--format" flag: must be one of table, json`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := newSet()
			err := fs.Parse(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %v, want error containing %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want nil", tc.args, err)
			}
			if size != tc.wantSize || age != tc.wantAge || format != tc.wantFmt {
				t.Fatalf("Parse(%q) = size %d, age %v, format %q, want %d, %v, %q", tc.args, size, age, format, tc.wantSize, tc.wantAge, tc.wantFmt)
			}
			if u := newSet().FlagUsages(); !strings.Contains(u, tc.wantUsage) {
				t.Fatalf("FlagUsages() = %q, want it to contain %q", u, tc.wantUsage)
			}
		})
	}
}
