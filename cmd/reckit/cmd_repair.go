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
		Use:   "repair FILE|DIR... (-o OUT | --in-place)",
		Short: "Make an interrupted or live-written recording complete and seekable",
		Long: longHelp(`Rewrite an interrupted or live-written WebM (unknown-size Segment and
Clusters, no Cues or Duration, a cut final Cluster or block) into a
complete, seekable file holding every complete frame, video and audio
(one Opus or Vorbis track): known sizes, a
Duration measured from the blocks, SeekHead and Cues. Title, DateUTC,
SegmentUID and tags are kept, so a repaired part still links to its
neighbours. Exactly what was dropped is reported: the bytes, their offset
and where in time they start.

A file that is already ok is left alone ("nothing to do"), never rewritten.
With -o the result goes to OUT (written as OUT.partial, then renamed). With
--in-place each FILE is replaced (temp file, fsync, rename) and the
original kept as FILE.orig unless --no-backup.

A recording directory whose recorder died (reckit verify: incomplete,
interrupted) is finished with --in-place: each NAME.webm.partial becomes
the complete part NAME.webm with every complete frame, and is then
removed; a .partial cut before its first complete key frame is removed; a
complete part the recorder did not get to list is listed. Each part enters
the manifest with its size, SHA-256, hash-chain value and a note saying
what was kept and dropped, and the recording becomes complete, with stop
reason "crash". Nothing that may hold more frames is removed: a .partial
damaged in the middle stops the repair, untouched (-o recovers a copy of
what precedes the damage). Refused: a recording still being recorded or
under legal hold, a part of another recording (its session tag),
--in-place on a single part of a recording directory, and -o into one.

Exit status 3 when some files could not be repaired and others were.`, exitPartial),
		Example: `  reckit repair -o fixed.webm crashed.webm
  reckit repair --in-place ~/Downloads/*.webm
  reckit repair --in-place /var/lib/reckit/20261122T085542Z-ws-1-dbfa191a`,
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
	Verdict       inspect.Verdict `json:"verdict"`                // of the output (or the input when nothing was done)
	Action        string          `json:"action"`                 // repaired, nothing-to-do
	Frames        int64           `json:"frames"`                 // video frames
	AudioFrames   int64           `json:"audio_frames,omitempty"` // frames of the audio track, if any
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
		var recs []*repairRecord
		var err error
		if st, serr := os.Stat(path); serr == nil && st.IsDir() {
			recs, err = repairRecording(ctx, opts, path, g.warnf)
		} else {
			var rec *repairRecord
			if rec, err = repairOne(ctx, opts, g, path); err == nil {
				recs = append(recs, rec)
			}
		}
		// A recording directory stops at its first failing part; what was
		// done before it is reported.
		for _, rec := range recs {
			if werr := renderRepair(g, out, rec); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fails.add(g, path, err)
		}
	}
	return fails.err("repaired")
}

// renderRepair prints one record: a JSON line, or a line of text.
func renderRepair(g *globals, out *jsonl, rec *repairRecord) error {
	if g.json {
		return out.encode(rec)
	}
	w := g.io.Out
	switch rec.Action {
	case "nothing-to-do":
		fmt.Fprintf(w, "%s: %s, nothing to do\n", rec.Path, rec.Before)
	case "listed":
		fmt.Fprintf(w, "%s: %s, listed in the manifest: %d frames (%s)\n", rec.Path, rec.Verdict, rec.Frames, seconds(rec.DurationMS))
	case "removed":
		fmt.Fprintf(w, "%s: removed: %s in its %d bytes\n", rec.Path, rec.Problem, rec.DroppedBytes)
	case "verified":
		fmt.Fprintf(w, "%s: removed: %s already holds its repair (%d frames)\n", rec.Path, rec.Output, rec.Frames)
	default:
		fmt.Fprintf(w, "%s: %s -> %s: kept %d frames%s (%s)", rec.Path, rec.Before, rec.Output, rec.Frames, audioNote(rec.AudioFrames), seconds(rec.DurationMS))
		if rec.DroppedOffset != nil {
			fmt.Fprintf(w, ", dropped %d bytes from byte %d (from %s on): %s", rec.DroppedBytes, *rec.DroppedOffset, seconds(*rec.DroppedFromMS), rec.Problem)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// audioNote is " and N audio frames", or "" without audio.
func audioNote(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d audio frames", n)
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
	if opts.inPlace {
		// A part of a recording directory is listed in its manifest (size,
		// SHA-256, hash chain) or is a recorder's .partial, perhaps still
		// being written: only the directory's own repair may change it.
		if dir := filepath.Dir(path); isRecordingDir(dir) {
			return nil, withHint(fmt.Errorf("%s: part of the recording directory %s: not repaired on its own", path, dir),
				fmt.Sprintf("reckit repair --in-place %s finishes the recording; -o OUT repairs a copy", dir))
		}
	}
	// The headers tell most repair candidates (cut, live-written: Segment
	// size, Cues or Duration missing) without reading the file; only a file
	// whose headers look complete is walked to decide whether anything is
	// wrong with it.
	before, err := inspect.Probe(path, io.NewSectionReader(f, 0, size), size)
	if err != nil {
		return nil, err
	}
	if before.Verdict == inspect.OK {
		if before, err = inspect.Scan(ctx, path, io.NewSectionReader(f, 0, size), size, inspect.ScanOptions{}); err != nil {
			return nil, err
		}
	}
	rec := &repairRecord{Type: "repair", Path: path, Before: before.Verdict, Verdict: before.Verdict,
		Frames: before.Frames, DurationMS: before.DurationMS, Bytes: size}
	if n := len(before.Tracks); n > 1 {
		rec.Frames = 0
		for _, t := range before.Tracks {
			if t.Kind == "video" {
				rec.Frames += t.Frames
			} else if t.Kind == "audio" {
				rec.AudioFrames += t.Frames
			}
		}
	}
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
	if dir := filepath.Dir(target); !opts.inPlace && isRecordingDir(dir) {
		// An unlisted file there is not part of the recording, and a part's
		// own name would stand for the part without the manifest's hash.
		return nil, withHint(fmt.Errorf("%s: inside the recording directory %s", target, dir),
			"write the copy outside it; reckit repair --in-place "+dir+" finishes the recording itself")
	}
	// With --in-place the target exists by design: createOut may replace it.
	of, err := createOut(target, opts.force || opts.inPlace)
	if err != nil {
		return nil, err
	}
	defer of.abort()
	// The output is walked in full before it replaces anything only when
	// the original is not kept; otherwise its headers are checked.
	res, after, err := repairInto(ctx, path, f, size, of, target, opts.inPlace && opts.noBackup)
	if err != nil {
		return nil, err
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
	rec.Frames, rec.AudioFrames, rec.DurationMS, rec.Bytes = res.Frames, res.AudioFrames, res.DurationMS, res.Bytes
	if res.AlphaDropped {
		g.warnf("%s: %s", path, mux.AlphaWarning)
	}
	if res.ShiftMS > 0 {
		g.warnf("%s: starts %d ms before 0: every timestamp moved %d ms later", path, res.ShiftMS, res.ShiftMS)
	}
	if res.DroppedOffset >= 0 {
		off, from := res.DroppedOffset, res.DroppedFromMS
		rec.DroppedOffset, rec.DroppedFromMS, rec.DroppedBytes = &off, &from, res.DroppedBytes
	}
	if res.Problem != nil {
		rec.Problem = res.Problem.Error()
		// What the walk found, where the headers did not tell.
		v := inspect.Incomplete
		if errors.Is(res.Problem, mux.ErrCorrupt) {
			v = inspect.Corrupt
		}
		if inspect.Worse(v, rec.Before) {
			rec.Before = v
		}
	} else if before.Verdict == inspect.Unseekable {
		rec.Problem = strings.TrimSpace(before.Reason)
	}
	return rec, nil
}

// repairInto rewrites the input f (size bytes, named path) into of and
// checks the result, which is to become target, before anything replaces
// anything: its headers must probe as ok, and with walk the whole file
// must scan as ok.
func repairInto(ctx context.Context, path string, f *os.File, size int64, of *outFile, target string, walk bool) (*mux.RepairResult, *inspect.Report, error) {
	src, err := mux.OpenSource(path, io.NewSectionReader(f, 0, size))
	if err != nil {
		return nil, nil, err
	}
	res, err := mux.Repair(ctx, src, of)
	if err != nil {
		return nil, nil, err
	}
	if _, err := of.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	// Scanned under a name without .partial: inspect reports any NAME.partial
	// as an unfinished part by its name alone, and this one is only unfinished
	// until it is committed (the target itself may be a recorder's .partial).
	name, out := strings.TrimSuffix(target, partialSuffix), io.NewSectionReader(of.File, 0, res.Bytes)
	var after *inspect.Report
	if walk {
		after, err = inspect.Scan(ctx, name, out, res.Bytes, inspect.ScanOptions{})
	} else {
		after, err = inspect.Probe(name, out, res.Bytes)
	}
	if err != nil {
		return nil, nil, err
	}
	if after.Verdict != inspect.OK {
		return nil, nil, fmt.Errorf("%s: repaired output is %s (%s): kept nothing", path, after.Verdict, after.Reason)
	}
	return res, after, nil
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
