package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/record/layout"
	"github.com/reckit/reckit/retention"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// purgeOptions are the flags of reckit purge.
type purgeOptions struct {
	olderThan      time.Duration
	maxTotalSize   int64
	keepFree       retention.Free
	keepLast       int
	devices        []string
	users          []string
	grace          time.Duration
	includeDamaged bool
	dryRun         bool
	wait           time.Duration
	log            string
}

func (o *purgeOptions) addFlags(fs *pflag.FlagSet) {
	fs.Var(newDurationValue(0, &o.olderThan), "older-than", "delete recordings that ended more than `DUR` ago (e.g. 90d)")
	fs.Var(newSizeValue(0, &o.maxTotalSize), "max-total-size", "delete the oldest recordings until all of them together take at most `SIZE`")
	fs.Var(&freeValue{p: &o.keepFree}, "keep-free", "delete the oldest recordings until the file system has `SIZE|PCT` free (e.g. 50GiB or 15%)")
	fs.IntVar(&o.keepLast, "keep-last", 0, "never delete the `N` most recent recordings of each device")
	fs.StringSliceVar(&o.devices, "device", nil, "only delete recordings of device `NAME` (repeatable, case-insensitive)")
	fs.StringSliceVar(&o.users, "user", nil, "only delete recordings of user `NAME` (repeatable)")
	fs.Var(newDurationValue(time.Hour, &o.grace), "grace", "never delete a recording with a file written in the last `DUR`")
	fs.BoolVar(&o.includeDamaged, "include-damaged", false, "also delete damaged recordings (corrupt, incomplete, ...), kept by default as possible evidence")
	fs.BoolVarP(&o.dryRun, "dry-run", "n", false, "print the plan and change nothing")
	fs.Var(newDurationValue(0, &o.wait), "wait", "if another purge holds the tree, wait up to `DUR` for it")
	fs.StringVar(&o.log, "log", "", "append a JSON line per deletion to `FILE` (audit trail)")
}

// policy returns the retention policy the flags describe.
func (o *purgeOptions) policy() retention.Policy {
	return retention.Policy{OlderThan: o.olderThan, MaxTotalSize: o.maxTotalSize, KeepFree: o.keepFree,
		KeepLast: o.keepLast, Devices: o.devices, Users: o.users, Grace: o.grace, IncludeDamaged: o.includeDamaged}
}

// freeValue is --keep-free (pflag.Value): a size as sizeValue takes it, or
// a percentage of the file system's size, "15%" (0 < PCT <= 100).
type freeValue struct {
	p *retention.Free
}

func (v *freeValue) Type() string { return "size|pct" }

func (v *freeValue) String() string {
	switch {
	case v.p.Bytes > 0:
		return formatSize(v.p.Bytes)
	case v.p.Percent > 0:
		return strconv.FormatFloat(v.p.Percent, 'f', -1, 64) + "%"
	}
	return "0"
}

func (v *freeValue) Set(s string) error {
	if num, ok := strings.CutSuffix(s, "%"); ok {
		digits, rest := splitNumber(num)
		pct, err := strconv.ParseFloat(digits, 64)
		if err != nil || rest != "" {
			return fmt.Errorf("malformed percentage %q (want e.g. 15%%)", s)
		}
		if pct <= 0 || pct > 100 {
			return errors.New("a percentage must be more than 0% and at most 100%")
		}
		*v.p = retention.Free{Percent: pct}
		return nil
	}
	n, err := parseSize(s)
	if err != nil {
		return fmt.Errorf("%w (or a percentage, e.g. 15%%)", err)
	}
	if n == 0 {
		return errors.New("must be more than 0")
	}
	*v.p = retention.Free{Bytes: n}
	return nil
}

func newPurgeCommand(g *globals) *cobra.Command {
	opts := &purgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge [PATH...] {--older-than DUR | --max-total-size SIZE | --keep-free SIZE|PCT} [flags]",
		Short: "Delete recordings by retention policy (age, total size, free space)",
		Long: longHelp(`Delete the recordings under each PATH (default: the recordings directory,
$RECKIT_DIR or ~/Videos/reckit) that the retention policy selects, and
say for every recording why it is kept or deleted. Safe to run from cron:
nothing is asked, a purge without a policy flag is refused, and --dry-run
shows the plan without changing anything.

Policy (at least one): --older-than deletes recordings that ended more than
DUR ago; --max-total-size deletes the oldest until all recordings under the
paths fit in SIZE; --keep-free deletes the oldest until the file system has
SIZE (or PCT of its size) free. --keep-last, --device and --user narrow it.

Never deleted: a locked recording (legal hold); a recording being recorded
(its recording lock is held) or with a file written in the last --grace
(default 1h); a damaged recording (corrupt, incomplete, missing parts,
size or checksum mismatch), unless --include-damaged, since it may be
evidence; one whose manifest cannot be read; anything outside the PATHs;
anything that is not a recording (unknown files are listed, never touched);
symbolic links are never followed.

A recording directory is deleted as a unit: its manifest is first marked
purging, then its parts go, then the manifest and the directory. A purge
that is interrupted is finished by the next one. A plain WebM file is
deleted with its sidecar manifest. --log appends one JSON line per deletion
(what, bytes, SHA-256 of the manifest, why, when, who).

Two purges never run on one tree at once: the second fails at once, or
waits up to --wait. On SIGINT or SIGTERM the current recording is finished,
then the purge stops.

Exit status 3 when some deletions failed (each is reported), the others
having been carried out.`, exitPartial),
		Example: `  reckit purge --older-than 90d /srv/recordings
  reckit purge -n --max-total-size 2TiB --keep-last 5 /srv/recordings
  reckit purge --keep-free 15% --log /var/log/reckit-purge.jsonl /srv/recordings`,
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			switch {
			case f.Changed("older-than") && opts.olderThan <= 0:
				return usageErrorf(cmd, "--older-than must be more than 0")
			case f.Changed("max-total-size") && opts.maxTotalSize <= 0:
				return usageErrorf(cmd, "--max-total-size must be more than 0")
			case opts.keepLast < 0:
				return usageErrorf(cmd, "--keep-last must not be negative")
			case opts.olderThan == 0 && opts.maxTotalSize == 0 && opts.keepFree.IsZero():
				return withHint(usageErrorf(cmd, "purge needs a policy: --older-than, --max-total-size or --keep-free"),
					"try --dry-run with a policy first, e.g. reckit purge -n --older-than 90d")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPurge(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runPurge(ctx context.Context, opts *purgeOptions, g *globals, args []string) error {
	roots, err := purgeRoots(args)
	if err != nil {
		return err
	}
	now := g.now()
	out := newJSONL(g.io.Out)

	// One purge per tree. A dry run changes nothing, not even the lock
	// file, and takes no lock.
	if !opts.dryRun {
		for _, root := range roots {
			tl, err := layout.AcquireTreeLock(ctx, root, opts.wait)
			if errors.Is(err, layout.ErrTreeLocked) {
				hint := "wait for it to finish, or give --wait DUR"
				if opts.wait > 0 {
					hint = "it is still running after --wait " + formatDurationFlag(opts.wait)
				}
				return withHint(fmt.Errorf("%s: another purge is running on this tree", root), hint)
			}
			if err != nil {
				return err
			}
			defer tl.Release()
		}
	}

	// Scan. Recordings are collected (the plan needs all of them); unknown
	// entries are listed as they come.
	var recs []retention.Recording
	seen := map[string]bool{}
	disks := newDiskCache()
	unknown := 0
	err = inspect.Catalog(ctx, roots, inspect.CatalogOptions{Probe: true, Now: now},
		func(r *inspect.Recording) error {
			key := abs(r.Path)
			if seen[key] {
				return nil // nested PATHs
			}
			seen[key] = true
			rr := toRetention(r)
			if !opts.keepFree.IsZero() {
				id, err := disks.id(r.Path)
				if err != nil {
					return fmt.Errorf("%s: %w", r.Path, err)
				}
				rr.Filesystem = id
			}
			recs = append(recs, rr)
			return nil
		},
		func(u *inspect.Unknown) error {
			if seen[abs(u.Path)] {
				return nil
			}
			seen[abs(u.Path)] = true
			unknown++
			if g.json {
				return out.encode(u)
			}
			g.notef("not touched: %s (%s)", u.Path, u.Reason)
			return nil
		})
	if err != nil {
		return err
	}

	p := opts.policy()
	p.Disks = disks.disks
	plan := retention.Apply(recs, p, now)

	var logf *os.File
	if opts.log != "" && !opts.dryRun && plan.Deleted > 0 {
		logf, err = os.OpenFile(opts.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		defer logf.Close()
	}
	xo := retention.Options{DryRun: opts.dryRun, Now: g.now, Who: purgeWho()}
	if logf != nil {
		xo.Log = logf
	}
	var firstErr error
	tty := g.io.IsTerminalOut()
	sum, xerr := retention.Execute(ctx, plan, xo, func(r retention.Result) error {
		if r.Status == retention.StatusFailed {
			if firstErr == nil {
				firstErr = errors.New(r.Error)
			}
			g.itemErrorf(r.Path, errors.New(r.Error))
		}
		if g.json {
			return out.encode(r)
		}
		return printPurgeResult(g, tty, r)
	})
	sum.Unknown = unknown
	if logf != nil {
		if err := logf.Sync(); err != nil && xerr == nil {
			xerr = fmt.Errorf("audit log: %w", err)
		}
		if err := logf.Close(); err != nil && xerr == nil {
			xerr = fmt.Errorf("audit log: %w", err)
		}
	}
	if g.json {
		if err := out.encode(sum); err != nil && xerr == nil {
			xerr = err
		}
	}
	for _, u := range sum.Unmet {
		g.warnf("goal not reached: %s", u)
	}
	if errors.Is(xerr, context.Canceled) {
		return fmt.Errorf("interrupted after %d of %d deletions (%d not done): %w",
			sum.Deleted+sum.Failed, sum.Planned, sum.NotDone, context.Canceled)
	}
	if xerr != nil {
		return xerr
	}
	switch {
	case opts.dryRun:
		g.notef("dry run: would delete %d of %d recordings (%s), keep %d", sum.Planned, sum.Recordings, humanBytes(sum.PlannedBytes), sum.Kept)
	default:
		g.notef("deleted %d of %d recordings (%s freed), kept %d", sum.Deleted, sum.Recordings, humanBytes(sum.FreedBytes), sum.Kept)
	}
	if sum.Failed > 0 {
		return &partialError{failed: sum.Failed, total: sum.Planned, noun: "deletions", err: firstErr}
	}
	return nil
}

// printPurgeResult writes one recording's line: status, bytes, path,
// reason; tab-separated with raw bytes when piped.
func printPurgeResult(g *globals, tty bool, r retention.Result) error {
	status, reason := r.Status, r.Reason
	if r.Error != "" {
		reason += ": " + r.Error
	}
	var err error
	if tty {
		_, err = fmt.Fprintf(g.io.Out, "%-8s %10s  %s: %s\n", status, humanBytes(r.Bytes), r.Path, reason)
	} else {
		_, err = fmt.Fprintf(g.io.Out, "%s\t%d\t%s\t%s\n", status, r.Bytes, escapeField(r.Path), escapeField(reason))
	}
	return err
}

// purgeRoots returns the cleaned, distinct PATHs, or the default
// recordings directory (rootsOrDefault); each must be a directory.
func purgeRoots(args []string) ([]string, error) {
	args, err := rootsOrDefault(args)
	if err != nil {
		return nil, err
	}
	var roots []string
	have := map[string]bool{}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, withHint(fmt.Errorf("%s: not a directory", a), "purge takes directories; it finds the recordings under them")
		}
		c := filepath.Clean(a)
		if !have[abs(c)] {
			have[abs(c)] = true
			roots = append(roots, c)
		}
	}
	sort.Strings(roots)
	return roots, nil
}

// toRetention maps a catalogued recording to what the policy knows.
func toRetention(r *inspect.Recording) retention.Recording {
	rr := retention.Recording{Path: r.Path, Kind: r.Kind, Device: r.Device, User: r.User, Start: r.Start, End: r.End,
		Bytes: r.Bytes, Locked: r.Locked, LockedBy: r.LockedBy, InProgress: r.InProgress,
		Purging: r.State == layout.StatePurging, Verdict: string(r.Verdict), LastWrite: r.ModTime}
	switch r.Verdict {
	case inspect.OK, inspect.Unseekable, inspect.InProgress:
	default:
		rr.Damaged = !rr.Purging
	}
	// A manifest that cannot be read may hide a legal hold.
	hasManifest := r.Kind == "directory" || len(r.Files) > 1
	if hasManifest && r.Manifest == nil && !rr.Purging {
		rr.Unreadable = "manifest unreadable"
		if r.Reason != "" {
			rr.Unreadable = r.Reason
		}
	}
	return rr
}

// purgeWho names who purges, for the audit log: user@host.
func purgeWho() string {
	name := currentUser()
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return name + "@" + host
}

// diskCache identifies the file system of each recording and remembers
// each file system's free and total bytes, measured once.
type diskCache struct {
	disks map[string]retention.Disk
}

func newDiskCache() *diskCache { return &diskCache{disks: map[string]retention.Disk{}} }

func (c *diskCache) id(path string) (string, error) {
	id, err := fileSystemID(path)
	if err != nil {
		return "", err
	}
	if _, ok := c.disks[id]; !ok {
		free, total, err := diskSpace(path)
		if err != nil {
			return "", err
		}
		c.disks[id] = retention.Disk{Free: free, Total: total}
	}
	return id, nil
}
