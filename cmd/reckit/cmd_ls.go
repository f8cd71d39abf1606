package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"iter"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/record/layout"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// lsOptions are the flags of reckit ls.
type lsOptions struct {
	device, user, session string
	since, until          timeValue
	status                string
	locked, unlocked      bool
	sort                  string
	reverse               bool
	limit                 int
	csv                   bool
}

var lsSortKeys = []string{"start", "size", "duration", "device"}

// verdictWords are the words --status accepts.
var verdictWords = []string{"ok", "recording", "incomplete", "unseekable", "corrupt", "size-mismatch",
	"checksum-mismatch", "missing", "orphan", "not-webm"}

func (o *lsOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.device, "device", "", "only recordings of this device (a shell pattern, case-insensitive)")
	fs.StringVar(&o.user, "user", "", "only recordings of this user (a shell pattern, case-insensitive)")
	fs.StringVar(&o.session, "session", "", "only the recording of this session id (or its 8-digit token)")
	fs.Var(&o.since, "since", "only recordings that started at or after this time (RFC 3339, a date, or an age such as 7d)")
	fs.Var(&o.until, "until", "only recordings that started before this time (RFC 3339, a date, or an age such as 7d)")
	fs.StringVar(&o.status, "status", "", "only recordings with these verdicts, comma-separated ("+strings.Join(verdictWords, ", ")+")")
	fs.BoolVar(&o.locked, "locked", false, "only locked recordings (legal hold)")
	fs.BoolVar(&o.unlocked, "unlocked", false, "only recordings that are not locked")
	fs.Var(newEnumValue("key", lsSortKeys, "start", &o.sort), "sort", "sort by "+strings.Join(lsSortKeys, ", "))
	fs.BoolVarP(&o.reverse, "reverse", "r", false, "reverse the order")
	fs.IntVarP(&o.limit, "limit", "n", 0, "show at most N recordings, and say how many more there are (0: all)")
	fs.BoolVar(&o.csv, "csv", false, "write CSV with a header row")
}

func newLsCommand(g *globals) *cobra.Command {
	opts := &lsOptions{}
	cmd := &cobra.Command{
		Use:   "ls [PATH...]",
		Short: "List recordings under directories, with filters and disk usage",
		Long: longHelp(`List the recordings under each PATH (default: $RECKIT_DIR, else
$XDG_VIDEOS_DIR/reckit, else ~/Videos/reckit): recording directories
and plain WebM files, one row each: device, user, start (UTC), duration,
resolutions, parts, size, status, locked, notes and path.

The status is a verdict from the headers and the manifest only (see
reckit verify for the full check): ok, recording, incomplete,
unseekable, corrupt, size-mismatch, missing, orphan, not-webm. ls reads
manifests and a few kilobytes of headers per file, never the frames, so
it stays fast on thousands of multi-GB recordings.

On a terminal: a table, and a footer on stderr with the totals, the
bytes per device and the free space of each filesystem. Piped: one
tab-separated line per recording, no header, sizes in bytes, durations
in milliseconds, times in RFC 3339 UTC. --csv: CSV with a header row.
--json: one "recording" object per line, then a "summary".

--limit never truncates silently: the number of recordings not shown
is written to stderr (and is "more" in the JSON summary).

Times for --since and --until: RFC 3339 (2026-11-22T06:00:00Z), a date
(2026-11-22, midnight UTC) or an age back from now (7d, 12h).`),
		Example: `  reckit ls /srv/recordings
  reckit ls --device 'ws-*' --since 7d --sort size --reverse
  reckit ls --status missing,size-mismatch --json | jq -r .path`,
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.locked && opts.unlocked {
				return usageErrorf(cmd, "--locked and --unlocked exclude each other")
			}
			if opts.limit < 0 {
				return usageErrorf(cmd, "--limit must not be negative")
			}
			if opts.csv && g.json {
				return usageErrorf(cmd, "--csv and --json exclude each other")
			}
			for _, s := range splitList(opts.status) {
				if !containsString(verdictWords, s) {
					return usageErrorf(cmd, "--status %q: must be one of %s", s, strings.Join(verdictWords, ", "))
				}
			}
			for _, p := range []string{opts.device, opts.user} {
				if _, err := path.Match(p, ""); err != nil {
					return usageErrorf(cmd, "bad pattern %q: %v", p, err)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLs(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runLs(ctx context.Context, opts *lsOptions, g *globals, args []string) error {
	roots, err := rootsOrDefault(args)
	if err != nil {
		return err
	}
	now := g.now()
	since, until := opts.since.resolve(now), opts.until.resolve(now)
	statuses := splitList(opts.status)
	defer tuneLsGC()()
	// Without --limit, every match is shown: sorter keeps them in bounded
	// memory (it spills to a temporary file beyond lsSpillThreshold).
	// With --limit, recs keeps only the first limit in order.
	var recs []*inspect.Recording
	var sorter *lsSorter
	if opts.limit == 0 {
		sorter = newLsSorter(opts.sort, opts.reverse)
		defer sorter.close()
	}
	sum := inspect.NewCatalogSummary()
	var unreadable int
	var firstUnreadable error
	err = inspect.Catalog(ctx, roots, inspect.CatalogOptions{Probe: true, Now: now}, func(r *inspect.Recording) error {
		if !lsMatch(opts, r, since, until, statuses) {
			return nil
		}
		r.Files, r.Manifest = nil, nil // keep only what is printed
		sum.Add(r)
		if sorter != nil {
			return sorter.add(r)
		}
		// With --limit, keep only the first limit in order: memory stays
		// bounded by the limit, not by the tree.
		i := sort.Search(len(recs), func(i int) bool { return compareRecordings(r, recs[i], opts.sort, opts.reverse) < 0 })
		if i >= opts.limit {
			return nil
		}
		recs = append(recs, nil)
		copy(recs[i+1:], recs[i:])
		recs[i] = r
		if len(recs) > opts.limit {
			recs = recs[:opts.limit]
		}
		return nil
	}, func(u *inspect.Unknown) error {
		if u.Kind == "error" {
			unreadable++
			e := fmt.Errorf("%s: %s", u.Path, u.Reason)
			if firstUnreadable == nil {
				firstUnreadable = e
			}
			g.itemErrorf(u.Path, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var shown iter.Seq2[*inspect.Recording, error]
	if sorter != nil {
		shown = sorter.all()
		sum.Shown = sum.Recordings
	} else {
		sortRecordings(recs, opts.sort, opts.reverse)
		shown = func(yield func(*inspect.Recording, error) bool) {
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
		}
		sum.Shown = len(recs)
	}
	sum.More = sum.Recordings - sum.Shown
	for _, r := range roots {
		sum.Filesystems = append(sum.Filesystems, inspect.FilesystemFree{Path: r, FreeBytes: freeBytes(r)})
	}
	switch {
	case g.json:
		out := newJSONL(g.io.Out)
		for r, err := range shown {
			if err != nil {
				return err
			}
			if err := out.encode(r); err != nil {
				return err
			}
		}
		if err := out.encode(sum); err != nil {
			return err
		}
	case opts.csv:
		if err := writeLsCSV(g, shown); err != nil {
			return err
		}
	default:
		if err := writeLsTable(g, shown); err != nil {
			return err
		}
	}
	if sum.More > 0 && !g.json {
		// Never silently truncated, not even under --quiet.
		fmt.Fprintf(g.io.Err, "reckit: %d more %s not shown (--limit %d)\n", sum.More, pluralNoun(sum.More, "recording"), opts.limit)
	}
	if !g.json && !g.quiet && g.io.IsTerminalErr() {
		fmt.Fprintln(g.io.Err, lsFooter(sum))
	}
	if unreadable > 0 {
		return fmt.Errorf("%d directories could not be read: %w", unreadable, firstUnreadable)
	}
	return nil
}

// lsMatch applies the filters.
func lsMatch(o *lsOptions, r *inspect.Recording, since, until time.Time, statuses []string) bool {
	if o.device != "" && !matchFold(o.device, r.Device) && !matchFold(o.device, layout.SanitizeDevice(r.Device)) {
		return false
	}
	if o.user != "" && !matchFold(o.user, r.User) {
		return false
	}
	if o.session != "" && r.SessionID != o.session && (r.SessionID == "" || layout.ShortSession(r.SessionID) != strings.ToLower(o.session)) {
		return false
	}
	if !since.IsZero() && (r.Start.IsZero() || r.Start.Before(since)) {
		return false
	}
	if !until.IsZero() && (r.Start.IsZero() || !r.Start.Before(until)) {
		return false
	}
	if len(statuses) > 0 && !containsString(statuses, string(r.Verdict)) {
		return false
	}
	if o.locked && !r.Locked || o.unlocked && r.Locked {
		return false
	}
	return true
}

func matchFold(pattern, s string) bool {
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(s))
	return ok
}

// sortRecordings orders by key, ties by start then path, so the order is
// stable from run to run.
func sortRecordings(recs []*inspect.Recording, key string, reverse bool) {
	sort.SliceStable(recs, func(i, j int) bool { return compareRecordings(recs[i], recs[j], key, reverse) < 0 })
}

// compareRecordings compares by key, then start, then path; reverse flips
// the result.
func compareRecordings(a, b *inspect.Recording, key string, reverse bool) int {
	c := 0
	switch key {
	case "size":
		c = cmpInt(a.Bytes, b.Bytes)
	case "duration":
		c = cmpInt(a.DurationMS, b.DurationMS)
	case "device":
		c = strings.Compare(a.Device, b.Device)
	}
	if c == 0 {
		c = a.Start.Compare(b.Start)
	}
	if c == 0 {
		c = strings.Compare(a.Path, b.Path)
	}
	if reverse {
		return -c
	}
	return c
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lsTableChunk is how many rows a piped table renders at a time: piped
// rows are independent lines, so chunks keep the output identical while
// memory stays bounded. A variable so that tests can lower it.
var lsTableChunk = 1024

// writeLsTable writes the table. Piped, it renders every lsTableChunk rows.
// On a terminal, the rows stay buffered to align the columns, so memory
// grows with the rows shown (a few hundred bytes each): that output is for
// a person at a terminal; scripts get the piped form, --csv or --json,
// which stream in bounded memory.
func writeLsTable(g *globals, recs iter.Seq2[*inspect.Recording, error]) error {
	header := []string{"DEVICE", "USER", "START", "DURATION", "RESOLUTION", "PARTS", "SIZE", "STATUS", "LOCKED", "NOTES", "PATH"}
	t := newTable(g.io, header...)
	n := 0
	for r, err := range recs {
		if err != nil {
			return err
		}
		locked := any(r.Locked)
		if t.tty {
			locked = ""
			if r.Locked {
				locked = "locked"
			}
		}
		res := r.ResolutionString()
		if res == "" && t.tty {
			res = "-"
		}
		t.row(orDashTTY(t.tty, r.Device), orDashTTY(t.tty, r.User), r.Start, time.Duration(r.DurationMS)*time.Millisecond,
			res, r.Parts, byteCount(r.Bytes), string(r.Verdict), locked, r.Notes, r.Path)
		if n++; !t.tty && n%lsTableChunk == 0 {
			if err := t.render(); err != nil {
				return err
			}
			t = newTable(g.io, header...)
		}
	}
	return t.render()
}

func writeLsCSV(g *globals, recs iter.Seq2[*inspect.Recording, error]) error {
	w := csv.NewWriter(g.io.Out)
	_ = w.Write([]string{"device", "user", "session_id", "start", "end", "duration_ms", "resolutions", "parts", "bytes", "status", "locked", "notes", "path"})
	for r, err := range recs {
		if err != nil {
			return err
		}
		_ = w.Write([]string{r.Device, r.User, r.SessionID, rfc3339(r.Start), rfc3339(r.End), strconv.FormatInt(r.DurationMS, 10),
			r.ResolutionString(), strconv.Itoa(r.Parts), strconv.FormatInt(r.Bytes, 10), string(r.Verdict),
			strconv.FormatBool(r.Locked), strconv.Itoa(r.Notes), r.Path})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// lsFooter is the human summary: totals, bytes per device, free space.
func lsFooter(s *inspect.CatalogSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, %s", plural(s.Recordings, "recording"), plural(s.Parts, "part"), humanBytes(s.Bytes))
	if len(s.BytesByDevice) > 0 {
		devs := make([]string, 0, len(s.BytesByDevice))
		for d := range s.BytesByDevice {
			devs = append(devs, d)
		}
		sort.Strings(devs)
		b.WriteString("; by device:")
		for i, d := range devs {
			if i > 0 {
				b.WriteByte(',')
			}
			name := d
			if name == "" {
				name = "(unknown)"
			}
			fmt.Fprintf(&b, " %s %s", name, humanBytes(s.BytesByDevice[d]))
		}
	}
	for _, fs := range s.Filesystems {
		if fs.FreeBytes >= 0 {
			fmt.Fprintf(&b, "; %s free on %s", humanBytes(fs.FreeBytes), fs.Path)
		}
	}
	return b.String()
}

func orDashTTY(tty bool, s string) string {
	if s == "" && tty {
		return "-"
	}
	return s
}

func pluralNoun(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// timeValue is a point in time given as RFC 3339, a date (midnight UTC), or
// an age back from now ("7d", "12h"), resolved against the clock when the
// command runs (pflag.Value).
type timeValue struct {
	abs  time.Time
	ago  time.Duration
	text string
}

func (v *timeValue) Type() string   { return "time" }
func (v *timeValue) String() string { return v.text }

func (v *timeValue) Set(s string) error {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*v = timeValue{abs: t.UTC(), text: s}
		return nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		*v = timeValue{abs: t, text: s}
		return nil
	}
	if d, err := parseDuration(s); err == nil {
		*v = timeValue{ago: d, text: s}
		return nil
	}
	return errors.New("want RFC 3339 (2026-11-22T06:00:00Z), a date (2026-11-22) or an age (7d, 12h)")
}

// resolve returns the time, or the zero time when the flag was not set.
func (v *timeValue) resolve(now time.Time) time.Time {
	switch {
	case v.text == "":
		return time.Time{}
	case !v.abs.IsZero():
		return v.abs
	}
	return now.Add(-v.ago)
}
