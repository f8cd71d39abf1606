package retention

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestPlanGolden pins the JSON of a plan's decisions (what purge --json
// prints per recording, docs/json.md) for a tree with every rule.
func TestPlanGolden(t *testing.T) {
	recs := []Recording{
		rec("/r/old", "ws-1", 100*day+3*time.Hour, 4000),
		rec("/r/new", "ws-1", 2*day, 3000),
		with(rec("/r/locked", "ws-2", 300*day, 2000), func(r *Recording) { r.Locked, r.LockedBy = true, "bob" }),
		with(rec("/r/live", "ws-3", 100*day, 1000), func(r *Recording) { r.InProgress = true }),
		with(rec("/r/damaged", "ws-3", 100*day, 1000), func(r *Recording) { r.Damaged, r.Verdict = true, "corrupt" }),
		with(rec("/r/purging", "ws-3", day, 500), func(r *Recording) { r.Purging = true }),
		with(rec("/r/chrome.webm", "", 120*day, 700), func(r *Recording) { r.Kind, r.User = "file", "" }),
		with(rec("/r/bob", "ws-4", 95*day, 900), func(r *Recording) { r.User = "bob" }),
		rec("/r/mid", "ws-5", 40*day, 6000),
		rec("/r/mid-older", "ws-5", 50*day, 6000),
		rec("/r/mid-oldest", "ws-5", 60*day, 6000),
	}
	p := Policy{OlderThan: 90 * day, MaxTotalSize: 20000, Users: []string{"alice", ""}, Grace: time.Hour, KeepLast: 1}
	plan := Apply(recs, p, now)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, d := range plan.Decisions {
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Encode(map[string]any{"kept": plan.Kept, "deleted": plan.Deleted, "kept_bytes": plan.KeptBytes,
		"delete_bytes": plan.DeleteBytes, "unmet": plan.Unmet}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("Apply() decisions =\n%s\nwant (%s)\n%s", b.String(), golden, want)
	}
}
