package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// verifyOptions are the flags of reckit verify.
type verifyOptions struct {
	deep   bool
	maxGap time.Duration
	strict bool
	noHash bool
	jobs   int
}

func (o *verifyOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.deep, "deep", false, "also check timestamps per track, gaps and the header Duration")
	fs.Var(newDurationValue(10*time.Second, &o.maxGap), "max-gap", "with --deep, report gaps between frames longer than this (0: never)")
	fs.BoolVar(&o.strict, "strict", false, "unseekable files (no Cues or Duration) fail too")
	fs.BoolVar(&o.noHash, "no-checksum", false, "structure and sizes only: skip the SHA-256 (a changed payload byte goes unseen)")
	fs.IntVarP(&o.jobs, "jobs", "j", 0, "files verified in parallel (0: the number of CPUs)")
}

func newVerifyCommand(g *globals) *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [PATH...]",
		Short: "Check the integrity of recordings, for CI and audits",
		Long: longHelp(`Verify every recording under each PATH: a WebM file, a recording
directory or a tree of them (default: $RECKIT_DIR, else
$XDG_VIDEOS_DIR/reckit, else ~/Videos/reckit).

Each file is read once: its structure is walked (every element header
and block, the VP8 header of every frame) and its SHA-256 computed in the
same pass, then compared with the recording's manifest. Verdicts, for
each part and each recording:

    ok                 complete, seekable, matches the manifest
    recording          being recorded (its recording lock is held)
    unseekable         complete, no Cues or Duration: a failure only
                       with --strict
    incomplete         cut short or interrupted: reckit repair keeps
                       every complete frame
    corrupt            structure invalid (with the byte offset)
    size-mismatch      the size differs from the manifest
    checksum-mismatch  the SHA-256 differs from the manifest, or the
                       manifest's hash chain is broken
    missing            in the manifest, not on disk
    orphan             on disk, not in the manifest
    not-webm           not a WebM file

--deep also checks that timestamps never go back within a track,
reports gaps longer than --max-gap, and compares the header Duration
with the measured one.

Files are verified --jobs at a time; the output order is the walk's
(lexical), whatever the timing. --no-checksum skips the SHA-256
(structure and sizes only, about as fast as reading the headers).

Exit status 0 when every recording is ok, unseekable (without --strict)
or recording; 4 when any is not; 1 when a file or directory cannot be
read.`, exitInvalid),
		Example: `  reckit verify /srv/recordings
  reckit verify --json --strict . | jq -c 'select(.type == "recording" and .verdict != "ok")'
  reckit verify --deep --max-gap 5s session.webm`,
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.jobs < 0 {
				return usageErrorf(cmd, "--jobs must not be negative")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runVerify(ctx context.Context, opts *verifyOptions, g *globals, args []string) error {
	roots, err := rootsOrDefault(args)
	if err != nil {
		return err
	}
	out := newJSONL(g.io.Out)
	jobs := opts.jobs
	if jobs == 0 {
		jobs = runtime.NumCPU()
	}
	vo := inspect.VerifyOptions{Deep: opts.deep, MaxGap: opts.maxGap, Strict: opts.strict, NoHash: opts.noHash, Jobs: jobs}
	bar := &progress{}
	if !g.quiet && !g.json && g.io.IsTerminalErr() {
		// Sizing the bar costs a walk of the manifests and a stat per
		// file: cheap next to reading every byte.
		var total int64
		_ = inspect.Catalog(ctx, roots, inspect.CatalogOptions{}, func(r *inspect.Recording) error {
			total += r.Bytes
			return nil
		}, nil)
		bar = newProgress(g, "verify", total, true)
		vo.Progress = func(done int64) { bar.update(done, total) }
	}
	var unreadable int
	var firstUnreadable error
	var pending []*inspect.PartResult // a recording's parts, shown under it
	sum, err := inspect.Verify(ctx, roots, vo, func(v any) error {
		if g.json {
			return out.encode(v)
		}
		switch x := v.(type) {
		case *inspect.PartResult:
			pending = append(pending, x)
		case *inspect.RecordingResult:
			parts := pending
			pending = pending[:0]
			return renderVerify(g.io.Out, x, parts, opts.strict)
		}
		return nil
	}, func(u *inspect.Unknown) error {
		if u.Kind == "error" {
			unreadable++
			err := fmt.Errorf("%s: %s", u.Path, u.Reason)
			if firstUnreadable == nil {
				firstUnreadable = err
			}
			g.itemErrorf(u.Path, err)
		}
		return nil
	})
	bar.done()
	if err != nil {
		return err
	}
	if g.json {
		if err := out.encode(sum); err != nil {
			return err
		}
	} else {
		g.notef("verified %s (%s, %s): %d invalid", plural(sum.Recordings, "recording"), plural(sum.Parts, "file"), humanBytes(sum.Bytes), sum.Invalid)
	}
	switch {
	case unreadable > 0:
		return fmt.Errorf("%d directories could not be read: %w", unreadable, firstUnreadable)
	case sum.Invalid > 0:
		return &invalidMediaError{invalid: sum.Invalid, total: sum.Recordings, noun: "recordings"}
	}
	return nil
}

// renderVerify writes one recording's human form: "PATH: verdict: reason",
// then each part that is not ok, indented.
func renderVerify(w io.Writer, r *inspect.RecordingResult, parts []*inspect.PartResult, strict bool) error {
	var b strings.Builder
	b.WriteString(r.Path + ": " + string(r.Verdict))
	if r.Reason != "" {
		b.WriteString(": " + r.Reason)
	}
	b.WriteByte('\n')
	if r.Kind == "directory" {
		for _, f := range r.Findings {
			if f.Verdict != inspect.OK && f.Message != r.Reason {
				fmt.Fprintf(&b, "  %s: %s\n", f.Verdict, f.Message)
			}
		}
		for _, p := range parts {
			if p.Verdict == inspect.OK {
				continue
			}
			fmt.Fprintf(&b, "  %s: %s", p.Path, p.Verdict)
			if p.Reason != "" {
				b.WriteString(": " + p.Reason)
			}
			if p.Offset != nil {
				fmt.Fprintf(&b, " (byte %d)", *p.Offset)
			}
			b.WriteByte('\n')
		}
	} else if len(parts) == 1 && parts[0].Offset != nil && parts[0].Verdict == r.Verdict {
		s := strings.TrimSuffix(b.String(), "\n")
		b.Reset()
		fmt.Fprintf(&b, "%s (byte %d)\n", s, *parts[0].Offset)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
