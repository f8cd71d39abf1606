package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/reckit/reckit/record"
)

// sessionRecord is record's JSON output for a recording directory.
type sessionRecord struct {
	Type       string `json:"type"` // "recording"
	Path       string `json:"path"`
	Parts      int    `json:"parts"`
	Frames     int64  `json:"frames"`
	Dropped    int64  `json:"dropped_frames"`
	Bytes      int64  `json:"bytes"`
	DurationMS int64  `json:"duration_ms"`
	StopReason string `json:"stop_reason"`
}

// hookRunner runs hook commands in the background and waits for them at
// the end, so that a slow upload never stalls the recording and no
// goroutine outlives the command.
type hookRunner struct {
	g    *globals
	cmds map[string]string // event kind -> command
	wg   sync.WaitGroup
}

func (h *hookRunner) run(e record.Event) {
	cmd := h.cmds[e.Kind]
	if cmd == "" {
		return
	}
	env := append(os.Environ(),
		"RECKIT_EVENT="+e.Kind, "RECKIT_RECORDING="+e.Recording, "RECKIT_PART="+e.Part,
		"RECKIT_REASON="+e.Reason, fmt.Sprintf("RECKIT_BYTES=%d", e.Bytes),
		fmt.Sprintf("RECKIT_DURATION=%.3f", e.Duration.Seconds()))
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		c := exec.Command("sh", "-c", cmd)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if len(msg) > 200 {
				msg = msg[len(msg)-200:]
			}
			if msg != "" {
				msg = ": " + msg
			}
			h.g.warnf("--on-%s hook failed: %v%s", e.Kind, err, msg)
		}
	}()
}

func runRecordSession(ctx context.Context, opts *recordOptions, g *globals, spec string, src record.Source, factory record.EncoderFactory) error {
	root := opts.dir
	if root == "" {
		d, err := defaultRecordingsDir()
		if err != nil {
			return err
		}
		root = d
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return err
	}
	device := opts.device
	if device == "" {
		device = vncTarget(spec)
	}
	if device == "" {
		device, _ = os.Hostname()
	}
	user := opts.user
	if user == "" {
		user = currentUser()
	}
	sid := opts.sessionID
	if sid == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		sid = hex.EncodeToString(b)
	}
	hooks := &hookRunner{g: g, cmds: map[string]string{"start": opts.onStart, "split": opts.onSplit, "warn": opts.onWarn, "stop": opts.onStop}}
	defer hooks.wg.Wait()
	line := newStatusLine(g)
	defer line.done()
	realtime := opts.realtime || strings.HasPrefix(spec, "vnc") || strings.HasPrefix(spec, "x11:")
	res, err := record.RecordSession(ctx, src, record.SessionOptions{
		Root: root, Device: device, User: user, SessionID: sid, Monitor: opts.monitor, Title: opts.title,
		Note: opts.note, Source: spec, Recorder: "reckit " + versionString(), Start: g.now().UTC(), Now: g.now,
		Encoder: factory, Quality: opts.quality, KeyframeInterval: opts.keyInterval,
		Duration: opts.duration, MaxPartSize: opts.maxPartSize, PartDuration: opts.partDuration, MaxDuration: opts.maxDuration,
		MinFree: opts.minFree, Realtime: realtime, MaxFramesBehind: opts.maxFramesBehind,
		Events: func(e record.Event) {
			if e.Kind == "warn" {
				g.warnf("%s", e.Message)
			}
			hooks.run(e)
		},
		Progress: func(p record.SessionProgress) {
			line.show(p)
		},
	})
	line.done()
	if res == nil {
		if errors.Is(err, record.ErrLowSpace) {
			return withHint(err, "free some space (reckit purge) or lower --min-free")
		}
		return err
	}
	reason := ""
	parts := 0
	if res.Manifest != nil {
		reason, parts = res.Manifest.StopReason, len(res.Manifest.Parts)
	}
	if g.json {
		if jerr := newJSONL(g.io.Out).encode(sessionRecord{Type: "recording", Path: res.Dir, Parts: parts, Frames: res.Frames,
			Dropped: res.Dropped, Bytes: res.Bytes, DurationMS: res.Duration.Milliseconds(), StopReason: reason}); jerr != nil {
			return jerr
		}
	} else {
		g.notef("wrote %s: %d parts, %d frames (%d dropped), %s, %s (%s)", res.Dir, parts, res.Frames, res.Dropped,
			formatClock(res.Duration.Round(time.Millisecond)), humanBytes(res.Bytes), reason)
	}
	if err != nil {
		if errors.Is(err, record.ErrLowSpace) {
			return withHint(fmt.Errorf("%w (the recording is complete up to here: %s)", err, res.Dir), "free some space (reckit purge) or lower --min-free")
		}
		return fmt.Errorf("%w (the recording is complete up to here: %s)", err, res.Dir)
	}
	return nil
}

// statusLine is record's progress line on a terminal: elapsed media time,
// parts, bytes, frame rate and dropped frames, redrawn at most four times a
// second. It is silent when stderr is not a terminal, under --quiet and
// under --json.
type statusLine struct {
	g       *globals
	on      bool
	last    time.Time
	start   time.Time
	drawn   bool
	frames0 int64
}

func newStatusLine(g *globals) *statusLine {
	return &statusLine{g: g, on: !g.quiet && !g.json && g.io.IsTerminalErr(), start: time.Now()}
}

func (l *statusLine) show(p record.SessionProgress) {
	if !l.on {
		return
	}
	now := time.Now()
	if now.Sub(l.last) < 250*time.Millisecond {
		return
	}
	l.last = now
	fps := float64(p.Frames) / now.Sub(l.start).Seconds()
	fmt.Fprintf(l.g.io.Err, "\r\x1b[Krecording %s  part %d  %s  %.1f fps  %d dropped",
		formatClock(p.Elapsed.Truncate(time.Second)), p.Parts, humanBytes(p.Bytes), fps, p.Dropped)
	l.drawn = true
}

func (l *statusLine) done() {
	if l.drawn {
		fmt.Fprint(l.g.io.Err, "\r\x1b[K")
		l.drawn = false
	}
}

// vncTarget returns the server a vnc source records ("host:port", or the
// socket path for vnc+unix), the default device of its recordings; "" for
// other sources.
func vncTarget(spec string) string {
	switch {
	case strings.HasPrefix(spec, "vnc+unix://"):
		return strings.TrimPrefix(spec, "vnc+unix://")
	case strings.HasPrefix(spec, "vnc://"):
		return strings.TrimSuffix(strings.TrimPrefix(spec, "vnc://"), "/")
	}
	return ""
}
