package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// joinOptions are the flags of reckit join.
type joinOptions struct {
	output string
	byTime bool
	force  bool
}

func (o *joinOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "", "write the joined recording to `FILE` (required; - for stdout)")
	fs.BoolVar(&o.byTime, "by-time", false, "place each part at its DateUTC offset from the first part (gaps kept) instead of right after the previous part")
	fs.BoolVarP(&o.force, "force", "f", false, "join parts whose order looks inconsistent, and overwrite FILE")
}

func newJoinCommand(g *globals) *cobra.Command {
	opts := &joinOptions{}
	cmd := &cobra.Command{
		Use:   "join -o OUT FILE|DIR...",
		Short: "Concatenate parts into one seekable recording",
		Long: longHelp(`Concatenate WebM parts into one seekable WebM with continuous
timestamps: each part starts where the previous one ended (or, with
--by-time, at its DateUTC offset from the first part). The output has one
Cues index and a Duration; in-band resolution changes are kept, and frame
payloads are copied byte for byte.

Parts are checked before anything is written: every part must hold one VP8
video track and the same audio track (Opus or Vorbis with the same
parameters) or none, and the order must agree with the parts' own links
(the previous/next SegmentUID tags that reckit split and reckit record
write) and their DateUTC. Differing audio tracks and an inconsistent order
are refused unless --force (which keeps the first part's audio track and
leaves out the audio of the parts that differ). Each part's audio keeps
its place relative to the part's video.

A recording directory (docs/layout.md) stands for its parts, in the order
its manifest lists them.

The output is written as OUT.partial and renamed when complete; an existing
OUT is kept unless --force.`),
		Example: `  reckit join -o session.webm session-001.webm session-002.webm session-003.webm
  reckit join -o session.webm /srv/recordings/20261122T055913Z-ws-042-3f2a9c1e
  reckit join --by-time -o day.webm morning.webm afternoon.webm`,
		Args: cobra.MinimumNArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.output == "" {
				return usageErrorf(cmd, "join needs -o OUT")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJoin(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// joinRecord is join's JSON output.
type joinRecord struct {
	Type        string `json:"type"` // "joined"
	Path        string `json:"path"`
	Parts       int    `json:"parts"`
	Frames      int64  `json:"frames"`                 // video frames
	AudioFrames int64  `json:"audio_frames,omitempty"` // frames of the audio track, if any
	DurationMS  int64  `json:"duration_ms"`
	Bytes       int64  `json:"bytes"`
	Resolutions int    `json:"resolutions"`
}

func runJoin(ctx context.Context, opts *joinOptions, g *globals, args []string) error {
	limitStreamingMemory()
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		// A recording directory: its parts, in manifest order.
		m, err := layout.Read(a)
		if err != nil {
			return withHint(fmt.Errorf("%s: %w", a, err), "join takes part files, or recording directories with a manifest")
		}
		if len(m.Parts) == 0 {
			return fmt.Errorf("%s: the manifest lists no parts", a)
		}
		for _, p := range m.Parts {
			files = append(files, filepath.Join(a, p.Name))
		}
	}
	args = files
	open := func(i int) (io.Reader, io.Closer, string, error) {
		f, err := os.Open(args[i])
		if err != nil {
			return nil, nil, "", err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, "", err
		}
		return io.NewSectionReader(f, 0, st.Size()), f, args[i], nil
	}
	var out io.Writer
	var of *outFile
	if opts.output == "-" {
		if err := refuseTerminalWebM(g, opts.output); err != nil {
			return err
		}
		out = g.io.Out
	} else {
		f, err := createOut(opts.output, opts.force)
		if err != nil {
			return err
		}
		of, out = f, f
		defer of.abort()
	}
	bar := newProgress(g, "join", int64(len(args)), false)
	res, err := mux.Join(ctx, len(args), open, out, mux.JoinOptions{ByTime: opts.byTime, Force: opts.force,
		Warn:     func(m string) { g.warnf("%s", m) },
		Progress: func(n int) { bar.update(int64(n), int64(len(args))) }})
	bar.done()
	if errors.Is(err, mux.ErrMismatch) {
		return withHint(err, "--force joins them anyway: the first part's audio track is kept, the audio of the parts that differ is left out")
	}
	if err != nil {
		return err
	}
	if of != nil {
		if err := of.commit(); err != nil {
			return err
		}
	}
	if opts.output == "-" {
		return nil
	}
	if g.json {
		return newJSONL(g.io.Out).encode(joinRecord{Type: "joined", Path: opts.output, Parts: res.Parts,
			Frames: res.Frames, AudioFrames: res.AudioFrames, DurationMS: res.DurationMS, Bytes: res.Bytes, Resolutions: res.Resolutions})
	}
	g.notef("wrote %s: %d parts, %d frames%s, %s, %s", opts.output, res.Parts, res.Frames, audioNote(res.AudioFrames),
		formatClock(time.Duration(res.DurationMS)*time.Millisecond), humanBytes(res.Bytes))
	return nil
}
