package retention

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// rec is a recording of device dev that ended ago before now, with n bytes.
func rec(path, dev string, ago time.Duration, n int64) Recording {
	end := now.Add(-ago)
	return Recording{Path: path, Kind: "directory", Device: dev, User: "alice", Start: end.Add(-time.Hour),
		End: end, Bytes: n, LastWrite: end, Filesystem: "fs1"}
}

func with(r Recording, f func(*Recording)) Recording { f(&r); return r }

// verdicts renders a plan as "path:action:rule" per decision.
func verdicts(p Plan) string {
	var b []string
	for _, d := range p.Decisions {
		b = append(b, fmt.Sprintf("%s:%s:%s", d.Path, d.Action, d.Rule))
	}
	return strings.Join(b, " ")
}

func TestApply(t *testing.T) {
	tests := []struct {
		name   string
		recs   []Recording
		policy Policy
		want   string
		unmet  int
	}{
		{
			name:   "older-than deletes only what ended before the cut-off",
			recs:   []Recording{rec("a", "ws1", 100*day, 10), rec("b", "ws1", 89*day, 10), rec("c", "ws2", 91*day, 10)},
			policy: Policy{OlderThan: 90 * day},
			want:   "a:delete:older-than b:keep:policy c:delete:older-than",
		},
		{
			name: "protections win over age",
			recs: []Recording{
				with(rec("locked", "ws1", 100*day, 10), func(r *Recording) { r.Locked = true }),
				with(rec("live", "ws1", 100*day, 10), func(r *Recording) { r.InProgress = true }),
				with(rec("fresh-write", "ws1", 100*day, 10), func(r *Recording) { r.LastWrite = now.Add(-time.Minute) }),
				with(rec("damaged", "ws1", 100*day, 10), func(r *Recording) { r.Damaged, r.Verdict = true, "corrupt" }),
				with(rec("unreadable", "ws1", 100*day, 10), func(r *Recording) { r.Unreadable = "manifest: invalid" }),
				with(rec("no-time", "ws1", 0, 10), func(r *Recording) { r.End, r.LastWrite = time.Time{}, time.Time{} }),
				rec("old", "ws1", 100*day, 10),
			},
			policy: Policy{OlderThan: 90 * day, Grace: time.Hour},
			want:   "locked:keep:locked live:keep:in-progress fresh-write:keep:grace damaged:keep:damaged unreadable:keep:unreadable no-time:keep:unknown-time old:delete:older-than",
		},
		{
			name:   "include-damaged deletes damaged recordings",
			recs:   []Recording{with(rec("damaged", "ws1", 100*day, 10), func(r *Recording) { r.Damaged = true })},
			policy: Policy{OlderThan: 90 * day, IncludeDamaged: true},
			want:   "damaged:delete:older-than",
		},
		{
			name: "an interrupted purge is finished whatever the policy, unless locked or live",
			recs: []Recording{
				with(rec("p", "ws9", time.Hour, 10), func(r *Recording) { r.Purging = true; r.LastWrite = now }),
				with(rec("pl", "ws9", time.Hour, 10), func(r *Recording) { r.Purging, r.Locked = true, true }),
			},
			policy: Policy{OlderThan: 90 * day, Devices: []string{"other"}, Grace: time.Hour, KeepLast: 5},
			want:   "p:delete:purging pl:keep:locked",
		},
		{
			name:   "device and user scope, device case-insensitive",
			recs:   []Recording{rec("a", "WS1", 100*day, 10), rec("b", "ws2", 100*day, 10), with(rec("c", "ws1", 100*day, 10), func(r *Recording) { r.User = "bob" })},
			policy: Policy{OlderThan: 90 * day, Devices: []string{"ws1"}, Users: []string{"alice"}},
			want:   "a:delete:older-than b:keep:scope c:keep:scope",
		},
		{
			name:   "keep-last protects the newest per device",
			recs:   []Recording{rec("a1", "ws1", 300*day, 10), rec("a2", "ws1", 200*day, 10), rec("a3", "ws1", 100*day, 10), rec("b1", "ws2", 300*day, 10)},
			policy: Policy{OlderThan: 90 * day, KeepLast: 2},
			want:   "a1:delete:older-than a2:keep:keep-last a3:keep:keep-last b1:keep:keep-last",
		},
		{
			name: "keep-last does not count a recording in progress",
			recs: []Recording{
				with(rec("live", "ws1", 0, 10), func(r *Recording) { r.InProgress = true }),
				rec("a1", "ws1", 300*day, 10), rec("a2", "ws1", 200*day, 10),
			},
			policy: Policy{OlderThan: 90 * day, KeepLast: 1},
			want:   "live:keep:in-progress a1:delete:older-than a2:keep:keep-last",
		},
		{
			name: "max-total-size deletes the oldest until the tree fits, counting kept bytes",
			recs: []Recording{
				with(rec("big-locked", "ws1", 500*day, 100), func(r *Recording) { r.Locked = true }),
				rec("r3", "ws1", 3*day, 30), rec("r1", "ws1", 10*day, 30), rec("r2", "ws1", 5*day, 30),
			},
			policy: Policy{MaxTotalSize: 140},
			want:   "big-locked:keep:locked r3:keep:policy r1:delete:max-total-size r2:delete:max-total-size",
		},
		{
			name:   "max-total-size already met deletes nothing",
			recs:   []Recording{rec("r1", "ws1", 10*day, 30), rec("r2", "ws1", 5*day, 30)},
			policy: Policy{MaxTotalSize: 60},
			want:   "r1:keep:policy r2:keep:policy",
		},
		{
			name:   "max-total-size that cannot be met is reported",
			recs:   []Recording{with(rec("l", "ws1", 10*day, 100), func(r *Recording) { r.Locked = true }), rec("r", "ws1", 5*day, 30)},
			policy: Policy{MaxTotalSize: 50},
			want:   "l:keep:locked r:delete:max-total-size",
			unmet:  1,
		},
		{
			name:   "keep-free in bytes counts age deletions first",
			recs:   []Recording{rec("old", "ws1", 100*day, 40), rec("r1", "ws1", 10*day, 30), rec("r2", "ws1", 5*day, 30), rec("r3", "ws1", 1*day, 30)},
			policy: Policy{OlderThan: 90 * day, KeepFree: Free{Bytes: 100}, Disks: map[string]Disk{"fs1": {Free: 20, Total: 1000}}},
			want:   "old:delete:older-than r1:delete:keep-free r2:delete:keep-free r3:keep:policy",
		},
		{
			name: "keep-free in percent, per file system",
			recs: []Recording{
				rec("a1", "ws1", 10*day, 50), rec("a2", "ws1", 5*day, 50),
				with(rec("b1", "ws1", 20*day, 50), func(r *Recording) { r.Filesystem = "fs2" }),
			},
			policy: Policy{KeepFree: Free{Percent: 10}, Disks: map[string]Disk{"fs1": {Free: 60, Total: 1000}, "fs2": {Free: 500, Total: 1000}}},
			want:   "a1:delete:keep-free a2:keep:policy b1:keep:policy",
		},
		{
			name:   "keep-free with an unknown file system deletes nothing there",
			recs:   []Recording{with(rec("x", "ws1", 10*day, 50), func(r *Recording) { r.Filesystem = "nfs" })},
			policy: Policy{KeepFree: Free{Percent: 50}, Disks: map[string]Disk{"fs1": {Free: 0, Total: 1000}}},
			want:   "x:keep:policy",
			unmet:  1,
		},
		{
			name:   "ties in age are broken by start time then path",
			recs:   []Recording{rec("b", "ws1", 10*day, 10), rec("a", "ws1", 10*day, 10), rec("c", "ws1", 10*day, 10)},
			policy: Policy{MaxTotalSize: 15},
			want:   "b:delete:max-total-size a:delete:max-total-size c:keep:policy",
		},
		{
			name:   "end unknown falls back to the last write",
			recs:   []Recording{with(rec("a", "ws1", 0, 10), func(r *Recording) { r.End = time.Time{}; r.LastWrite = now.Add(-100 * day) })},
			policy: Policy{OlderThan: 90 * day},
			want:   "a:delete:older-than",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Apply(tc.recs, tc.policy, now)
			if got := verdicts(p); got != tc.want {
				t.Errorf("Apply() = %s, want %s", got, tc.want)
			}
			if len(p.Unmet) != tc.unmet {
				t.Errorf("Apply().Unmet = %q, want %d entries", p.Unmet, tc.unmet)
			}
			checkInvariants(t, tc.recs, tc.policy, p)
		})
	}
}

func TestApplyReasonsAndTotals(t *testing.T) {
	recs := []Recording{rec("old", "ws1", 100*day+2*time.Hour, 40), rec("new", "ws1", 3*day, 25),
		with(rec("l", "ws1", 200*day, 7), func(r *Recording) { r.Locked, r.LockedBy = true, "bob" })}
	p := Apply(recs, Policy{OlderThan: 90 * day}, now)
	wantReasons := []string{
		"ended 100d2h ago, older than 90d",
		"ended 3d ago, not older than 90d",
		"locked (legal hold) by bob",
	}
	for i, want := range wantReasons {
		if got := p.Decisions[i].Reason; got != want {
			t.Errorf("Apply().Decisions[%d].Reason = %q, want %q", i, got, want)
		}
	}
	if p.Kept != 2 || p.Deleted != 1 || p.KeptBytes != 32 || p.DeleteBytes != 40 {
		t.Errorf("Apply() totals = kept %d (%d bytes), deleted %d (%d bytes), want 2 (32), 1 (40)", p.Kept, p.KeptBytes, p.Deleted, p.DeleteBytes)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		wantErr bool
	}{
		{"empty", Policy{}, true},
		{"only protections", Policy{KeepLast: 3, Devices: []string{"a"}, Grace: time.Hour}, true},
		{"age", Policy{OlderThan: day}, false},
		{"size", Policy{MaxTotalSize: 1}, false},
		{"free percent", Policy{KeepFree: Free{Percent: 5}}, false},
		{"percent over 100", Policy{KeepFree: Free{Percent: 101}}, true},
		{"negative", Policy{OlderThan: -1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if (err != nil) != tc.wantErr {
				t.Errorf("Validate(%+v) = %v, want error %v", tc.p, err, tc.wantErr)
			}
		})
	}
}

// checkInvariants checks what must hold for any input: one decision per
// recording in order, the protected ones kept, totals consistent, and the
// same plan for a permuted input.
func checkInvariants(t *testing.T, recs []Recording, p Policy, plan Plan) {
	t.Helper()
	if len(plan.Decisions) != len(recs) {
		t.Fatalf("Apply() gave %d decisions for %d recordings", len(plan.Decisions), len(recs))
	}
	var kept, deleted int
	for i, d := range plan.Decisions {
		r := recs[i]
		if d.Path != r.Path {
			t.Fatalf("Decisions[%d].Path = %q, want %q", i, d.Path, r.Path)
		}
		if d.Reason == "" || d.Rule == "" {
			t.Errorf("Decisions[%d] (%s) has no reason or rule", i, d.Action)
		}
		switch d.Action {
		case Keep:
			kept++
		case Delete:
			deleted++
			bad := ""
			switch {
			case r.Locked:
				bad = "locked"
			case r.InProgress:
				bad = "in progress"
			case r.Unreadable != "":
				bad = "unreadable"
			case r.Purging:
				// an interrupted purge is always finished
			case r.Damaged && !p.IncludeDamaged:
				bad = "damaged"
			case p.Grace > 0 && !r.LastWrite.IsZero() && r.LastWrite.After(now.Add(-p.Grace)):
				bad = "within grace"
			}
			if bad != "" {
				t.Errorf("Apply() deletes %q, which is %s", r.Path, bad)
			}
		default:
			t.Errorf("Decisions[%d].Action = %q", i, d.Action)
		}
	}
	if kept != plan.Kept || deleted != plan.Deleted || kept+deleted != len(recs) {
		t.Errorf("Apply() counts kept %d deleted %d, decisions say %d and %d of %d", plan.Kept, plan.Deleted, kept, deleted, len(recs))
	}
	if p.KeepLast > 0 {
		// The KeepLast newest (not in progress, not purging) of each
		// device are never deleted.
		byDev := map[string][]int{}
		for i, r := range recs {
			if !r.InProgress && !r.Purging {
				k := strings.ToLower(r.Device)
				byDev[k] = append(byDev[k], i)
			}
		}
		for _, idx := range byDev {
			for _, i := range idx {
				if plan.Decisions[i].Action != Delete {
					continue
				}
				asNew := 0 // others of the device that ended no earlier
				for _, j := range idx {
					if j != i && !endOf(recs[j]).Before(endOf(recs[i])) {
						asNew++
					}
				}
				if asNew < p.KeepLast {
					t.Errorf("Apply() deletes %q, among the %d newest of device %q", recs[i].Path, p.KeepLast, recs[i].Device)
				}
			}
		}
	}
	// Deterministic: the reversed input gives the same decision per path.
	rev := make([]Recording, len(recs))
	for i := range recs {
		rev[len(recs)-1-i] = recs[i]
	}
	plan2 := Apply(rev, p, now)
	for i := range recs {
		a, b := plan.Decisions[i], plan2.Decisions[len(recs)-1-i]
		if a.Action != b.Action || a.Rule != b.Rule {
			// Equal paths are indistinguishable; only compare unique ones.
			if countPath(recs, a.Path) == 1 {
				t.Errorf("Apply(reversed) decides %q %s/%s, Apply() %s/%s", a.Path, b.Action, b.Rule, a.Action, a.Rule)
			}
		}
	}
}

func endOf(r Recording) time.Time {
	if r.End.IsZero() {
		return r.LastWrite
	}
	return r.End
}

func countPath(recs []Recording, p string) int {
	n := 0
	for _, r := range recs {
		if r.Path == p {
			n++
		}
	}
	return n
}

// fuzzRecordings decodes data into recordings and a policy: 8 bytes per
// recording.
func fuzzRecordings(data []byte) ([]Recording, Policy) {
	var p Policy
	if len(data) >= 8 {
		h := data[:8]
		data = data[8:]
		p.OlderThan = time.Duration(h[0]%8) * 10 * day
		p.MaxTotalSize = int64(h[1]%4) * 100
		if h[2]%3 == 1 {
			p.KeepFree = Free{Bytes: int64(h[2]) * 3}
		} else if h[2]%3 == 2 {
			p.KeepFree = Free{Percent: float64(h[2] % 101)}
		}
		p.Disks = map[string]Disk{"fs0": {Free: int64(h[3]), Total: 1000}, "fs1": {Free: int64(h[3]) * 2, Total: 500}}
		p.KeepLast = int(h[4] % 4)
		if h[5]&1 != 0 {
			p.Devices = []string{"d0", "D1"}
		}
		if h[5]&2 != 0 {
			p.Users = []string{"u1"}
		}
		p.Grace = time.Duration(h[6]%3) * 12 * time.Hour
		p.IncludeDamaged = h[7]&1 != 0
	}
	var recs []Recording
	for len(data) >= 8 && len(recs) < 500 {
		b := data[:8]
		data = data[8:]
		flags := b[0]
		ago := time.Duration(binary.LittleEndian.Uint16(b[1:3])) * time.Hour
		r := Recording{
			Path:       fmt.Sprintf("r%d", b[3]%64),
			Kind:       "directory",
			Device:     fmt.Sprintf("d%d", b[4]%3),
			User:       fmt.Sprintf("u%d", b[5]%2),
			End:        now.Add(-ago),
			Start:      now.Add(-ago - time.Duration(b[6])*time.Minute),
			Bytes:      int64(b[7]) * 7,
			Locked:     flags&1 != 0,
			InProgress: flags&2 != 0,
			Purging:    flags&4 != 0,
			Damaged:    flags&8 != 0,
			Filesystem: fmt.Sprintf("fs%d", flags>>7),
		}
		r.LastWrite = r.End
		if flags&16 != 0 {
			r.LastWrite = now.Add(-time.Duration(b[6]) * time.Minute)
		}
		if flags&32 != 0 {
			r.End = time.Time{}
		}
		if b[6]%17 == 0 {
			r.Unreadable = "manifest: bad"
		}
		if flags&64 != 0 {
			r.Device = strings.ToUpper(r.Device)
		}
		recs = append(recs, r)
	}
	return recs, p
}

func FuzzApply(f *testing.F) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 8; i++ {
		b := make([]byte, 8+8*(i*3))
		rng.Read(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, p := fuzzRecordings(data)
		plan := Apply(recs, p, now)
		checkInvariants(t, recs, p, plan)
		if again := Apply(recs, p, now); !reflect.DeepEqual(plan, again) {
			t.Errorf("Apply() is not deterministic")
		}
	})
}

// manyRecordings returns n recordings over 1,000 devices and two years.
func manyRecordings(n int) []Recording {
	rng := rand.New(rand.NewSource(7))
	recs := make([]Recording, n)
	for i := range recs {
		end := now.Add(-time.Duration(rng.Int63n(int64(730 * day))))
		recs[i] = Recording{Path: fmt.Sprintf("/rec/%08d", i), Kind: "directory", Device: fmt.Sprintf("ws-%03d", rng.Intn(1000)),
			User: "u", Start: end.Add(-time.Hour), End: end, Bytes: rng.Int63n(1 << 30), LastWrite: end,
			Locked: rng.Intn(50) == 0, Damaged: rng.Intn(100) == 0, Filesystem: "fs"}
	}
	return recs
}

// BenchmarkApply100k plans over 100,000 recordings with every rule on;
// the product's budget is 2 s per plan (make bench, without -race).
func BenchmarkApply100k(b *testing.B) {
	recs := manyRecordings(100000)
	p := Policy{OlderThan: 90 * day, MaxTotalSize: 20 << 40, KeepFree: Free{Percent: 10},
		Disks: map[string]Disk{"fs": {Free: 1 << 40, Total: 100 << 40}}, KeepLast: 3, Grace: time.Hour}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plan := Apply(recs, p, now)
		if plan.Kept+plan.Deleted != len(recs) || plan.Deleted == 0 || plan.Kept == 0 {
			b.Fatalf("plan covers %d kept + %d deleted of %d", plan.Kept, plan.Deleted, len(recs))
		}
	}
	if per := b.Elapsed() / time.Duration(b.N); per > 2*time.Second {
		b.Errorf("Apply(100,000 recordings) took %v per plan, want under 2s", per)
	}
}
