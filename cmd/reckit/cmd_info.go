package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// infoOptions are the flags of reckit info.
type infoOptions struct {
	hash bool
}

func (o *infoOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.hash, "sha256", false, "also compute the SHA-256 of each file (reads every byte)")
}

func newInfoCommand(g *globals) *cobra.Command {
	opts := &infoOptions{}
	cmd := &cobra.Command{
		Use:   "info FILE|-...",
		Short: "Show everything about WebM files, and a verdict",
		Long: longHelp(`Walk each file (every element header and block, never pixels) and
show: doctype, muxing and writing app, whether the Segment size is known,
SeekHead and Cues, the header's Duration and the duration measured from
the blocks, tracks (codec, size, every in-band resolution change with its
timestamp), frame and key-frame counts, average frame rate and bitrate,
Cluster count, first and last timestamp, tags, and a verdict:

    ok           complete and seekable
    unseekable   complete, but no Cues, Duration or Segment size
                 (live-written, e.g. by Chrome's MediaRecorder)
    incomplete   cut short (interrupted): reckit repair keeps every
                 complete frame
    corrupt      structure invalid, with the byte offset
    not-webm     not an EBML file of doctype webm or matroska

"-" reads standard input. On a file, payloads are skipped by seeking:
only element and frame headers are read (a 1 GB file in the page cache
takes about as long as cat, see docs/benchmarks.md).

Exit status 4 when any file is neither ok nor unseekable; 1 when a file
cannot be read (3 when others could).`, exitPartial, exitInvalid),
		Example: `  reckit info session.webm
  reckit info --json part-*.webm | jq -r 'select(.verdict != "ok") | .path'
  curl -s https://example.com/x.webm | reckit info -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInfo(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runInfo(ctx context.Context, opts *infoOptions, g *globals, args []string) error {
	limitStreamingMemory()
	out := newJSONL(g.io.Out)
	fails := itemFailures{total: len(args)}
	invalid := 0
	for i, path := range args {
		rep, err := infoOne(ctx, opts, g, path)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fails.add(g, path, err)
			continue
		}
		if !rep.Verdict.Acceptable(false) {
			invalid++
		}
		if g.json {
			if err := out.encode(rep); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(g.io.Out)
		}
		if err := renderInfo(g.io.Out, rep); err != nil {
			return err
		}
	}
	if err := fails.err("read"); err != nil {
		return err
	}
	if invalid > 0 {
		return &invalidMediaError{invalid: invalid, total: len(args)}
	}
	return nil
}

func infoOne(ctx context.Context, opts *infoOptions, g *globals, path string) (*inspect.Report, error) {
	if path == "-" {
		return inspect.Scan(ctx, "-", g.io.In, -1, inspect.ScanOptions{Hash: opts.hash})
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory (reckit info reads files; reckit verify checks recording directories)", path)
	}
	bar := newProgress(g, path, st.Size(), true)
	defer bar.done()
	return inspect.Scan(ctx, path, io.NewSectionReader(f, 0, st.Size()), st.Size(),
		inspect.ScanOptions{Hash: opts.hash, Progress: func(n int64) { bar.update(n, st.Size()) }})
}

// renderInfo writes the human form of a report.
func renderInfo(w io.Writer, r *inspect.Report) error {
	var b strings.Builder
	head := fmt.Sprintf("%s: %s", r.Path, r.Verdict)
	if r.Reason != "" {
		head += ": " + r.Reason
	}
	b.WriteString(head + "\n")
	line := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "  %-11s %s\n", k, fmt.Sprintf(format, args...))
	}
	if r.DocType == "" {
		line("size", "%s", bytesLong(r.Bytes))
		_, err := io.WriteString(w, b.String())
		return err
	}
	line("container", "%s v%d, muxed by %s, written by %s", r.DocType, r.DocTypeVersion, orDash(r.MuxingApp), orDash(r.WritingApp))
	if r.Title != "" {
		line("title", "%s", r.Title)
	}
	if r.DateUTC != nil {
		line("date", "%s", r.DateUTC.UTC().Format(time.RFC3339Nano))
	}
	if r.SegmentUID != "" {
		line("segment uid", "%s", r.SegmentUID)
	}
	seg := "size unknown (live layout)"
	if r.SegmentBytes != nil {
		seg = "size " + bytesLong(*r.SegmentBytes)
	}
	cues := "no Cues"
	if r.Cues {
		cues = fmt.Sprintf("Cues (%d points)", r.CuePoints)
	}
	sh := "no SeekHead"
	if r.SeekHead {
		sh = "SeekHead"
	}
	line("file", "%s; Segment %s; %s; %s", bytesLong(r.Bytes), seg, sh, cues)
	hd := "no Duration in the header"
	if r.HeaderDurationMS != nil {
		hd = "header says " + seconds(*r.HeaderDurationMS)
	}
	line("duration", "%s measured, %s", seconds(r.DurationMS), hd)
	line("timestamps", "%s to %s in %s", seconds(r.FirstTimestampMS), seconds(r.LastTimestampMS), plural(r.Clusters, "cluster"))
	line("frames", "%d (%d key), %.2f fps, %s", r.Frames, r.Keyframes, r.FPS, bitrate(r.BitrateBPS))
	for _, t := range r.Tracks {
		desc := fmt.Sprintf("%s %s", t.Kind, t.Codec)
		if t.Width > 0 {
			desc += fmt.Sprintf(" %dx%d", t.Width, t.Height)
		}
		if t.SampleRate > 0 {
			desc += fmt.Sprintf(" %g Hz %d ch", t.SampleRate, t.Channels)
		}
		line(fmt.Sprintf("track %d", t.Number), "%s: %d frames, %d key", desc, t.Frames, t.Keyframes)
		if len(t.Resolutions) > 1 {
			for _, res := range t.Resolutions {
				line("", "  %dx%d from %s", res.Width, res.Height, seconds(res.TimestampMS))
			}
		}
	}
	for _, tg := range r.Tags {
		line("tag", "%s=%s", tg.Name, tg.Value)
	}
	for _, f := range r.Findings {
		if f.Message == r.Reason {
			continue // already on the first line
		}
		where := ""
		if f.Offset != nil {
			where = fmt.Sprintf(" (byte %d)", *f.Offset)
		}
		line("finding", "%s: %s%s", f.Verdict, f.Message, where)
	}
	if r.SHA256 != "" {
		line("sha256", "%s", r.SHA256)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func seconds(ms int64) string { return fmt.Sprintf("%d.%03ds", ms/1000, ms%1000) }

func bytesLong(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d bytes (%s)", n, humanBytes(n))
}

func bitrate(bps int64) string {
	switch {
	case bps >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", float64(bps)/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", float64(bps)/1e3)
	}
	return fmt.Sprintf("%d bit/s", bps)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
