package mux

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// This file holds the container operations behind reckit split, join and
// repair: streaming transforms from a Reader into Writers. Payloads are
// copied byte for byte; only the container around them is rebuilt. The
// caller owns files: outputs come from a PartSink or an io.WriteSeeker.

// Source is an opened input: its header, its video track and the reader
// positioned on its first frame.
type Source struct {
	Name   string
	R      *Reader
	Header *Header
	Video  Track
	scale  int64 // ns per tick

	// sr is set when the input is an *io.SectionReader: payloads are then
	// not read but copied by range when written (see writer_ref.go).
	sr *io.SectionReader
}

// OpenSource reads the header of r and checks that it holds exactly one
// video track of codec VP8 and nothing reckit cannot carry over.
//
// When r is an *io.SectionReader (a file of known size), frames are not
// read into memory: Split, Join and Repair copy their payloads by range,
// in the kernel when the section lies in an *os.File and the output is a
// regular file. That moves the *os.File's offset, which the SectionReader
// does not use; the file must not change while it is read.
func OpenSource(name string, r io.Reader) (*Source, error) {
	rd := NewReader(r, ReaderOptions{})
	h, err := rd.ReadHeader()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &Source{Name: name, R: rd, Header: h, scale: int64(h.Info.TimestampScale)}
	if sr, ok := r.(*io.SectionReader); ok && rd.Scanner().Size() >= 0 {
		s.sr = sr
	}
	var videos int
	for _, t := range h.Tracks {
		switch {
		case t.Type == 1 && t.CodecID == "V_VP8":
			videos++
			s.Video = t
		case t.Type == 1:
			return nil, fmt.Errorf("%s: video codec %s: %w", name, t.CodecID, ErrUnsupported)
		default:
			return nil, fmt.Errorf("%s: track %d (%s): only VP8 video is carried over, not other tracks: %w", name, t.Number, t.CodecID, ErrUnsupported)
		}
	}
	if videos != 1 {
		return nil, fmt.Errorf("%s: %d VP8 video tracks, want exactly 1: %w", name, videos, ErrUnsupported)
	}
	return s, nil
}

// ErrUnsupported: the input holds something reckit cannot carry over.
var ErrUnsupported = errors.New("mux: unsupported input")

// Frame is one video frame read from a Source.
type Frame struct {
	TS     time.Duration // from the file's timeline (not rebased)
	Key    bool
	Width  int // key frames: coded size from the VP8 header
	Height int
	Data   []byte // nil when the payload is left in the source (ref)
	Offset int64  // of the frame's block element in the source
	End    int64  // just past the frame's payload

	ref frameRef // where the payload is, when Data is nil
}

// write appends f to w at ts: by reference when its payload was left in
// the source.
func (f *Frame) write(w *Writer, ts time.Duration) error {
	if f.Data == nil && f.ref.src != nil {
		return w.writeRef(ts, f.Key, f.Width, f.Height, &f.ref)
	}
	return w.WriteFrame(ts, f.Key, f.Data)
}

// NextFrame returns the next complete video frame, reading the payload into
// buf. It returns io.EOF at the end, or the FormatError that stopped the
// walk (the frames before it were all complete).
func (s *Source) NextFrame(buf []byte) (Frame, error) {
	for {
		b, err := s.R.Next()
		if err != nil {
			return Frame{}, err
		}
		if b.Track != s.Video.Number {
			continue
		}
		f := Frame{TS: time.Duration(b.Timecode * s.scale), Key: b.Keyframe, Offset: b.Offset,
			End: b.DataOffset + b.DataSize}
		if b.VP8Err != nil {
			return Frame{}, formatErr(ErrCorrupt, b.DataOffset, "%v", b.VP8Err)
		}
		if b.HasVP8 && b.VP8.Key {
			f.Width, f.Height = b.VP8.Width, b.VP8.Height
		}
		if s.sr != nil {
			if err := s.R.skipPayload(); err != nil {
				return Frame{}, err
			}
			f.ref = frameRef{src: s.sr, off: b.DataOffset, size: b.DataSize, head: b.head, rel: -1, cluster: b.Cluster}
			if s.scale == int64(time.Millisecond) {
				f.ref.rel = int64(b.rel)
			}
			return f, nil
		}
		f.Data, err = s.R.Payload(buf)
		if err != nil {
			return Frame{}, err
		}
		return f, nil
	}
}

// FrameDuration returns the track's DefaultDuration.
func (s *Source) FrameDuration() time.Duration { return time.Duration(s.Video.DefaultDuration) }

// NewUID returns a random 16-byte SegmentUID.
func NewUID() []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// carriedTags returns the source's global tags minus the part links, which
// every output sets for itself.
func carriedTags(h *Header) []SimpleTag {
	var out []SimpleTag
	for _, t := range h.Tags {
		if len(t.TrackUIDs) > 0 {
			continue
		}
		for _, s := range t.Simple {
			switch s.Name {
			case TagPart, TagPrevUID, TagNextUID, TagSplitWhy, "DURATION", "ENCODER":
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// --- split ---

// SplitOptions choose where split cuts. At least one is required.
type SplitOptions struct {
	MaxBytes           int64         // no part larger than this, ever (0: no limit)
	MaxDuration        time.Duration // a new part at the first key frame at or after each multiple
	AtResolutionChange bool          // a new part at every key frame whose size differs
	// Spill returns a scratch file for a key-frame interval that does not
	// fit in memory (only needed with MaxBytes). nil keeps it in memory.
	Spill    func() (SpillFile, error)
	Progress func(doneBytes int64)
	Warn     func(msg string)
}

// SpillFile is scratch storage for one key-frame interval (an *os.File).
type SpillFile interface {
	io.Writer
	io.ReaderAt
	io.Seeker
	Truncate(int64) error
}

// PartInfo describes one output part.
type PartInfo struct {
	Index      int    `json:"part"` // 1-based
	Name       string `json:"name"`
	Bytes      int64  `json:"bytes"`
	StartMS    int64  `json:"start_ms"` // in the input's timeline
	DurationMS int64  `json:"duration_ms"`
	Frames     int64  `json:"frames"`
	Keyframes  int64  `json:"keyframes"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Reason     string `json:"reason"` // start, size, duration, resolution
	SegmentUID string `json:"segment_uid"`
}

// PartSink receives the parts: Create returns where part i is written
// (a temp file), Commit makes it final once it is complete, Abort throws
// it away.
type PartSink interface {
	Create(index int) (io.WriteSeeker, error)
	Commit(index int, info *PartInfo) error
	Abort(index int)
}

// SplitResult is what Split did. Stopped, when set, is the input problem
// that ended the walk early: every complete frame before it is in the
// parts, LeftOut bytes from LeftOutOffset on are not.
type SplitResult struct {
	Parts         []PartInfo
	Stopped       error
	LeftOutOffset int64
	LeftOut       int64 // bytes not split (-1 when the input size is unknown)
}

// gopMemCap is how much of a key-frame interval Split keeps in memory.
const gopMemCap = 6 << 20

// gop buffers one key-frame interval: frame metadata plus payloads in
// memory, spilled to a file past memCap.
type gop struct {
	frames []gopFrame
	mem    []byte
	spill  SpillFile
	inFile bool
	bytes  int64 // payload bytes
	memCap int
}

type gopFrame struct {
	ts            time.Duration
	key           bool
	width, height int
	off, size     int64 // in the interval's buffer, or in the source (ref)
	ref           bool
	rel, cluster  int64 // see frameRef
	head          [maxRefHead]byte
	headLen       int // 0: no reusable header
}

// maxRefHead is the longest block header the Writer writes (ID, an 8-byte
// size, track, timestamp, flags): a longer source header never matches.
const maxRefHead = 13

func (g *gop) reset() error {
	g.frames = g.frames[:0]
	g.mem = g.mem[:0]
	g.bytes = 0
	if g.inFile {
		g.inFile = false
		if err := g.spill.Truncate(0); err != nil {
			return err
		}
		if _, err := g.spill.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	return nil
}

func (g *gop) add(f Frame, spill func() (SpillFile, error)) error {
	if f.Data == nil && f.ref.src != nil {
		gf := gopFrame{ts: f.TS, key: f.Key, width: f.Width, height: f.Height, off: f.ref.off, size: f.ref.size,
			ref: true, rel: f.ref.rel, cluster: f.ref.cluster}
		if len(f.ref.head) <= maxRefHead {
			gf.headLen = copy(gf.head[:], f.ref.head)
		}
		g.frames = append(g.frames, gf)
		g.bytes += gf.size
		return nil
	}
	gf := gopFrame{ts: f.TS, key: f.Key, width: f.Width, height: f.Height, off: g.bytes, size: int64(len(f.Data)), cluster: -1}
	if !g.inFile && len(g.mem)+len(f.Data) > g.memCap && spill != nil {
		if g.spill == nil {
			s, err := spill()
			if err != nil {
				return err
			}
			g.spill = s
		}
		if _, err := g.spill.Write(g.mem); err != nil {
			return err
		}
		g.mem = g.mem[:0]
		g.inFile = true
	}
	if g.inFile {
		if _, err := g.spill.Write(f.Data); err != nil {
			return err
		}
	} else {
		g.mem = append(g.mem, f.Data...)
	}
	g.frames = append(g.frames, gf)
	g.bytes += gf.size
	return nil
}

// payload returns frame i's bytes (valid until the next call).
func (g *gop) payload(i int, buf []byte) ([]byte, error) {
	f := g.frames[i]
	if !g.inFile {
		return g.mem[f.off : f.off+f.size], nil
	}
	if int64(cap(buf)) < f.size {
		buf = make([]byte, f.size)
	}
	buf = buf[:f.size]
	_, err := g.spill.ReadAt(buf, f.off)
	return buf, err
}

// outBytes is what the interval adds to a part written from time base on:
// payloads, block headers, and the header of every Cluster it opens,
// found by replaying the Writer's Cluster rule (writer.go) from the
// Writer's current state.
func (g *gop) outBytes(w *Writer, base time.Duration) int64 {
	open, cStart, cTS, cLen, cSrc, prevTS := w.cOpen, w.cStart, w.cTS, int64(len(w.cbuf))+w.refBytes, w.refCluster, w.prevCTS
	var n int64
	closeCluster := func() {
		if open && cLen > 0 {
			n += 4 + int64(sizeLen(uint64(cLen)))
		}
	}
	// The open Cluster's own header is already counted by Size (as
	// ClusterOverhead), and so is what it holds.
	openCounted := open
	dur, maxBytes := w.opts.ClusterDuration.Milliseconds(), int64(w.opts.ClusterBytes)
	for _, f := range g.frames {
		t := int64((f.ts - base) / time.Millisecond)
		src := cSrc
		rel := int64(-1)
		if f.ref {
			src, rel = f.cluster, f.rel
		}
		if clusterBreak(open, cStart, cTS, cLen, cSrc, t, f.key, f.size, src, dur, maxBytes) {
			if !openCounted {
				closeCluster()
			}
			openCounted = false
			cTS = t
			if f.ref {
				cTS = alignedTS(t, rel, prevTS)
			}
			open, cStart, cLen, cSrc, prevTS = true, t, clusterTSLen, src, cTS
			n += clusterTSLen
		}
		block := f.size + int64(BlockOverhead(int(f.size)))
		cLen += block
		n += block
	}
	if !openCounted {
		closeCluster()
	}
	return n + 2*cueBytes
}

// splitter carries the state of one Split.
type splitter struct {
	src      *Source
	opts     SplitOptions
	sink     PartSink
	res      *SplitResult
	w        *Writer
	cur      *PartInfo
	uid      []byte
	nextUID  []byte
	base     time.Duration // the current part's first timestamp
	lastTS   time.Duration
	boundary time.Duration // next duration boundary
	buf      []byte
	tags     []SimpleTag
}

// Split cuts src into standalone, seekable parts (see SplitOptions), each a
// complete WebM written through sink. It never cuts inside a key-frame
// interval: an interval larger than MaxBytes gets a part of its own, with a
// warning. On an input cut short or corrupt, it splits every complete frame
// and reports what it left out in the result.
func Split(ctx context.Context, src *Source, opts SplitOptions, sink PartSink) (*SplitResult, error) {
	if opts.MaxBytes <= 0 && opts.MaxDuration <= 0 && !opts.AtResolutionChange {
		return nil, errors.New("mux: split needs a size, a duration or resolution changes")
	}
	sp := &splitter{src: src, opts: opts, sink: sink, res: &SplitResult{LeftOut: -1},
		tags: carriedTags(src.Header), boundary: opts.MaxDuration}
	// One key-frame interval is buffered in a buffer allocated once; a
	// longer interval spills to a scratch file.
	g := &gop{memCap: gopMemCap}
	if opts.Spill != nil {
		g.mem = make([]byte, 0, gopMemCap)
	}
	var buf []byte
	var stop error
	for {
		f, err := src.NextFrame(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				stop = err
			}
			break
		}
		buf = f.Data[:0]
		if f.Key && len(g.frames) > 0 {
			if err := sp.flush(g); err != nil {
				return sp.abort(err)
			}
			if err := g.reset(); err != nil {
				return sp.abort(err)
			}
			if err := ctx.Err(); err != nil {
				return sp.abort(err)
			}
			if opts.Progress != nil {
				opts.Progress(f.Offset)
			}
		}
		if len(g.frames) == 0 && !f.Key && sp.w == nil {
			// Frames before the first key frame cannot be decoded alone.
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("dropped a frame at %v before the first key frame", f.TS))
			}
			continue
		}
		if err := g.add(f, opts.Spill); err != nil {
			return sp.abort(err)
		}
	}
	if len(g.frames) > 0 {
		if err := sp.flush(g); err != nil {
			return sp.abort(err)
		}
	}
	if err := sp.closePart(nil); err != nil {
		return sp.abort(err)
	}
	if len(sp.res.Parts) == 0 {
		// Nothing to split is a failure, not a partial success.
		if stop == nil {
			stop = ErrCorrupt
		}
		return sp.res, fmt.Errorf("%s: no complete key frame to split: %w", src.Name, stop)
	}
	if stop != nil {
		var fe *FormatError
		if !errors.As(stop, &fe) {
			return sp.abort(stop)
		}
		sp.res.Stopped = stop
		sp.res.LeftOutOffset = sp.completeEnd()
		if size := src.R.Scanner().Size(); size >= 0 {
			sp.res.LeftOut = size - sp.res.LeftOutOffset
		}
	}
	return sp.res, nil
}

func (sp *splitter) completeEnd() int64 { return sp.src.R.LastFrameEnd() }

func (sp *splitter) abort(err error) (*SplitResult, error) {
	if sp.w != nil && sp.cur != nil {
		sp.w.Close()
		sp.sink.Abort(sp.cur.Index)
		sp.w = nil
	}
	return sp.res, err
}

// flush places one key-frame interval: in the current part, or a new one.
func (sp *splitter) flush(g *gop) error {
	first := g.frames[0]
	reason := ""
	switch {
	case sp.w == nil:
		reason = "start"
	case sp.opts.AtResolutionChange && first.width > 0 && (first.width != sp.cur.Width || first.height != sp.cur.Height):
		reason = "resolution"
	case sp.opts.MaxDuration > 0 && first.ts >= sp.boundary:
		reason = "duration"
	case sp.opts.MaxBytes > 0 && sp.w.Size()+g.outBytes(sp.w, sp.base)+sp.w.CloseOverhead() > sp.opts.MaxBytes:
		reason = "size"
	}
	if reason != "" {
		if err := sp.closePart(g); err != nil {
			return err
		}
		if err := sp.openPart(first, reason); err != nil {
			return err
		}
		for sp.opts.MaxDuration > 0 && sp.boundary <= first.ts {
			sp.boundary += sp.opts.MaxDuration
		}
	}
	if sp.opts.MaxBytes > 0 && sp.cur.Frames == 0 {
		if need := sp.w.Size() + g.outBytes(sp.w, sp.base) + sp.w.CloseOverhead(); need > sp.opts.MaxBytes && sp.opts.Warn != nil {
			sp.opts.Warn(fmt.Sprintf("the key-frame interval %v-%v alone takes %d bytes, more than the %d-byte limit: part %d exceeds it",
				first.ts.Truncate(time.Millisecond), g.frames[len(g.frames)-1].ts.Truncate(time.Millisecond), need, sp.opts.MaxBytes, sp.cur.Index))
		}
	}
	for i := range g.frames {
		f := &g.frames[i]
		if f.ref {
			ref := frameRef{src: sp.src.sr, off: f.off, size: f.size, head: f.head[:f.headLen], rel: f.rel, cluster: f.cluster}
			if f.headLen == 0 {
				ref.head = nil
			}
			if err := sp.w.writeRef(f.ts-sp.base, f.key, f.width, f.height, &ref); err != nil {
				return err
			}
		} else {
			p, err := g.payload(i, sp.buf)
			if err != nil {
				return err
			}
			if g.inFile {
				sp.buf = p[:0]
			}
			if err := sp.w.WriteFrame(f.ts-sp.base, f.key, p); err != nil {
				return err
			}
		}
		sp.cur.Frames++
		if f.key {
			sp.cur.Keyframes++
		}
		sp.lastTS = f.ts
	}
	return nil
}

func (sp *splitter) openPart(first gopFrame, reason string) error {
	idx := len(sp.res.Parts) + 1
	uid := sp.nextUID
	if uid == nil {
		uid = NewUID()
	}
	sp.nextUID = nil
	out, err := sp.sink.Create(idx)
	if err != nil {
		return err
	}
	h := sp.src.Header
	w, h0 := first.width, first.height
	if w == 0 {
		w, h0 = sp.src.Video.Width, sp.src.Video.Height
	}
	tags := append([]SimpleTag(nil), sp.tags...)
	tags = append(tags, SimpleTag{TagPart, fmt.Sprint(idx)})
	if sp.uid != nil {
		tags = append(tags, SimpleTag{TagPrevUID, hex.EncodeToString(sp.uid)})
	}
	if reason != "start" {
		tags = append(tags, SimpleTag{TagSplitWhy, reason})
	}
	opts := WriterOptions{Width: w, Height: h0, FrameDuration: sp.src.FrameDuration(), Title: h.Info.Title,
		WritingApp: h.Info.WritingApp, SegmentUID: uid, Tags: tags}
	if !h.Info.DateUTC.IsZero() {
		opts.DateUTC = h.Info.DateUTC.Add(first.ts)
	}
	mw, err := NewWriter(out, opts)
	if err != nil {
		sp.sink.Abort(idx)
		return err
	}
	sp.w, sp.uid, sp.base = mw, uid, first.ts
	sp.cur = &PartInfo{Index: idx, StartMS: first.ts.Milliseconds(), Width: w, Height: h0, Reason: reason,
		SegmentUID: hex.EncodeToString(uid)}
	return nil
}

// closePart finishes the current part; next is the interval that will open
// the following part (nil at the end of input).
func (sp *splitter) closePart(next *gop) error {
	if sp.w == nil {
		return nil
	}
	if next != nil {
		sp.nextUID = NewUID()
		sp.w.SetTag(TagNextUID, hex.EncodeToString(sp.nextUID))
	}
	if err := sp.w.Close(); err != nil {
		sp.sink.Abort(sp.cur.Index)
		sp.w = nil
		return err
	}
	sp.cur.Bytes = sp.w.pos
	sp.cur.DurationMS = sp.w.Duration().Milliseconds()
	if err := sp.sink.Commit(sp.cur.Index, sp.cur); err != nil {
		sp.w = nil
		return err
	}
	sp.res.Parts = append(sp.res.Parts, *sp.cur)
	sp.w = nil
	return nil
}

// --- join ---

// JoinOptions control Join.
type JoinOptions struct {
	ByTime   bool // place each part at its DateUTC offset from the first part
	Force    bool // join even when the order looks inconsistent
	Warn     func(msg string)
	Progress func(part int)
}

// JoinResult is what Join wrote.
type JoinResult struct {
	Parts       int
	Frames      int64
	DurationMS  int64
	Bytes       int64
	Width       int
	Height      int
	Resolutions int // distinct in-band sizes kept
}

// Opener opens part i (0-based) for reading; the returned closer is called
// when the part is done.
type Opener func(i int) (io.Reader, io.Closer, string, error)

// ErrOrder: the parts' links or dates say they are not in this order.
var ErrOrder = errors.New("mux: parts out of order")

// Join concatenates n parts into one seekable file on out, with continuous
// timestamps (each part placed after the previous part's end, or at its
// DateUTC offset with ByTime), one Cues index and Duration. In-band
// resolution changes are kept. Parts whose previous/next SegmentUID tags or
// DateUTC contradict the order are refused unless Force.
func Join(ctx context.Context, n int, open Opener, out io.Writer, opts JoinOptions) (*JoinResult, error) {
	if n < 1 {
		return nil, errors.New("mux: nothing to join")
	}
	// Pass 1: headers only, to check codecs and order before writing.
	heads := make([]*Header, n)
	names := make([]string, n)
	var start0 time.Duration // the first part's first timestamp
	for i := 0; i < n; i++ {
		r, c, name, err := open(i)
		if err != nil {
			return nil, err
		}
		s, err := OpenSource(name, r)
		if err == nil && i == 0 {
			// The joined file starts at the first part's first frame, so
			// its DateUTC (the time of timestamp 0) moves by as much.
			if f, ferr := s.NextFrame(nil); ferr == nil {
				start0 = f.TS
			}
		}
		c.Close()
		if err != nil {
			return nil, err
		}
		heads[i], names[i] = s.Header, name
	}
	for i := 1; i < n; i++ {
		if err := checkOrder(heads[i-1], heads[i], names[i-1], names[i], opts.ByTime); err != nil {
			if !opts.Force {
				return nil, err
			}
			if opts.Warn != nil {
				opts.Warn(err.Error() + " (joined anyway: --force)")
			}
		}
	}
	first := heads[0]
	vt, _ := first.VideoTrack()
	wo := WriterOptions{Width: vt.Width, Height: vt.Height, FrameDuration: time.Duration(vt.DefaultDuration),
		Title: first.Info.Title, WritingApp: first.Info.WritingApp, DateUTC: first.Info.DateUTC,
		Tags: carriedTags(first)}
	for i := 1; i < n; i++ {
		if t, _ := heads[i].VideoTrack(); time.Duration(t.DefaultDuration) != wo.FrameDuration {
			wo.FrameDuration = 0 // variable: measured from the timestamps
		}
	}
	if !wo.DateUTC.IsZero() {
		wo.DateUTC = wo.DateUTC.Add(start0)
	}
	w, err := NewWriter(out, wo)
	if err != nil {
		return nil, err
	}
	res := &JoinResult{Parts: n, Width: vt.Width, Height: vt.Height}
	var end time.Duration // where the next part starts
	var last time.Duration = -1
	sizes := map[[2]int]bool{}
	var buf []byte
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			w.Close()
			return nil, err
		}
		r, c, name, err := open(i)
		if err != nil {
			w.Close()
			return nil, err
		}
		s, err := OpenSource(name, r)
		if err != nil {
			c.Close()
			w.Close()
			return nil, err
		}
		var offset time.Duration
		firstTS, haveFirst := time.Duration(0), false
		var prevTS, delta time.Duration
		for {
			f, err := s.NextFrame(buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				c.Close()
				w.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			buf = f.Data[:0]
			if !haveFirst {
				firstTS, haveFirst = f.TS, true
				if !f.Key {
					c.Close()
					w.Close()
					return nil, fmt.Errorf("%s: does not start with a key frame", name)
				}
				offset = end - firstTS
				if opts.ByTime && i > 0 && !s.Header.Info.DateUTC.IsZero() && !first.Info.DateUTC.IsZero() {
					// DateUTC is the time of each part's timestamp 0.
					offset = s.Header.Info.DateUTC.Sub(first.Info.DateUTC) - start0
					if offset+firstTS < end && opts.Warn != nil {
						opts.Warn(fmt.Sprintf("%s starts %v before the previous part ends: placed right after it", name, end-(offset+firstTS)))
					}
					if offset+firstTS < end {
						offset = end - firstTS
					}
				}
			} else if f.TS > prevTS {
				delta = f.TS - prevTS
			}
			prevTS = f.TS
			ts := f.TS + offset
			if ts < last {
				ts = last
			}
			if f.Key && f.Width > 0 {
				sizes[[2]int{f.Width, f.Height}] = true
			}
			if err := f.write(w, ts); err != nil {
				c.Close()
				w.Close()
				return nil, err
			}
			last = ts
		}
		// Blocks copied by reference are read when their Cluster is
		// written: end it before the part is closed.
		if err := w.Flush(); err != nil {
			c.Close()
			w.Close()
			return nil, err
		}
		c.Close()
		fd := s.FrameDuration()
		if fd == 0 {
			fd = delta
		}
		// The timeline is in whole milliseconds (TimestampScale 1 ms).
		end = last + fd.Round(time.Millisecond)
		if opts.Progress != nil {
			opts.Progress(i + 1)
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	res.Frames, res.DurationMS, res.Bytes, res.Resolutions = w.Frames(), w.Duration().Milliseconds(), w.pos, len(sizes)
	return res, nil
}

func checkOrder(a, b *Header, an, bn string, byTime bool) error {
	if next, ok := a.FindTag(TagNextUID); ok && len(b.Info.SegmentUID) > 0 && next != b.SegmentUIDHex() {
		return fmt.Errorf("%w: %s names a different next part than %s (SegmentUID %s, not %s)", ErrOrder, an, bn, next, b.SegmentUIDHex())
	}
	if prev, ok := b.FindTag(TagPrevUID); ok && len(a.Info.SegmentUID) > 0 && prev != a.SegmentUIDHex() {
		return fmt.Errorf("%w: %s names a different previous part than %s", ErrOrder, bn, an)
	}
	if !a.Info.DateUTC.IsZero() && !b.Info.DateUTC.IsZero() && b.Info.DateUTC.Before(a.Info.DateUTC) {
		return fmt.Errorf("%w: %s (DateUTC %s) starts before %s (%s)", ErrOrder, bn,
			b.Info.DateUTC.Format(time.RFC3339), an, a.Info.DateUTC.Format(time.RFC3339))
	}
	return nil
}

// --- repair ---

// RepairResult says what Repair kept and dropped.
type RepairResult struct {
	Frames        int64
	Keyframes     int64
	DurationMS    int64
	Bytes         int64 // written
	Problem       error // the input problem that ended the walk, if any
	DroppedOffset int64 // first byte not kept (-1: nothing dropped)
	DroppedBytes  int64 // from DroppedOffset to the end of input (-1: unknown)
	DroppedFromMS int64 // timeline position after the last kept frame
	DroppedLead   int64 // frames before the first key frame, dropped
}

// Repair rewrites every complete frame of src into a complete, seekable
// file on out: known sizes, Duration measured from the blocks, SeekHead,
// Cues. Info (title, date, SegmentUID) and tags are kept, so a repaired part
// still links to its neighbours. Timestamps are kept as they are.
func Repair(ctx context.Context, src *Source, out io.Writer) (*RepairResult, error) {
	h := src.Header
	wo := WriterOptions{Width: src.Video.Width, Height: src.Video.Height, FrameDuration: src.FrameDuration(),
		Title: h.Info.Title, WritingApp: h.Info.WritingApp, DateUTC: h.Info.DateUTC, SegmentUID: h.Info.SegmentUID}
	for _, t := range h.Tags {
		if len(t.TrackUIDs) == 0 {
			wo.Tags = append(wo.Tags, t.Simple...)
		}
	}
	if len(wo.SegmentUID) != 16 {
		wo.SegmentUID = nil
	}
	if wo.Width == 0 || wo.Height == 0 {
		wo.Width, wo.Height = 16, 16 // fixed below from the first key frame
	}
	var w *Writer
	res := &RepairResult{DroppedOffset: -1, DroppedBytes: 0}
	var buf []byte
	n := 0
	for {
		f, err := src.NextFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				if w != nil {
					w.Close()
				}
				return nil, err
			}
			res.Problem = err
			break
		}
		buf = f.Data[:0]
		if w == nil {
			if !f.Key {
				res.DroppedLead++
				continue
			}
			if f.Width > 0 {
				wo.Width, wo.Height = f.Width, f.Height
			}
			if w, err = NewWriter(out, wo); err != nil {
				return nil, err
			}
		}
		if err := f.write(w, f.TS); err != nil {
			w.Close()
			return nil, err
		}
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				w.Close()
				return nil, err
			}
		}
	}
	if w == nil {
		why := ErrCorrupt
		if res.Problem != nil {
			why = res.Problem
		}
		return nil, fmt.Errorf("%s: no complete key frame to keep: %w", src.Name, why)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	res.Frames, res.Keyframes, res.DurationMS, res.Bytes = w.frames, w.keys, w.Duration().Milliseconds(), w.pos
	res.DroppedFromMS = (time.Duration(w.lastTS)*time.Millisecond + time.Duration(w.frameTicks())*time.Millisecond).Milliseconds()
	if res.Problem != nil {
		res.DroppedOffset = src.R.LastFrameEnd()
		res.DroppedBytes = -1
		if size := src.R.Scanner().Size(); size >= 0 {
			res.DroppedBytes = size - res.DroppedOffset
		}
	}
	return res, nil
}
