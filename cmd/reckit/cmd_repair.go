package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/mux"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// repairOptions are the flags of reckit repair.
type repairOptions struct {
	output   string
	inPlace  bool
	noBackup bool
	force    bool
}

func (o *repairOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "", "write the repaired file to `OUT` (one input only)")
	fs.BoolVar(&o.inPlace, "in-place", false, "replace each FILE by its repaired version, keeping the original as FILE.orig")
	fs.BoolVar(&o.noBackup, "no-backup", false, "with --in-place: do not keep FILE.orig")
	fs.BoolVarP(&o.force, "force", "f", false, "overwrite OUT or an existing FILE.orig")
}

func newRepairCommand(g *globals) *cobra.Command {
	opts := &repairOptions{}
	cmd := &cobra.Command{
		Use:   "repair FILE... (-o OUT | --in-place)",
		Short: "Make an interrupted or live-written recording complete and seekable",
		Long: longHelp(`Rewrite an interrupted or live-written WebM (unknown-size Segment and
Clusters, no Cues or Duration, a cut final Cluster or block) into a
complete, seekable file holding every complete frame: known sizes, a
Duration measured from the blocks, SeekHead and Cues. Title, DateUTC,
SegmentUID and tags are kept, so a repaired part still links to its
neighbours. Exactly what was dropped is reported: the bytes, their offset
and where in time they start.

A file that is already ok is left alone ("nothing to do"), never rewritten.
With -o the result goes to OUT (written as OUT.partial, then renamed). With
--in-place each FILE is replaced (temp file, fsync, rename) and the
original kept as FILE.orig unless --no-backup.

Exit status 3 when some files could not be repaired and others were.`, exitPartial),
		Example: `  reckit repair -o fixed.webm crashed.webm
  reckit repair --in-place ~/Videos/reckit/*/*.webm`,
		Args: cobra.MinimumNArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.output != "" && opts.inPlace:
				return usageErrorf(cmd, "-o and --in-place exclude each other")
			case opts.output == "" && !opts.inPlace:
				return usageErrorf(cmd, "repair needs -o OUT or --in-place")
			case opts.output != "" && len(args) > 1:
				return usageErrorf(cmd, "-o takes one input; use --in-place for several")
			case opts.noBackup && !opts.inPlace:
				return usageErrorf(cmd, "--no-backup goes with --in-place")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRepair(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// repairRecord is one file in repair's JSON output.
type repairRecord struct {
	Type          string          `json:"type"` // "repair"
	Path          string          `json:"path"`
	Output        string          `json:"output,omitempty"`
	Before        inspect.Verdict `json:"verdict_before"`
	Verdict       inspect.Verdict `json:"verdict"` // of the output (or the input when nothing was done)
	Action        string          `json:"action"`  // repaired, nothing-to-do
	Frames        int64           `json:"frames"`
	DurationMS    int64           `json:"duration_ms"`
	Bytes         int64           `json:"bytes"`
	DroppedBytes  int64           `json:"dropped_bytes"`
	DroppedOffset *int64          `json:"dropped_offset,omitempty"`
	DroppedFromMS *int64          `json:"dropped_from_ms,omitempty"`
	Problem       string          `json:"problem,omitempty"`
}

func runRepair(ctx context.Context, opts *repairOptions, g *globals, args []string) error {
	limitStreamingMemory()
	out := newJSONL(g.io.Out)
	fails := itemFailures{total: len(args)}
	for _, path := range args {
		rec, err := repairOne(ctx, opts, g, path)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fails.add(g, path, err)
			continue
		}
		if g.json {
			if err := out.encode(rec); err != nil {
				return err
			}
			continue
		}
		switch rec.Action {
		case "nothing-to-do":
			fmt.Fprintf(g.io.Out, "%s: %s, nothing to do\n", path, rec.Before)
		default:
			fmt.Fprintf(g.io.Out, "%s: %s -> %s: kept %d frames (%s)", path, rec.Before, rec.Output, rec.Frames, seconds(rec.DurationMS))
			if rec.DroppedOffset != nil {
				fmt.Fprintf(g.io.Out, ", dropped %d bytes from byte %d (from %s on): %s", rec.DroppedBytes, *rec.DroppedOffset, seconds(*rec.DroppedFromMS), rec.Problem)
			}
			fmt.Fprintln(g.io.Out)
		}
	}
	return fails.err("repaired")
}

func repairOne(ctx context.Context, opts *repairOptions, g *globals, path string) (*repairRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	before, err := inspect.Scan(ctx, path, io.NewSectionReader(f, 0, size), size, inspect.ScanOptions{})
	if err != nil {
		return nil, err
	}
	rec := &repairRecord{Type: "repair", Path: path, Before: before.Verdict, Verdict: before.Verdict,
		Frames: before.Frames, DurationMS: before.DurationMS, Bytes: size}
	switch before.Verdict {
	case inspect.OK:
		rec.Action = "nothing-to-do"
		return rec, nil
	case inspect.NotWebM:
		return nil, fmt.Errorf("%s: not a WebM file (%s): nothing to repair", path, before.Reason)
	}
	target := opts.output
	if opts.inPlace {
		target = path
	}
	if abs(target) == abs(path) && !opts.inPlace {
		return nil, withHint(fmt.Errorf("%s: -o names the input itself", path), "use --in-place to replace it")
	}
	// With --in-place the target exists by design: createOut may replace it.
	of, err := createOut(target, opts.force || opts.inPlace)
	if err != nil {
		return nil, err
	}
	defer of.abort()
	src, err := mux.OpenSource(path, io.NewSectionReader(f, 0, size))
	if err != nil {
		return nil, err
	}
	res, err := mux.Repair(ctx, src, of)
	if err != nil {
		return nil, err
	}
	// Check the result before it replaces anything.
	if _, err := of.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// Scanned under a name without .partial: inspect reports any NAME.partial
	// as an unfinished part by its name alone, and this one is only unfinished
	// until the commit below (the target itself may be a recorder's .partial).
	after, err := inspect.Scan(ctx, strings.TrimSuffix(target, partialSuffix), io.NewSectionReader(of.File, 0, res.Bytes), res.Bytes, inspect.ScanOptions{})
	if err != nil {
		return nil, err
	}
	if after.Verdict != inspect.OK {
		return nil, fmt.Errorf("%s: repaired output is %s (%s): kept nothing", path, after.Verdict, after.Reason)
	}
	if opts.inPlace && !opts.noBackup {
		backup := path + ".orig"
		if _, err := os.Lstat(backup); err == nil && !opts.force {
			return nil, withHint(fmt.Errorf("%s exists", backup), "use --force to replace it, or --no-backup")
		}
		if err := os.Link(path, backup); err != nil {
			if err := copyFile(path, backup); err != nil {
				return nil, fmt.Errorf("keep %s: %w", backup, err)
			}
		}
	}
	if err := of.commit(); err != nil {
		return nil, err
	}
	rec.Output, rec.Verdict, rec.Action = target, after.Verdict, "repaired"
	rec.Frames, rec.DurationMS, rec.Bytes = res.Frames, res.DurationMS, res.Bytes
	if res.DroppedOffset >= 0 {
		off, from := res.DroppedOffset, res.DroppedFromMS
		rec.DroppedOffset, rec.DroppedFromMS, rec.DroppedBytes = &off, &from, res.DroppedBytes
	}
	if res.Problem != nil {
		rec.Problem = res.Problem.Error()
	} else if before.Verdict == inspect.Unseekable {
		rec.Problem = strings.TrimSpace(before.Reason)
	}
	return rec, nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := createOut(dst, true)
	if err != nil {
		return err
	}
	defer o.abort()
	if _, err := io.Copy(o, in); err != nil {
		return err
	}
	return o.commit()
}
