package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/rfb"
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

	// vnc sources.
	passwordFile  string
	cursor        bool
	tlsCA         string
	tlsServerName string

	// Recording directories (no -o).
	dir             string
	device          string
	user            string
	sessionID       string
	monitor         string
	note            string
	maxPartSize     int64
	partDuration    time.Duration
	maxDuration     time.Duration
	minFree         int64
	maxFramesBehind int
	onStart         string
	onSplit         string
	onWarn          string
	onStop          string
	realtime        bool
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
	fs.StringVar(&o.passwordFile, "password-file", "", "vnc: read the VNC password from the first line of `FILE` (else $RECKIT_VNC_PASSWORD)")
	fs.BoolVar(&o.cursor, "cursor", true, "vnc: record the mouse cursor (--cursor=false leaves it out)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "vnc: use TLS (VeNCrypt X509None/X509Vnc), verifying the server's certificate with the CA certificates in `FILE` (PEM)")
	fs.StringVar(&o.tlsServerName, "tls-server-name", "", "vnc: the `NAME` the server's certificate must carry (default: the host of the source; localhost for vnc+unix)")
	fs.Var(newEnumValue("scenario", []string{"tour", "typing", "pointer", "drag", "scroll", "switch"}, "tour", &o.scenario), "demo-scenario", "demo source: the whole tour or one activity")
	fs.BoolVarP(&o.force, "force", "f", false, "overwrite FILE")

	fs.StringVar(&o.dir, "dir", "", "without -o: create the recording directory under `DIR` (default $RECKIT_DIR, else the videos folder + /reckit)")
	fs.StringVar(&o.device, "device", "", "device name for the manifest and names (default: the VNC target for vnc sources, else the host name)")
	fs.StringVar(&o.user, "user", "", "user for the manifest (default $USER)")
	fs.StringVar(&o.sessionID, "session-id", "", "session id (default: random)")
	fs.StringVar(&o.monitor, "monitor", "m0", "monitor token in part names")
	fs.StringVar(&o.note, "note", "", "an initial note on the recording")
	fs.Var(newSizeValue(512<<20, &o.maxPartSize), "max-part-size", "no part larger than `SIZE`: a new part starts before it")
	fs.Var(newDurationValue(0, &o.partDuration), "part-duration", "a new part every `DUR` (default: none)")
	fs.Var(newDurationValue(24*time.Hour, &o.maxDuration), "max-duration", "stop cleanly after `DUR`, with a warning 5 minutes before")
	fs.Var(newSizeValue(100<<20, &o.minFree), "min-free", "refuse to start, or stop cleanly, below `SIZE` free on the recordings filesystem")
	fs.IntVar(&o.maxFramesBehind, "max-frames-behind", 30, "live sources: drop frames (counted) when the encoder is more than `N` frames behind")
	fs.StringVar(&o.onStart, "on-start", "", "run `CMD` (sh -c) when the recording starts")
	fs.StringVar(&o.onSplit, "on-split", "", "run `CMD` when a part is closed and the next begins (RECKIT_PART is the closed part)")
	fs.StringVar(&o.onWarn, "on-warn", "", "run `CMD` on a warning (5 minutes before --max-duration)")
	fs.StringVar(&o.onStop, "on-stop", "", "run `CMD` when the recording stops")
	fs.BoolVar(&o.realtime, "realtime", false, "deliver demo, y4m and raw frames at their real pace, as a live screen (frames the encoder cannot keep up with are dropped and counted)")
}

func newRecordCommand(g *globals) *cobra.Command {
	opts := &recordOptions{}
	cmd := &cobra.Command{
		Use:   "record SOURCE [-o FILE | --dir DIR] [flags]",
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
    vnc://HOST[:PORT]
                  a VNC server (RFB 3.3 to 3.8; port 5900, a port under
                  100 is a display number); security None, VNC password
                  (--password-file or $RECKIT_VNC_PASSWORD, never argv);
                  every encoding decoded; an idle screen repeats frames
                  at --fps (default 15); a desktop resize continues at the
                  new size. With --tls-ca FILE, TLS (VeNCrypt X509None or
                  X509Vnc) is used whenever the server offers it, the
                  server's certificate verified with the CA certificates
                  in FILE for the source's host (or --tls-server-name);
                  without it a server offering only VeNCrypt is refused.
                  Anonymous TLS (TLSNone, TLSVnc) is not possible with
                  Go's TLS
    vnc+unix:///PATH
                  a VNC server's unix socket (Xvnc -rfbunixpath); TLS
                  as for vnc://, the name checked being localhost

The recording ends at the end of input, after --duration of media time,
or on SIGINT/SIGTERM; in every case the file is finalized (Duration, Cues)
and complete. It is written as FILE.partial and renamed when complete.
A malformed input stops the recording with an error naming the frame;
the frames before it are kept in a valid file (exit status 1).

Without -o, record writes a recording directory (docs/layout.md) under
--dir: parts named by UTC start time and monitor, and a manifest written
at the start (state recording, with a lock that verify, ls and purge see)
and updated atomically as each part closes. A new part starts at
--max-part-size (default 512MiB; no part exceeds it), at a resolution
change, at a frame-rate change, and every --part-duration. The recording
stops cleanly after --max-duration (default 24h; warned 5 minutes before)
and when free space falls below --min-free (default 100MiB: it refuses to
start below it). SIGINT/SIGTERM finalize the part and the manifest and exit
0; a second signal ends the process at once, which leaves what a crash
leaves: the .partial part readable up to its last Cluster, which reckit
repair completes.

Hooks (--on-start, --on-split, --on-warn, --on-stop) run with sh -c and
RECKIT_EVENT, RECKIT_RECORDING, RECKIT_PART, RECKIT_REASON, RECKIT_BYTES and
RECKIT_DURATION (seconds) in their environment; a failing hook is reported,
never stops the recording.

With -o FILE, one file is written; a resolution change continues in the
same file with a key frame at the new size.`),
		Example: `  reckit record demo --duration 20s -o demo.webm
  ffmpeg -f lavfi -i testsrc2=s=1280x720:r=30 -t 10 -f yuv4mpegpipe - | reckit record y4m:- -o test.webm
  reckit record raw:frames.rgba --size 1920x1080 --pix-fmt rgba --fps 15 -o screen.webm
  reckit record demo --dir /srv/recordings --duration 1h --max-part-size 32MiB --on-split 'upload "$RECKIT_PART"'`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.output != "" && cmd.Flags().Changed("dir") {
				return usageErrorf(cmd, "-o and --dir exclude each other")
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
			if (opts.tlsCA != "" || opts.tlsServerName != "") && !strings.HasPrefix(args[0], "vnc://") && !strings.HasPrefix(args[0], "vnc+unix://") {
				return usageErrorf(cmd, "--tls-ca and --tls-server-name are for vnc:// and vnc+unix:// sources, not %q", args[0])
			}
			if opts.tlsServerName != "" && opts.tlsCA == "" {
				return usageErrorf(cmd, "--tls-server-name needs --tls-ca FILE")
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
	so.HideCursor = !opts.cursor
	if pw, err := vncPassword(opts.passwordFile); err != nil {
		return err
	} else {
		so.Password = pw
	}
	if opts.tlsCA != "" {
		cfg, err := loadClientTLS(opts.tlsCA, vncServerName(opts.tlsServerName, args[0]))
		if err != nil {
			return err
		}
		so.TLSConfig = cfg
	}
	if opts.scenario != "tour" {
		so.Scenario = opts.scenario
	}
	if opts.size != "" {
		so.Width, so.Height, _ = parseWxH(opts.size)
	}
	src, err := record.OpenSource(args[0], so)
	if errors.Is(err, rfb.ErrAuth) {
		return withHint(err, "give the VNC password with --password-file FILE or $RECKIT_VNC_PASSWORD")
	}
	if errors.Is(err, rfb.ErrUnsupported) && opts.tlsCA == "" && strings.Contains(err.Error(), "only VeNCrypt") {
		return withHint(err, "give the CA of the server's certificate with --tls-ca FILE")
	}
	if err != nil {
		return err
	}
	defer src.Close()
	factory, err := encoderFactory(opts.encoder)
	if err != nil {
		return err
	}
	if opts.fps > 0 && strings.HasPrefix(args[0], "y4m:") {
		src = record.WithFPS(src, opts.fps)
	}
	if opts.realtime {
		src = record.Paced(src, time.Now)
	}
	if opts.output == "" {
		return runRecordSession(ctx, opts, g, args[0], src, factory)
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

// vncPassword reads the VNC password from the first line of file, else
// from $RECKIT_VNC_PASSWORD; nil when neither is set. Never from argv.
func vncPassword(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return []byte(strings.TrimSuffix(line, "\r")), nil
	}
	if pw, ok := os.LookupEnv("RECKIT_VNC_PASSWORD"); ok {
		return []byte(pw), nil
	}
	return nil, nil
}

// vncServerName is the name a vnc source's certificate is checked
// against: name when given, else the host of a vnc:// spec, else
// localhost.
func vncServerName(name, spec string) string {
	if name != "" {
		return name
	}
	if rest, ok := strings.CutPrefix(spec, "vnc://"); ok {
		if u, err := url.Parse("vnc://" + rest); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	return "localhost"
}
