// Package retention decides which recordings a purge deletes and carries
// the decision out.
//
// Apply is the policy: a pure function from recordings, a Policy and the
// current time to a Plan holding one Decision, with a reason, for every
// recording. It touches no file system and reads no clock; the free and
// total bytes of each file system come in as data. Execute (execute.go)
// carries a plan out with the recording-directory protocol of
// docs/layout.md (mark purging, delete parts, manifest, directory) and
// appends an audit line per deletion.
//
// Whatever the policy, Apply never deletes a recording that is locked
// (legal hold), being recorded, written within the grace period, damaged
// (unless Policy.IncludeDamaged) or among the KeepLast newest of its
// device. A recording whose manifest already says purging (an interrupted
// purge) is deleted so that the next run finishes the job, unless it is
// locked, being recorded or unreadable.
package retention

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Recording is what the policy knows about one recording: a recording
// directory or a plain WebM file. The caller fills it from a tree scan.
type Recording struct {
	Path       string    // the directory, or the plain file; the identity of the recording
	Kind       string    // "directory" or "file"
	Device     string    // the recorded device, as given; "" if unknown
	User       string    // the user whose session was recorded; "" if unknown
	Start      time.Time // zero if unknown
	End        time.Time // when it ended; zero if unknown (then LastWrite is used)
	Bytes      int64     // bytes on disk; negative values count as 0
	Locked     bool      // under legal hold
	LockedBy   string    // who locked it, for the reason
	InProgress bool      // its recording lock is held: being recorded
	Purging    bool      // its manifest is in state purging: an interrupted purge
	Damaged    bool      // corrupt, incomplete, missing parts, ...: may be evidence
	Verdict    string    // the verdict word, for the reason ("incomplete")
	LastWrite  time.Time // newest modification time among its files
	Filesystem string    // identity of the file system holding it, a key of Policy.Disks
	// Unreadable, when not empty, says why the recording's manifest could
	// not be read: its legal hold cannot be ruled out, so it is kept.
	Unreadable string
}

// Disk is the current state of one file system, for Policy.KeepFree.
type Disk struct {
	Free  int64 // bytes available
	Total int64 // size of the file system in bytes
}

// Free is a free-space goal: an absolute number of bytes or a percentage
// of the file system's size. The zero value is no goal.
type Free struct {
	Bytes   int64
	Percent float64 // 0 to 100; used when Bytes is 0
}

// IsZero reports whether f sets no goal.
func (f Free) IsZero() bool { return f.Bytes <= 0 && f.Percent <= 0 }

// String renders the goal as the flag would take it: "10GiB" style bytes
// as a plain number, or "15%".
func (f Free) String() string {
	if f.Bytes > 0 {
		return strconv.FormatInt(f.Bytes, 10) + " bytes"
	}
	return strconv.FormatFloat(f.Percent, 'f', -1, 64) + "%"
}

// target returns the free bytes the goal asks for on d.
func (f Free) target(d Disk) int64 {
	if f.Bytes > 0 {
		return f.Bytes
	}
	t := math.Ceil(float64(d.Total) * f.Percent / 100)
	if t >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(t)
}

// Policy says what to delete. A zero field is off. At least one of
// OlderThan, MaxTotalSize and KeepFree must be set: the others only
// narrow or protect.
type Policy struct {
	// OlderThan deletes recordings that ended more than OlderThan before
	// now.
	OlderThan time.Duration
	// MaxTotalSize deletes the oldest recordings until the bytes of all
	// recordings given to Apply (kept ones included) are at most this.
	MaxTotalSize int64
	// KeepFree deletes the oldest recordings of a file system until its
	// free space (Disks) reaches the goal.
	KeepFree Free
	// Disks holds each file system's free and total bytes, by
	// Recording.Filesystem. With KeepFree set, a recording whose file
	// system is missing here is not deleted for free space.
	Disks map[string]Disk
	// KeepLast keeps the KeepLast most recent recordings of each device
	// (by end time), counting those not being recorded or purged.
	KeepLast int
	// Devices and Users scope the purge: when not empty, only recordings
	// whose device (or user) is in the list may be deleted. Devices match
	// case-insensitively.
	Devices []string
	Users   []string
	// Grace keeps recordings with a file written within Grace before now.
	Grace time.Duration
	// IncludeDamaged allows deleting damaged recordings.
	IncludeDamaged bool
}

// ErrEmptyPolicy reports a policy that would delete nothing by design: no
// OlderThan, MaxTotalSize or KeepFree.
var ErrEmptyPolicy = errors.New("retention: empty policy: set an age, a total size or a free-space goal")

// Validate checks p: a deleting rule is set and no value is negative.
func (p Policy) Validate() error {
	switch {
	case p.OlderThan < 0 || p.MaxTotalSize < 0 || p.KeepFree.Bytes < 0 || p.KeepLast < 0 || p.Grace < 0:
		return errors.New("retention: negative policy value")
	case p.KeepFree.Percent < 0 || p.KeepFree.Percent > 100 || math.IsNaN(p.KeepFree.Percent):
		return errors.New("retention: free-space percentage outside 0 to 100")
	case p.OlderThan == 0 && p.MaxTotalSize == 0 && p.KeepFree.IsZero():
		return ErrEmptyPolicy
	}
	return nil
}

// Action is what happens to a recording.
type Action string

// Actions.
const (
	Keep   Action = "keep"
	Delete Action = "delete"
)

// Rule names the rule that decided a recording, for scripts; Reason says
// it for people.
type Rule string

// Rules, in the order Apply tries them.
const (
	RuleInProgress   Rule = "in-progress"    // keep: being recorded
	RuleLocked       Rule = "locked"         // keep: legal hold
	RuleUnreadable   Rule = "unreadable"     // keep: manifest unreadable, lock unknown
	RulePurging      Rule = "purging"        // delete: finish an interrupted purge
	RuleScope        Rule = "scope"          // keep: outside --device/--user
	RuleGrace        Rule = "grace"          // keep: written within the grace period
	RuleDamaged      Rule = "damaged"        // keep: damaged, may be evidence
	RuleKeepLast     Rule = "keep-last"      // keep: among the newest of its device
	RuleUnknownTime  Rule = "unknown-time"   // keep: neither end nor write time known
	RuleOlderThan    Rule = "older-than"     // delete: ended before the cut-off
	RuleMaxTotalSize Rule = "max-total-size" // delete: oldest while the total is over
	RuleKeepFree     Rule = "keep-free"      // delete: oldest while free space is short
	RulePolicy       Rule = "policy"         // keep: no rule selected it
)

// Decision is the plan for one recording. It is also the JSON object purge
// writes per recording (type "purge", docs/json.md).
type Decision struct {
	Type       string    `json:"type"` // "purge"
	Path       string    `json:"path"`
	Kind       string    `json:"kind"`
	Device     string    `json:"device"`
	User       string    `json:"user"`
	End        time.Time `json:"end"`
	Bytes      int64     `json:"bytes"`
	Action     Action    `json:"action"`
	Rule       Rule      `json:"rule"`
	Reason     string    `json:"reason"`
	Filesystem string    `json:"-"`
}

// Plan is Apply's result: Decisions[i] is the decision for the i-th input
// recording.
type Plan struct {
	Decisions   []Decision
	Kept        int
	Deleted     int   // decisions to delete
	KeptBytes   int64 // bytes of the kept recordings
	DeleteBytes int64 // bytes of the recordings to delete
	// Unmet lists goals (MaxTotalSize, KeepFree) that deleting every
	// deletable recording does not reach.
	Unmet []string
}

// Apply decides, for every recording in recs, whether p deletes it at time
// now, and why. It is pure and deterministic: the same input gives the same
// plan, whatever the order of equal-aged recordings. It does not check p
// (see Validate): an empty policy deletes only interrupted purges.
func Apply(recs []Recording, p Policy, now time.Time) Plan {
	plan := Plan{Decisions: make([]Decision, len(recs))}
	ends := make([]time.Time, len(recs))
	eligible := make([]bool, len(recs))
	devices := lowerSet(p.Devices)
	users := set(p.Users)
	var nEligible int

	for i := range recs {
		r := &recs[i]
		d := &plan.Decisions[i]
		*d = Decision{Type: "purge", Path: r.Path, Kind: r.Kind, Device: r.Device, User: r.User,
			End: r.End.UTC(), Bytes: max(r.Bytes, 0), Action: Keep, Filesystem: r.Filesystem}
		ends[i] = r.End
		if ends[i].IsZero() {
			ends[i] = r.LastWrite
		}
		switch {
		case r.InProgress:
			d.Rule, d.Reason = RuleInProgress, "being recorded (its recording lock is held)"
		case r.Locked:
			d.Rule, d.Reason = RuleLocked, "locked (legal hold)"
			if r.LockedBy != "" {
				d.Reason += " by " + r.LockedBy
			}
		case r.Unreadable != "":
			d.Rule, d.Reason = RuleUnreadable, r.Unreadable+": a legal hold cannot be ruled out"
		case r.Purging:
			d.Action, d.Rule, d.Reason = Delete, RulePurging, "finishing an interrupted purge (state purging)"
		case devices != nil && !devices[strings.ToLower(r.Device)]:
			d.Rule, d.Reason = RuleScope, fmt.Sprintf("device %q outside --device", r.Device)
		case users != nil && !users[r.User]:
			d.Rule, d.Reason = RuleScope, fmt.Sprintf("user %q outside --user", r.User)
		case p.Grace > 0 && !r.LastWrite.IsZero() && r.LastWrite.After(now.Add(-p.Grace)):
			d.Rule, d.Reason = RuleGrace, fmt.Sprintf("written %s ago, within the grace period of %s", age(now, r.LastWrite), dur(p.Grace))
		case r.Damaged && !p.IncludeDamaged:
			v := r.Verdict
			if v == "" {
				v = "damaged"
			}
			d.Rule, d.Reason = RuleDamaged, v+": kept as possible evidence (use --include-damaged)"
		case ends[i].IsZero():
			d.Rule, d.Reason = RuleUnknownTime, "end time unknown"
		default:
			eligible[i] = true
			nEligible++
		}
	}

	// --keep-last: per device, the newest recordings not being recorded
	// or purged are protected.
	if p.KeepLast > 0 {
		byDevice := map[string][]int{}
		for i := range recs {
			if recs[i].InProgress || recs[i].Purging {
				continue
			}
			k := strings.ToLower(recs[i].Device)
			byDevice[k] = append(byDevice[k], i)
		}
		for _, idx := range byDevice {
			sort.Slice(idx, func(a, b int) bool { return newer(recs, ends, idx[a], idx[b]) })
			for n, i := range idx {
				if n >= p.KeepLast {
					break
				}
				if eligible[i] {
					eligible[i] = false
					nEligible--
					d := &plan.Decisions[i]
					d.Rule, d.Reason = RuleKeepLast, fmt.Sprintf("among the %d most recent of device %q", p.KeepLast, recs[i].Device)
					if recs[i].Device == "" {
						d.Reason = fmt.Sprintf("among the %d most recent without a device name", p.KeepLast)
					}
				}
			}
		}
	}

	// Oldest first, for the size rules.
	order := make([]int, 0, nEligible)
	for i := range recs {
		if eligible[i] {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(a, b int) bool { return newer(recs, ends, order[b], order[a]) })

	del := func(i int, rule Rule, reason string) {
		d := &plan.Decisions[i]
		d.Action, d.Rule, d.Reason = Delete, rule, reason
	}
	if p.OlderThan > 0 {
		cut := now.Add(-p.OlderThan)
		for _, i := range order {
			if ends[i].Before(cut) {
				del(i, RuleOlderThan, fmt.Sprintf("ended %s ago, older than %s", age(now, ends[i]), dur(p.OlderThan)))
			}
		}
	}
	if p.MaxTotalSize > 0 {
		var total int64
		for i := range plan.Decisions {
			if plan.Decisions[i].Action == Keep {
				total = sat(total, plan.Decisions[i].Bytes)
			}
		}
		for _, i := range order {
			if total <= p.MaxTotalSize {
				break
			}
			if plan.Decisions[i].Action == Delete {
				continue
			}
			del(i, RuleMaxTotalSize, fmt.Sprintf("oldest while the total of %d bytes exceeds --max-total-size %d", total, p.MaxTotalSize))
			total -= plan.Decisions[i].Bytes
		}
		if total > p.MaxTotalSize {
			plan.Unmet = append(plan.Unmet, fmt.Sprintf("--max-total-size %d: %d bytes remain after deleting everything deletable", p.MaxTotalSize, total))
		}
	}
	if !p.KeepFree.IsZero() {
		fss := make([]string, 0, len(p.Disks))
		for fs := range p.Disks {
			fss = append(fss, fs)
		}
		sort.Strings(fss)
		for _, fs := range fss {
			disk := p.Disks[fs]
			want := p.KeepFree.target(disk)
			free := disk.Free
			for i := range plan.Decisions {
				if d := &plan.Decisions[i]; d.Action == Delete && d.Filesystem == fs {
					free = sat(free, d.Bytes)
				}
			}
			for _, i := range order {
				if free >= want {
					break
				}
				d := &plan.Decisions[i]
				if d.Action == Delete || d.Filesystem != fs {
					continue
				}
				del(i, RuleKeepFree, fmt.Sprintf("oldest while %d bytes free is under --keep-free %s", free, p.KeepFree))
				free = sat(free, d.Bytes)
			}
			if free < want {
				plan.Unmet = append(plan.Unmet, fmt.Sprintf("--keep-free %s: %d of %d bytes free after deleting everything deletable", p.KeepFree, free, want))
			}
		}
	}

	for _, i := range order {
		if d := &plan.Decisions[i]; d.Action == Keep {
			d.Rule, d.Reason = RulePolicy, keepReason(p, now, ends[i])
		}
	}
	for i := range plan.Decisions {
		d := &plan.Decisions[i]
		if d.Action == Delete {
			plan.Deleted++
			plan.DeleteBytes = sat(plan.DeleteBytes, d.Bytes)
		} else {
			plan.Kept++
			plan.KeptBytes = sat(plan.KeptBytes, d.Bytes)
		}
	}
	return plan
}

// keepReason says why no deleting rule selected a deletable recording.
func keepReason(p Policy, now, end time.Time) string {
	var parts []string
	if p.OlderThan > 0 {
		parts = append(parts, fmt.Sprintf("ended %s ago, not older than %s", age(now, end), dur(p.OlderThan)))
	}
	if p.MaxTotalSize > 0 {
		parts = append(parts, "total within --max-total-size")
	}
	if !p.KeepFree.IsZero() {
		parts = append(parts, "enough free space")
	}
	if len(parts) == 0 {
		return "no rule selects it"
	}
	return strings.Join(parts, "; ")
}

// newer reports whether recording i sorts before j, newest first: by end
// time, then start time, then path (a total order, so plans are
// deterministic).
func newer(recs []Recording, ends []time.Time, i, j int) bool {
	if !ends[i].Equal(ends[j]) {
		return ends[i].After(ends[j])
	}
	if !recs[i].Start.Equal(recs[j].Start) {
		return recs[i].Start.After(recs[j].Start)
	}
	if recs[i].Path != recs[j].Path {
		return recs[i].Path > recs[j].Path
	}
	return i > j
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func lowerSet(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[strings.ToLower(s)] = true
	}
	return m
}

// sat adds without overflowing.
func sat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// age is now - t, rounded down to the second, in the form dur gives.
func age(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return "-" + dur(-d)
	}
	return dur(d)
}

// dur renders d with days, to the second: "90d", "2d3h", "1h30m", "45s".
func dur(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d < time.Second {
		return "0s"
	}
	b := make([]byte, 0, 16)
	for _, u := range durUnits {
		if d >= u.unit {
			b = strconv.AppendInt(b, int64(d/u.unit), 10)
			b = append(b, u.name)
			d %= u.unit
		}
	}
	return string(b)
}

var durUnits = [...]struct {
	name byte
	unit time.Duration
}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}}
