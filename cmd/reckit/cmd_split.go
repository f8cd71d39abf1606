package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// splitOptions are the flags of reckit split.
type splitOptions struct {
	size       int64
	duration   time.Duration
	resolution bool
	outDir     string
	name       string
	force      bool
}

func (o *splitOptions) addFlags(fs *pflag.FlagSet) {
	fs.Var(newSizeValue(0, &o.size), "size", "no part larger than `SIZE` bytes, ever (e.g. 512MiB, 32M, 1GB)")
	fs.Var(newDurationValue(0, &o.duration), "duration", "parts of about `DUR`, cut at the first key frame at or after each boundary (e.g. 10m, 1h)")
	fs.BoolVar(&o.resolution, "at-resolution-change", false, "start a part at every in-band resolution change")
	fs.StringVarP(&o.outDir, "output-dir", "o", "", "write the parts into `DIR` (default: next to the input; the current directory for stdin)")
	fs.StringVar(&o.name, "name", "{base}-{part:03}.webm", "part file name `TEMPLATE`: {base} is the input name without .webm, {part} the part number ({part:03} zero-pads it)")
	fs.BoolVarP(&o.force, "force", "f", false, "overwrite existing part files")
}

func newSplitCommand(g *globals) *cobra.Command {
	opts := &splitOptions{}
	cmd := &cobra.Command{
		Use:   "split FILE|- [flags]",
		Short: "Cut a recording into standalone, seekable parts",
		Long: longHelp(`Cut a WebM recording into parts, each a standalone, seekable WebM (its own
header, Duration, Cues, timestamps from 0, a DateUTC advanced to the part's
start, and tags linking the previous and next parts). Frame payloads are
copied byte for byte; nothing is re-encoded. Besides its VP8 video, a
recording may hold one Opus or Vorbis audio track: each audio frame goes
into the part whose time range (from its first key frame to the next
part's) holds it, and counts towards --size.

Cuts happen only before key frames:

    --size SIZE             no part is larger than SIZE. A key-frame
                            interval that alone is larger gets a part of its
                            own, with a warning naming it.
    --duration DUR          a part starts at the first key frame at or after
                            every multiple of DUR.
    --at-resolution-change  a part starts at every key frame whose size
                            differs (monitor switch, rotation).

The options combine. Parts are written as NAME.partial and renamed when
complete; existing files are never overwritten without --force. Unseekable
inputs and stdin work. On an input cut short or corrupt, every complete
frame is split, the rest is reported, and the exit status is 3.

The part list goes to stdout (a table, or one JSON object per part).`, exitPartial),
		Example: `  reckit split --size 512MiB session.webm
  reckit split --duration 10m --at-resolution-change -o parts/ session.webm
  reckit record demo --duration 30s -o - | reckit split --size 32MiB -o parts/ -`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.size <= 0 && opts.duration <= 0 && !opts.resolution {
				return usageErrorf(cmd, "split needs --size, --duration or --at-resolution-change")
			}
			if !strings.Contains(opts.name, "{part") {
				return usageErrorf(cmd, "--name %q must contain {part} so that the parts get different names", opts.name)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSplit(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// partSink writes parts as files in a directory. Commit makes a part
// durable and final in the background (fsync, rename, fsync of the
// directory) while Split writes the next one, one commit at a time, in
// order; wait ends the last one. A final name still always holds a
// complete file: only the commit renames.
type partSink struct {
	dir, base, tmpl string
	force           bool
	open            map[int]*outFile
	names           map[int]string

	pending     chan error // the commit in flight, nil when none
	pendingPart int
	failed      []int // parts whose commit failed: not final
}

// wait waits for the commit in flight and returns its error.
func (s *partSink) wait() error {
	if s.pending == nil {
		return nil
	}
	err := <-s.pending
	s.pending = nil
	if err != nil {
		s.failed = append(s.failed, s.pendingPart)
	}
	return err
}

var partField = regexp.MustCompile(`\{part(?::0?(\d+))?\}`)

func (s *partSink) name(i int) string {
	n := partField.ReplaceAllStringFunc(s.tmpl, func(m string) string {
		width := 0
		if sub := partField.FindStringSubmatch(m); sub[1] != "" {
			width, _ = strconv.Atoi(sub[1])
		}
		return fmt.Sprintf("%0*d", width, i)
	})
	return strings.ReplaceAll(n, "{base}", s.base)
}

func (s *partSink) Create(i int) (io.WriteSeeker, error) {
	name := filepath.Join(s.dir, s.name(i))
	f, err := createOut(name, s.force)
	if err != nil {
		return nil, err
	}
	s.open[i], s.names[i] = f, name
	return f, nil
}

func (s *partSink) Commit(i int, info *mux.PartInfo) error {
	f := s.open[i]
	delete(s.open, i)
	info.Name = s.names[i]
	if err := s.wait(); err != nil {
		f.abort()
		return err
	}
	done := make(chan error, 1)
	s.pending, s.pendingPart = done, i
	go func() { done <- f.commit() }()
	return nil
}

func (s *partSink) Abort(i int) {
	if f := s.open[i]; f != nil {
		f.abort()
		delete(s.open, i)
	}
}

// splitPartRecord is one part in split's JSON output.
type splitPartRecord struct {
	Type string `json:"type"` // "part"
	mux.PartInfo
}

func runSplit(ctx context.Context, opts *splitOptions, g *globals, args []string) error {
	limitStreamingMemory()
	in := args[0]
	var r io.Reader
	var size int64 = -1
	base := "stdin"
	dir := opts.outDir
	if in == "-" {
		r = g.io.In
		if dir == "" {
			dir = "."
		}
	} else {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.IsDir() {
			return fmt.Errorf("%s: is a directory", in)
		}
		size = st.Size()
		r = io.NewSectionReader(f, 0, size)
		base = strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		if dir == "" {
			dir = filepath.Dir(in)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("not a directory")
		}
		return fmt.Errorf("output directory %s: %w", dir, err)
	}
	src, err := mux.OpenSource(in, r)
	if err != nil {
		return err
	}
	bar := newProgress(g, "split", size, true)
	defer bar.done()
	sink := &partSink{dir: dir, base: base, tmpl: opts.name, force: opts.force, open: map[int]*outFile{}, names: map[int]string{}}
	res, err := mux.Split(ctx, src, mux.SplitOptions{
		MaxBytes: opts.size, MaxDuration: opts.duration, AtResolutionChange: opts.resolution,
		Spill: func() (mux.SpillFile, error) {
			f, err := os.CreateTemp(dir, ".reckit-split-*")
			if err != nil {
				return nil, err
			}
			os.Remove(f.Name()) // unlinked: gone when closed, even on a crash
			return f, nil
		},
		Progress: func(n int64) { bar.update(n, size) },
		Warn:     func(m string) { g.warnf("%s", m) },
	}, sink)
	// The last part is final only once its commit is done; a part whose
	// commit failed is not listed.
	if cerr := sink.wait(); cerr != nil && err == nil {
		err = cerr
	}
	if res != nil {
		res.Parts = slices.DeleteFunc(res.Parts, func(p mux.PartInfo) bool { return slices.Contains(sink.failed, p.Index) })
	}
	bar.done()
	if res != nil {
		if rerr := renderParts(g, res.Parts); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return err
	}
	if res.Stopped != nil {
		left := "the rest of the input"
		if res.LeftOut >= 0 {
			left = fmt.Sprintf("%d bytes from byte %d", res.LeftOut, res.LeftOutOffset)
		}
		return &partialError{err: res.Stopped, msg: fmt.Sprintf("%s: wrote %d parts with every complete frame; left out %s: %v",
			in, len(res.Parts), left, res.Stopped)}
	}
	for _, p := range res.Parts {
		g.notef("wrote %s", p.Name)
	}
	return nil
}

func renderParts(g *globals, parts []mux.PartInfo) error {
	if g.json {
		out := newJSONL(g.io.Out)
		for _, p := range parts {
			if err := out.encode(splitPartRecord{Type: "part", PartInfo: p}); err != nil {
				return err
			}
		}
		return nil
	}
	t := newTable(g.io, "PART", "NAME", "SIZE", "START", "DURATION", "FRAMES", "RESOLUTION", "REASON")
	for _, p := range parts {
		t.row(p.Index, p.Name, byteCount(p.Bytes), time.Duration(p.StartMS)*time.Millisecond,
			time.Duration(p.DurationMS)*time.Millisecond, p.Frames, fmt.Sprintf("%dx%d", p.Width, p.Height), p.Reason)
	}
	return t.render()
}
