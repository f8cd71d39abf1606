package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/record/layout"
)

// withSpill sets the spill threshold and fan-in for one test.
func withSpill(t *testing.T, threshold, fanIn int) {
	t.Helper()
	oldT, oldF := lsSpillThreshold, lsSpillFanIn
	lsSpillThreshold, lsSpillFanIn = threshold, fanIn
	t.Cleanup(func() { lsSpillThreshold, lsSpillFanIn = oldT, oldF })
}

// syntheticRecordings has many ties on every key, zero times, nil and
// empty resolutions, and strings that are not UTF-8.
func syntheticRecordings(n int) []*inspect.Recording {
	rng := rand.New(rand.NewSource(1))
	devices := []string{"", "ws-1", "WS-2", "ws-\xff", "ws-tab\there"}
	base := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	recs := make([]*inspect.Recording, n)
	for i := range recs {
		r := &inspect.Recording{
			Type:       "recording",
			Path:       fmt.Sprintf("root/%s/rec-%03d", devices[rng.Intn(len(devices))], rng.Intn(n)), // duplicates too
			Kind:       "directory",
			Device:     devices[rng.Intn(len(devices))],
			User:       "u\x80" + fmt.Sprint(i%3),
			SessionID:  fmt.Sprintf("s-%d", i),
			Title:      []string{"", "t"}[i%2],
			Start:      base.Add(time.Duration(rng.Intn(20)) * time.Minute),
			End:        base.Add(time.Duration(rng.Intn(40))*time.Minute + 123456789),
			DurationMS: int64(rng.Intn(5)) * 1000,
			Parts:      rng.Intn(4),
			Bytes:      int64(rng.Intn(5)) << 20,
			State:      "complete",
			InProgress: i%7 == 0,
			Verdict:    inspect.OK,
			Reason:     []string{"", "why"}[i%2],
			Locked:     i%5 == 0,
			LockedBy:   []string{"", "legal"}[i%5/4],
			Notes:      i % 3,
			ModTime:    base.Add(time.Duration(i) * time.Second),
		}
		switch i % 3 {
		case 0:
			r.Resolutions = nil
		case 1:
			r.Resolutions = []string{}
		case 2:
			r.Resolutions = []string{"160x120", "320x240"}
		}
		if i%11 == 0 {
			r.Start = time.Time{}
		}
		recs[i] = r
	}
	return recs
}

func TestLsSorterMatchesInMemorySort(t *testing.T) {
	const n = 300
	tests := []struct {
		name             string
		threshold, fanIn int
	}{
		{"in memory", n + 1, 64},
		{"one run", n, 64},
		{"one merge", 50, 64},
		{"multi-pass merge", 3, 2},
		{"multi-pass merge, fan-in 3", 7, 3},
		{"one record per run", 1, 4},
	}
	for _, tc := range tests {
		for _, key := range lsSortKeys {
			for _, reverse := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/reverse=%v", tc.name, key, reverse), func(t *testing.T) {
					withSpill(t, tc.threshold, tc.fanIn)
					want := syntheticRecordings(n)
					sortRecordings(want, key, reverse)
					s := newLsSorter(key, reverse)
					defer s.close()
					for _, r := range syntheticRecordings(n) {
						if err := s.add(r); err != nil {
							t.Fatal(err)
						}
					}
					var got []*inspect.Recording
					for r, err := range s.all() {
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, r)
					}
					if len(got) != len(want) {
						t.Fatalf("sorter yields %d recordings, want %d", len(got), len(want))
					}
					for i := range got {
						if !reflect.DeepEqual(got[i], want[i]) {
							t.Fatalf("recording %d = %+v, want %+v", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestLsSpillOutput runs ls over a tree with the spill path forced and
// compares every output mode with the in-memory path, byte for byte.
func TestLsSpillOutput(t *testing.T) {
	root := t.TempDir()
	rng := rand.New(rand.NewSource(2))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 40; i++ {
		dev := []string{"ws-1", "ws-2", "WS-3"}[i%3]
		dir := filepath.Join(root, dev, fmt.Sprintf("rec-%02d", i))
		if i == 5 {
			dir = filepath.Join(root, dev, "odd\tname\xff")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		m := layout.NewManifest(dev, []string{"alice", "bob"}[i%2], fmt.Sprintf("s-%d", i), "demo",
			start.Add(time.Duration(rng.Intn(10))*time.Hour))
		if err := layout.Create(dir, m); err != nil {
			t.Fatal(err)
		}
		// Plain files that are not WebM: sizes to sort by.
		name := filepath.Join(root, "plain", fmt.Sprintf("f-%02d.webm", i))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, bytes.Repeat([]byte{'x'}, rng.Intn(5)*100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	run := func(t *testing.T, threshold int, mode, key string, reverse bool) string {
		t.Helper()
		withSpill(t, threshold, 2)
		if threshold < 1000 {
			oldChunk := lsTableChunk
			lsTableChunk = 7 // piped rows rendered in chunks
			t.Cleanup(func() { lsTableChunk = oldChunk })
		}
		ios, out, _ := fakeIO(mode == "tty")
		g := &globals{io: ios, json: mode == "json", now: func() time.Time { return now }}
		opts := &lsOptions{sort: key, reverse: reverse, csv: mode == "csv"}
		if err := runLs(context.Background(), opts, g, []string{root}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if mode == "json" {
			// The summary's free space may change between runs: compare
			// the recordings and the counts.
			i := strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")
			summary := s[i+1:]
			if !strings.Contains(summary, `"recordings":80,"shown":80,"more":0,`) {
				t.Errorf("summary = %s, want 80 recordings, all shown", summary)
			}
			s = s[:i+1]
		}
		return s
	}
	for _, mode := range []string{"piped", "tty", "json", "csv"} {
		for _, key := range lsSortKeys {
			for _, reverse := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/reverse=%v", mode, key, reverse), func(t *testing.T) {
					want := run(t, 1000, mode, key, reverse)
					got := run(t, 3, mode, key, reverse)
					if strings.Count(want, "\n") < 80 {
						t.Fatalf("in-memory output has %d lines, want at least 80:\n%s", strings.Count(want, "\n"), want)
					}
					if got != want {
						t.Errorf("ls with spilling =\n%s\nwant (in memory)\n%s", got, want)
					}
				})
			}
		}
	}
}

// BenchmarkLsSorter sorts 10,000 recordings as ls does without --limit
// (with the default threshold: spilled in runs, merged on output).
func BenchmarkLsSorter(b *testing.B) {
	recs := syntheticRecordings(10000)
	for b.Loop() {
		s := newLsSorter("start", false)
		for _, r := range recs {
			if err := s.add(r); err != nil {
				b.Fatal(err)
			}
		}
		for _, err := range s.all() {
			if err != nil {
				b.Fatal(err)
			}
		}
		s.close()
	}
}
