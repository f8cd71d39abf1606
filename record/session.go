package record

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

// ErrLowSpace: the recordings filesystem has less free space than the
// --min-free limit.
var ErrLowSpace = errors.New("record: not enough free disk space")

// SessionOptions configure RecordSession. Zero values take the documented
// defaults.
type SessionOptions struct {
	Root      string // recordings root; the recording directory is created inside
	Device    string
	User      string
	SessionID string
	Monitor   string // monitor token for part names (default m0)
	Title     string
	Note      string // an initial note, by User
	Source    string // the source spec, for the manifest
	Recorder  string // program and version, for the manifest
	Start     time.Time
	// Now is the wall clock, for drop decisions and free-space checks.
	Now func() time.Time

	Encoder          EncoderFactory
	Quality          int
	KeyframeInterval time.Duration // default 10 s

	Duration     time.Duration // stop after this much media time (0: until the end)
	MaxPartSize  int64         // default 512 MiB: no part is larger
	PartDuration time.Duration // a new part every PartDuration (0: none)
	MaxDuration  time.Duration // default 24 h
	WarnBefore   time.Duration // default 5 min: a warn event before MaxDuration
	MinFree      int64         // default 100 MiB
	// FreeSpace returns the free bytes of the filesystem holding dir
	// (default statfs); injectable for tests.
	FreeSpace func(dir string) (int64, error)
	// Realtime marks a live source (vnc, x11): a frame that arrives more
	// than MaxFramesBehind frame intervals late is dropped, never queued.
	Realtime        bool
	MaxFramesBehind int // default 30

	// Events receives start, split, warn and stop events (hooks, progress).
	Events func(Event)
	// Progress is called after every frame.
	Progress func(SessionProgress)
}

// Event is something hooks hear about.
type Event struct {
	Kind      string // start, split, warn, stop
	Recording string // the recording directory
	Part      string // the part file concerned (closed part for split and stop)
	Reason    string // split reason, stop reason, or what the warning is about
	Message   string
	Bytes     int64         // bytes of the recording so far
	Duration  time.Duration // media time so far
}

// SessionProgress is the state shown on the progress line.
type SessionProgress struct {
	Elapsed time.Duration
	Parts   int
	Bytes   int64
	Frames  int64
	Dropped int64
}

// SessionResult is what RecordSession did.
type SessionResult struct {
	Dir      string
	Manifest *layout.Manifest
	Frames   int64
	Dropped  int64
	Bytes    int64
	Duration time.Duration
}

func (o *SessionOptions) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Start.IsZero() {
		o.Start = o.Now()
	}
	if o.Encoder == nil {
		o.Encoder = PureGo
	}
	if o.KeyframeInterval <= 0 {
		o.KeyframeInterval = 10 * time.Second
	}
	if o.MaxPartSize <= 0 {
		o.MaxPartSize = 512 << 20
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 24 * time.Hour
	}
	if o.WarnBefore <= 0 {
		o.WarnBefore = 5 * time.Minute
	}
	if o.MinFree < 0 {
		o.MinFree = 0
	}
	if o.FreeSpace == nil {
		o.FreeSpace = FreeSpace
	}
	if o.MaxFramesBehind <= 0 {
		o.MaxFramesBehind = 30
	}
	if o.Monitor == "" {
		o.Monitor = "m0"
	}
}

// part is the part being written.
type part struct {
	index     int
	name      string // final file name
	path      string // the .partial path
	file      *os.File
	w         *mux.Writer
	uid       []byte
	start     time.Duration // media time of its first frame
	wallStart time.Time
	width     int
	height    int
	fps       float64
	reason    string
	frames    int64
	dropped   int64
	maxFrame  int // largest inter frame in this part
}

type session struct {
	opts     SessionOptions
	src      Source
	dir      string
	lock     *layout.RecordingLock
	cur      *part
	prevUID  []byte
	parts    int
	bytes    int64 // closed parts
	frames   int64
	dropped  int64
	media    time.Duration
	prevMax  int // largest inter frame of the previous part
	warned   bool
	lastFree time.Time
}

// RecordSession records src into a new recording directory under
// opts.Root (docs/layout.md): the manifest is written at the start (state
// recording, the recording lock held), updated atomically when each part
// closes, and completed at the end. A new part starts at MaxPartSize (no part
// exceeds it: a key frame is forced early enough), at a resolution change,
// at a frame-rate change, and every PartDuration. Every stop (end of input,
// MaxDuration, cancellation, low disk space, a source error) finalizes the
// current part and the manifest; the error says why when it is not a normal
// end. Below MinFree free bytes it refuses to start.
func RecordSession(ctx context.Context, src Source, opts SessionOptions) (*SessionResult, error) {
	opts.defaults()
	free, err := opts.FreeSpace(opts.Root)
	if err != nil {
		return nil, err
	}
	if free < opts.MinFree {
		return nil, fmt.Errorf("%w: %s has %d bytes free, below the %d-byte minimum", ErrLowSpace, opts.Root, free, opts.MinFree)
	}
	name := layout.NewRecordingName(opts.Start, opts.Device, opts.SessionID).String()
	dir := filepath.Join(opts.Root, name)
	if err := os.Mkdir(dir, 0o750); err != nil {
		return nil, fmt.Errorf("record: recording directory: %w", err)
	}
	lock, err := layout.AcquireRecordingLock(dir)
	if err != nil {
		return nil, err
	}
	m := layout.NewManifest(opts.Device, opts.User, opts.SessionID, opts.Source, opts.Start)
	m.Title, m.Recorder = opts.Title, opts.Recorder
	if opts.Note != "" {
		m.AddNote(opts.User, opts.Note, opts.Start)
	}
	if err := layout.Create(dir, m); err != nil {
		lock.Release()
		return nil, err
	}
	s := &session{opts: opts, src: src, dir: dir, lock: lock, lastFree: opts.Now()}
	s.event(Event{Kind: "start", Reason: "start"})
	reason, runErr := s.run(ctx)
	res, err := s.stop(reason, runErr)
	if err != nil {
		return res, err
	}
	return res, runErr
}

func (s *session) event(e Event) {
	if s.opts.Events == nil {
		return
	}
	e.Recording = s.dir
	e.Bytes = s.bytes
	if s.cur != nil {
		e.Bytes += s.cur.w.Size()
	}
	e.Duration = s.media
	s.opts.Events(e)
}

// run is the frame loop; it returns the stop reason and, for abnormal
// stops, the error.
func (s *session) run(ctx context.Context) (string, error) {
	var (
		enc       Encoder
		encW      int
		encH      int
		firstPTS  time.Duration = -1
		lastKey   time.Duration
		lastPTS   time.Duration = -1
		wallStart               = s.opts.Now()
	)
	for {
		if ctx.Err() != nil {
			return layout.StopSignal, nil
		}
		f, err := s.src.Next(ctx)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return layout.StopEndOfInput, nil
			case ctx.Err() != nil:
				return layout.StopSignal, nil
			}
			return layout.StopError, err
		}
		if firstPTS < 0 {
			firstPTS = f.PTS
		}
		t := f.PTS - firstPTS
		if s.opts.Duration > 0 && t >= s.opts.Duration {
			return layout.StopDuration, nil
		}
		if t >= s.opts.MaxDuration {
			return layout.StopMaxDuration, nil
		}
		if !s.warned && t >= s.opts.MaxDuration-s.opts.WarnBefore {
			s.warned = true
			s.event(Event{Kind: "warn", Reason: layout.StopMaxDuration,
				Message: fmt.Sprintf("the recording stops in %v (--max-duration %v)", (s.opts.MaxDuration - t).Round(time.Second), s.opts.MaxDuration)})
		}
		now := s.opts.Now()
		if now.Sub(s.lastFree) >= time.Second {
			s.lastFree = now
			free, err := s.opts.FreeSpace(s.dir)
			if err == nil && free < s.opts.MinFree {
				return layout.StopMinFree, fmt.Errorf("%w: %d bytes left on the recordings filesystem (--min-free %d): recording stopped", ErrLowSpace, free, s.opts.MinFree)
			}
		}
		info := s.src.Info()
		if s.opts.Realtime && info.FPS > 0 && s.cur != nil {
			behind := now.Sub(wallStart) - t
			if behind > time.Duration(float64(s.opts.MaxFramesBehind)*float64(time.Second)/info.FPS) {
				s.dropped++
				s.cur.dropped++
				continue
			}
		}
		b := f.Img.Rect
		reason := ""
		switch {
		case s.cur == nil:
			reason = layout.SplitStart
		case b.Dx() != s.cur.width || b.Dy() != s.cur.height:
			reason = layout.SplitResolution
		case info.FPS != s.cur.fps:
			reason = layout.SplitFPS
		case s.opts.PartDuration > 0 && t-s.cur.start >= s.opts.PartDuration:
			reason = layout.SplitDuration
		case s.cur.w.Size()+s.cur.w.CloseOverhead()+s.margin() >= s.opts.MaxPartSize:
			reason = layout.SplitSize
		}
		if enc == nil || b.Dx() != encW || b.Dy() != encH {
			if enc, err = s.opts.Encoder(b.Dx(), b.Dy(), s.opts.Quality); err != nil {
				return layout.StopError, err
			}
			encW, encH = b.Dx(), b.Dy()
		}
		force := reason != "" || t-lastKey >= s.opts.KeyframeInterval
		data, key, err := enc.Encode(f.Img, f.Hints, force)
		if err != nil {
			return layout.StopError, fmt.Errorf("record: encode frame %d: %w", s.frames, err)
		}
		if reason == "" && s.cur.w.Size()+int64(len(data)+mux.BlockOverhead(len(data))+mux.ClusterOverhead)+s.cur.w.CloseOverhead() > s.opts.MaxPartSize {
			// A frame larger than the margin: it opens the next part, as a
			// key frame (an inter frame is encoded again).
			if !key {
				if data, key, err = enc.Encode(f.Img, nil, true); err != nil {
					return layout.StopError, fmt.Errorf("record: encode frame %d: %w", s.frames, err)
				}
			}
			reason = layout.SplitSize
		}
		if reason != "" {
			if err := s.newPart(reason, t, b.Dx(), b.Dy(), info.FPS); err != nil {
				return layout.StopError, err
			}
		}
		pts := t - s.cur.start
		if pts <= lastPTS && reason == "" {
			pts = lastPTS + time.Millisecond
		}
		if err := s.cur.w.WriteFrame(pts, key, data); err != nil {
			return layout.StopError, err
		}
		if !key && len(data) > s.cur.maxFrame {
			s.cur.maxFrame = len(data)
		}
		lastPTS = pts
		if key {
			lastKey = t
		}
		s.cur.frames++
		s.frames++
		s.media = t + frameDur(info.FPS)
		if s.opts.Progress != nil {
			s.opts.Progress(SessionProgress{Elapsed: s.media, Parts: s.parts, Bytes: s.bytes + s.cur.w.Size(), Frames: s.frames, Dropped: s.dropped})
		}
	}
}

func frameDur(fps float64) time.Duration {
	if fps <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / fps)
}

// margin is the room kept below MaxPartSize for the next frame: twice the
// largest inter frame of this part and the previous one, at least 64 KiB
// (an eighth of a smaller MaxPartSize). Key frames are left out: every
// part starts with one, and counting it would make a part whose key frame
// takes a third of the limit end after one frame, and the next one too. A
// frame that still does not fit (a periodic key frame, a burst) opens the
// next part.
func (s *session) margin() int64 {
	m := int64(2*max(s.cur.maxFrame, s.prevMax)) + int64(mux.ClusterOverhead)
	if floor := min(64<<10, s.opts.MaxPartSize/8); m < floor {
		m = floor
	}
	return m
}

// newPart closes the current part (if any) and opens the next.
func (s *session) newPart(reason string, t time.Duration, w, h int, fps float64) error {
	next := mux.NewUID()
	if s.cur != nil {
		s.cur.w.SetTag(mux.TagNextUID, hex.EncodeToString(next))
		if err := s.closePart(reason); err != nil {
			return err
		}
	}
	s.parts++
	wall := s.opts.Start.Add(t).UTC()
	name, err := layout.FormatPartName(layout.PartName{Start: wall, Monitor: s.opts.Monitor, Number: s.parts})
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, layout.PartialName(name))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("record: part: %w", err)
	}
	tags := []mux.SimpleTag{
		{Name: mux.TagDevice, Value: s.opts.Device}, {Name: mux.TagUser, Value: s.opts.User},
		{Name: mux.TagSession, Value: s.opts.SessionID}, {Name: mux.TagMonitor, Value: s.opts.Monitor},
		{Name: mux.TagSource, Value: s.opts.Source}, {Name: mux.TagPart, Value: fmt.Sprint(s.parts)},
		{Name: mux.TagSplitWhy, Value: reason},
	}
	if s.prevUID != nil {
		tags = append(tags, mux.SimpleTag{Name: mux.TagPrevUID, Value: hex.EncodeToString(s.prevUID)})
	}
	mw, err := mux.NewWriter(f, mux.WriterOptions{Width: w, Height: h, FrameDuration: frameDur(fps),
		Title: s.opts.Title, WritingApp: s.opts.Recorder, DateUTC: wall, SegmentUID: next, Tags: tags, Sync: true})
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	s.cur = &part{index: s.parts, name: name, path: path, file: f, w: mw, uid: next, start: t, wallStart: wall,
		width: w, height: h, fps: fps, reason: reason}
	return nil
}

// closePart finalizes the current part, renames it to its final name and
// enters it in the manifest; next is why the following part starts ("" at
// the end), the reason the split hook hears.
func (s *session) closePart(next string) error {
	p := s.cur
	s.cur = nil
	s.prevMax = p.maxFrame
	if err := p.w.Close(); err != nil {
		p.file.Close()
		return err
	}
	dur := p.w.Duration()
	if err := p.file.Close(); err != nil {
		return fmt.Errorf("record: close part: %w", err)
	}
	if p.frames == 0 {
		return os.Remove(p.path)
	}
	final, err := layout.CommitPartial(p.path)
	if err != nil {
		return err
	}
	sum, size, err := layout.HashFile(final)
	if err != nil {
		return err
	}
	s.bytes += size
	s.prevUID = p.uid
	lp := layout.Part{Name: p.name, SizeBytes: size, SHA256: sum, Start: p.wallStart, End: p.wallStart.Add(dur),
		DurationMS: dur.Milliseconds(), Width: p.width, Height: p.height, Monitor: s.opts.Monitor, FPS: p.fps,
		SplitReason: p.reason, Frames: p.frames, DroppedFrames: p.dropped}
	if err := layout.Update(s.dir, func(m *layout.Manifest) error { return m.AppendPart(lp) }); err != nil {
		return err
	}
	if next != "" {
		s.event(Event{Kind: "split", Part: final, Reason: next})
	}
	return nil
}

// stop finalizes the last part and the manifest, and releases the lock.
func (s *session) stop(reason string, runErr error) (*SessionResult, error) {
	var firstErr error
	if s.cur != nil {
		if err := s.closePart(""); err != nil {
			firstErr = err
		}
	}
	end := s.opts.Start.Add(s.media)
	err := layout.Update(s.dir, func(m *layout.Manifest) error {
		m.End = end
		m.StopReason = reason
		m.DroppedFrames = s.dropped
		if runErr != nil {
			m.StopError = runErr.Error()
		}
		return m.SetState(layout.StateComplete)
	})
	if err != nil && firstErr == nil {
		firstErr = err
	}
	s.event(Event{Kind: "stop", Reason: reason, Message: errString(runErr)})
	if err := s.lock.Release(); err != nil && firstErr == nil {
		firstErr = err
	}
	m, _ := layout.Read(s.dir)
	return &SessionResult{Dir: s.dir, Manifest: m, Frames: s.frames, Dropped: s.dropped, Bytes: s.bytes, Duration: s.media}, firstErr
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
