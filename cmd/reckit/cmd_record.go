package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// recordOptions are the flags of reckit record.
type recordOptions struct {
	output      string
	fps         float64
	duration    time.Duration
	quality     int
	keyInterval time.Duration
	size        string
	pixFmt      string
	encoder     string
	title       string
	scenario    string
	force       bool
}

func (o *recordOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "", "write the recording to `FILE` (- for stdout: live layout)")
	fs.Float64Var(&o.fps, "fps", 0, "frames per second (raw: required; demo: default 15; y4m: overrides the header)")
	fs.Var(newDurationValue(0, &o.duration), "duration", "stop after `DUR` of media time (e.g. 20s, 1h30m); default: until the input ends or SIGINT")
	fs.IntVar(&o.quality, "quality", 0, "encoder quality 1..100, higher is better (default 80: about 45 dB on screen content)")
	fs.Var(newDurationValue(10*time.Second, &o.keyInterval), "keyframe-interval", "a key frame at least every `DUR`")
	fs.StringVar(&o.size, "size", "", "frame size `WxH` (raw: required; demo: default 1920x1080)")
	fs.Var(newEnumValue("format", []string{"rgba", "bgra", "rgb24"}, "rgba", &o.pixFmt), "pix-fmt", "raw pixel format: rgba, bgra or rgb24")
	fs.Var(newEnumValue("encoder", encoderNames(), "pure-go", &o.encoder), "encoder", "VP8 encoder: "+strings.Join(encoderNames(), " or "))
	fs.StringVar(&o.title, "title", "", "title written into the recording")
	fs.Var(newEnumValue("scenario", []string{"tour", "typing", "pointer", "drag", "scroll", "switch"}, "tour", &o.scenario), "demo-scenario", "demo source: the whole tour or one activity")
	fs.BoolVarP(&o.force, "force", "f", false, "overwrite FILE")
}

func newRecordCommand(g *globals) *cobra.Command {
	opts := &recordOptions{}
	cmd := &cobra.Command{
		Use:   "record SOURCE -o FILE [flags]",
		Short: "Capture frames, encode VP8 with reckit's own encoder, write WebM",
		Long: longHelp(`Record SOURCE into a WebM file, encoding with reckit's pure-Go VP8
encoder (no ffmpeg or libvpx needed). Sources:

    demo          a built-in, deterministic synthetic desktop: a terminal
                  being typed in, a moving pointer, a dragged window, a
                  scrolled page, an app switch every ~10 s (--size, --fps)
    y4m:PATH      YUV4MPEG2 (4:2:0, 4:4:4 and mono are converted); y4m:-
                  reads stdin, e.g. ffmpeg ... -f yuv4mpegpipe - | reckit
                  record y4m:- -o out.webm
    raw:PATH      raw frames with --size WxH --pix-fmt rgba|bgra|rgb24
                  --fps N; raw:- reads stdin

The recording ends at the end of input, after --duration of media time,
or on SIGINT/SIGTERM; in every case the file is finalized (Duration, Cues)
and complete. It is written as FILE.partial and renamed when complete.
A malformed input stops the recording with an error naming the frame;
the frames before it are kept in a valid file (exit status 1).

A resolution change in the input (a new y4m stream header) continues in
the same file with a key frame at the new size.`),
		Example: `  reckit record demo --duration 20s -o demo.webm
  ffmpeg -f lavfi -i testsrc2=s=1280x720:r=30 -t 10 -f yuv4mpegpipe - | reckit record y4m:- -o test.webm
  reckit record raw:frames.rgba --size 1920x1080 --pix-fmt rgba --fps 15 -o screen.webm`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.output == "" {
				return usageErrorf(cmd, "record needs -o FILE (recording directories come with the recorder)")
			}
			if opts.quality < 0 || opts.quality > 100 {
				return usageErrorf(cmd, "--quality %d: want 1..100", opts.quality)
			}
			if opts.size != "" {
				if _, _, err := parseWxH(opts.size); err != nil {
					return usageErrorf(cmd, "--size %q: %v", opts.size, err)
				}
			}
			if opts.fps < 0 || opts.fps > 1000 {
				return usageErrorf(cmd, "--fps %g: want 0 < fps <= 1000", opts.fps)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRecord(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func parseWxH(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, fmt.Errorf("want WIDTHxHEIGHT")
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 || w > 16383 || h > 16383 {
		return 0, 0, fmt.Errorf("want WIDTHxHEIGHT with positive sizes")
	}
	return w, h, nil
}

// recordRecord is record's JSON output.
type recordRecord struct {
	Type string `json:"type"` // "recording"
	Path string `json:"path"`
	record.Stats
}

func runRecord(ctx context.Context, opts *recordOptions, g *globals, args []string) error {
	so := record.SourceOptions{Stdin: g.io.In, PixFmt: opts.pixFmt, FPS: opts.fps}
	if opts.scenario != "tour" {
		so.Scenario = opts.scenario
	}
	if opts.size != "" {
		so.Width, so.Height, _ = parseWxH(opts.size)
	}
	src, err := record.OpenSource(args[0], so)
	if err != nil {
		return err
	}
	defer src.Close()
	factory, err := encoderFactory(opts.encoder)
	if err != nil {
		return err
	}
	var out io.Writer
	var of *outFile
	if opts.output == "-" {
		if err := refuseTerminalWebM(g, opts.output); err != nil {
			return err
		}
		out = g.io.Out
	} else {
		if of, err = createOut(opts.output, opts.force); err != nil {
			return err
		}
		defer of.abort()
		out = of
	}
	if opts.fps > 0 && strings.HasPrefix(args[0], "y4m:") {
		src = record.WithFPS(src, opts.fps)
	}
	host, _ := os.Hostname()
	start := g.now().UTC()
	bar := newProgress(g, "record", -1, false)
	st, err := record.Record(ctx, src, out, record.RecordOptions{
		Encoder: factory, Quality: opts.quality, KeyframeInterval: opts.keyInterval, Duration: opts.duration,
		Start: start, Title: opts.title,
		Tags: []mux.SimpleTag{{Name: mux.TagSource, Value: args[0]}, {Name: mux.TagDevice, Value: host}},
		Progress: func(s record.Stats) {
			bar.update(s.Frames, -1)
		},
	})
	bar.done()
	if st.Frames > 0 && of != nil {
		if cerr := of.commit(); cerr != nil {
			return cerr
		}
	}
	if err != nil {
		if st.Frames > 0 {
			return fmt.Errorf("%w (the %d frames before it are kept in %s)", err, st.Frames, opts.output)
		}
		return err
	}
	if g.json {
		return newJSONL(g.io.Out).encode(recordRecord{Type: "recording", Path: opts.output, Stats: st})
	}
	if opts.output != "-" {
		g.notef("wrote %s: %d frames (%d key), %dx%d, %s, %s (%s)", opts.output, st.Frames, st.Keyframes, st.Width, st.Height,
			formatClock(st.Duration), humanBytes(st.Bytes), st.StopReason)
	}
	return nil
}
