package mux

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
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

// Source is an opened input: its header, its video track, its audio
// track if any, and the reader positioned on its first frame.
type Source struct {
	Name   string
	R      *Reader
	Header *Header
	Video  Track
	Audio  *Track // nil: no audio track
	// Alpha is set once the walk (NextFrame) has met a BlockAdditions
	// element: the alpha plane of a VP8 track with AlphaMode 1 (ffmpeg's
	// yuva420p, Chrome's transparent canvas). Chrome marks even opaque
	// tracks AlphaMode 1, so the header alone does not tell. Split, Join
	// and Repair copy the colour frames only and say so (AlphaWarning).
	Alpha bool
	scale int64  // ns per tick
	lbuf  []byte // one frame of a laced audio block

	// sr is set when the input is an *io.SectionReader: payloads are then
	// not read but copied by range when written (see writer_ref.go).
	sr *io.SectionReader
}

// OpenSource reads the header of r and checks that it holds exactly one
// video track of codec VP8, at most one audio track of codec Opus or
// Vorbis (A_OPUS, A_VORBIS), and nothing else: any other track (a second
// audio track, another codec, subtitles) is ErrUnsupported.
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
		case t.Type == 2 && (t.CodecID == "A_OPUS" || t.CodecID == "A_VORBIS"):
			if s.Audio != nil {
				return nil, fmt.Errorf("%s: track %d (%s): a second audio track; only one is carried over: %w", name, t.Number, t.CodecID, ErrUnsupported)
			}
			if t.SamplingFreq <= 0 || t.Channels == 0 {
				return nil, fmt.Errorf("%s: track %d (%s): no sampling frequency or channel count: %w", name, t.Number, t.CodecID, ErrUnsupported)
			}
			a := t
			s.Audio = &a
		default:
			return nil, fmt.Errorf("%s: track %d (%s): only VP8 video and one Opus or Vorbis audio track are carried over: %w", name, t.Number, t.CodecID, ErrUnsupported)
		}
	}
	if videos != 1 {
		return nil, fmt.Errorf("%s: %d VP8 video tracks, want exactly 1: %w", name, videos, ErrUnsupported)
	}
	return s, nil
}

// AlphaWarning is the warning Split and Join give (prefixed with the
// input's name) for a Source with Alpha: the BlockAdditions holding the
// alpha plane are not copied, the outputs are opaque.
const AlphaWarning = "the alpha plane (BlockAdditions) is not carried over"

// ErrUnsupported: the input holds something reckit cannot carry over.
var ErrUnsupported = errors.New("mux: unsupported input")

// Frame is one video or audio frame read from a Source.
type Frame struct {
	TS    time.Duration // from the file's timeline (not rebased)
	Audio bool          // a frame of the audio track (else video)
	Key   bool          // video: a key frame; audio: the source block's key flag
	// Discard is an audio frame's DiscardPadding (0: none).
	Discard time.Duration
	// Lacing is set (Xiph 1, fixed 2, EBML 3) when an audio frame is a
	// whole laced block: its payload starts with the lace header, and
	// Laced is the number of frames it holds.
	Lacing byte
	Laced  int
	Width  int // key frames: coded size from the VP8 header
	Height int
	Data   []byte // nil when the payload is left in the source (ref)
	Offset int64  // of the frame's block element in the source
	End    int64  // just past the frame's payload

	ref frameRef // where the payload is, when Data is nil
}

func (f *Frame) audioBlock() audioBlock {
	return audioBlock{key: f.Key, lacing: f.Lacing, frames: max(f.Laced, 1), discard: f.Discard}
}

// write appends f to w at ts: by reference when its payload was left in
// the source.
func (f *Frame) write(w *Writer, ts time.Duration) error {
	if f.Audio {
		if f.Data == nil && f.ref.src != nil {
			return w.writeAudio(ts, f.audioBlock(), nil, &f.ref)
		}
		return w.writeAudio(ts, f.audioBlock(), f.Data, nil)
	}
	if f.Data == nil && f.ref.src != nil {
		return w.writeRef(ts, f.Key, f.Width, f.Height, &f.ref)
	}
	return w.WriteFrame(ts, f.Key, f.Data)
}

// NextFrame returns the next complete frame of the video or the audio
// track, in file order, reading the payload into buf. It returns io.EOF at
// the end, or the FormatError that stopped the walk (the frames before it
// were all complete). A laced audio block is ErrUnsupported.
func (s *Source) NextFrame(buf []byte) (Frame, error) {
	for {
		b, err := s.R.Next()
		if s.R.additions > 0 {
			s.Alpha = true
		}
		if err != nil {
			return Frame{}, err
		}
		audio := s.Audio != nil && b.Track == s.Audio.Number
		if b.Track != s.Video.Number && !audio {
			continue
		}
		f := Frame{TS: time.Duration(b.Timecode * s.scale), Audio: audio, Key: b.Keyframe, Offset: b.Offset,
			End: b.DataOffset + b.DataSize}
		if audio {
			f, err := s.audioFrame(b, f, buf)
			s.Alpha = s.Alpha || s.R.additions > 0
			return f, err
		}
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

// audioFrame completes f, a frame of the audio block b. A laced block
// (Matroska section 10.4; mkvmerge laces Opus and Vorbis) is one Frame
// whose payload is the block's whole body, lace header included, with
// Lacing set: it is copied as it is.
func (s *Source) audioFrame(b *Block, f Frame, buf []byte) (Frame, error) {
	if b.LaceCount > 1 {
		return s.lacedAudio(b, f, buf)
	}
	simple := b.Simple
	if s.sr != nil {
		if err := s.R.skipPayload(); err != nil {
			return Frame{}, err
		}
		f.ref = frameRef{src: s.sr, off: b.DataOffset, size: b.DataSize, head: b.head, rel: -1, cluster: b.Cluster}
		if s.scale == int64(time.Millisecond) {
			f.ref.rel = int64(b.rel)
		}
	} else {
		var err error
		if f.Data, err = s.R.Payload(buf); err != nil {
			return Frame{}, err
		}
	}
	if !simple {
		pad, err := s.R.groupTail()
		if err != nil {
			return Frame{}, err
		}
		f.Discard = time.Duration(pad)
	}
	return f, nil
}

// maxLacedBlock caps the body of a laced audio block read into memory.
const maxLacedBlock = 4 << 20

func (s *Source) lacedAudio(b *Block, f Frame, buf []byte) (Frame, error) {
	r := s.R
	if !r.laceHdrOK {
		return Frame{}, fmt.Errorf("%s: laced audio block at byte %d has a lace header over %d bytes: %w", s.Name, b.Offset, maxLaceHdr, ErrUnsupported)
	}
	if size := r.blockEnd - b.bodyOff; size > maxLacedBlock {
		return Frame{}, formatErr(ErrTooLarge, b.Offset, "laced audio block of %d bytes exceeds the %d-byte cap", size, int64(maxLacedBlock))
	}
	f.Lacing, f.Laced = b.lacing, b.LaceCount
	off, size, simple := b.bodyOff, r.blockEnd-b.bodyOff, b.Simple
	ref := frameRef{src: s.sr, off: off, size: size, head: b.lhead, rel: -1, cluster: b.Cluster}
	if s.scale == int64(time.Millisecond) {
		ref.rel = int64(b.rel)
	}
	data := append(buf[:0], r.laceHdr...)
	for {
		if s.sr != nil {
			if err := r.skipPayload(); err != nil {
				return Frame{}, err
			}
		} else {
			p, err := r.Payload(s.lbuf)
			if err != nil {
				return Frame{}, err
			}
			s.lbuf = p[:0]
			data = append(data, p...)
		}
		if b.LaceIndex+1 >= b.LaceCount {
			break
		}
		var err error
		if b, err = r.Next(); err != nil {
			return Frame{}, err
		}
	}
	if s.sr != nil {
		f.ref = ref
	} else {
		f.Data = data
	}
	f.End = off + size
	if !simple {
		pad, err := r.groupTail()
		if err != nil {
			return Frame{}, err
		}
		f.Discard = time.Duration(pad)
	}
	return f, nil
}

// AudioTrack returns the description of the source's audio track for
// WriterOptions.Audio, or nil.
func (s *Source) AudioTrack() *AudioTrack {
	if s.Audio == nil {
		return nil
	}
	return AudioTrackOf(*s.Audio)
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
	// fit in memory (only needed with MaxBytes; Split asks for up to two,
	// payloads and frame records, and closes them if they are
	// io.Closers). nil keeps the interval in memory.
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
	Frames     int64  `json:"frames"` // video frames
	Keyframes  int64  `json:"keyframes"`
	// AudioFrames counts the audio track's frames (0: none, or no audio).
	AudioFrames int64  `json:"audio_frames,omitempty"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Reason      string `json:"reason"` // start, size, duration, resolution
	SegmentUID  string `json:"segment_uid"`
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

// gopMetaCap is how many frame records of a key-frame interval Split keeps
// in memory; past it they go to a second scratch file (SplitOptions.Spill)
// as fixed-size records (gopRecSize bytes), read back in order when the
// interval is written. Without Spill they all stay in memory.
const gopMetaCap = 16 << 10

// streamHead bounds the frames Split holds at the start of an interval,
// when it cuts at key frames only (no MaxBytes), while it waits for the
// interval's first audio frame, which may move the start of a new part
// earlier (gop.start).
const streamHead = 1024

// gop buffers one key-frame interval: frame metadata plus payloads in
// memory, spilled to files past memCap (payloads) and metaCap (frame
// records). With an audio track it holds the audio frames whose time falls
// in the interval (from its key frame to the next key frame; in the first
// interval, also those before its key frame), in file order among the
// video frames.
//
// Once placed (Split cutting at key frames only), the interval's frames
// are no longer held: they go straight to the part.
type gop struct {
	frames []gopFrame // the first records, in file order
	n      int        // records held: frames, then metaN in meta
	video  int        // video frames seen
	key    gopFrame   // the first video frame (the key frame)
	last   time.Duration
	audio  bool          // holds an audio frame
	aFirst time.Duration // the first audio frame's time
	placed bool          // streaming: the part for this interval is open
	mem    []byte
	spill  SpillFile
	inFile bool
	bytes  int64 // payload bytes
	memCap int

	metaCap int
	meta    SpillFile // frame records past metaCap
	metaN   int       // records in meta (written or in metaBuf)
	metaBuf []byte    // records not yet written to meta
	recBuf  []byte    // records read back
}

type gopFrame struct {
	ts            time.Duration
	audio         bool
	discard       time.Duration // audio: DiscardPadding
	lacing        byte          // audio: a whole laced block
	laced         int           // of laced frames
	key           bool
	width, height int
	off, size     int64 // in the interval's buffer, or in the source (ref)
	ref           bool
	rel, cluster  int64 // see frameRef
	head          [maxRefHead]byte
	headLen       int // 0: no reusable header
}

// gopRecSize is the size of a gopFrame record in the meta scratch file:
// ts, discard, off, size, rel, cluster (8 bytes each), laced (4), width,
// height (2 each), flags, lacing, headLen (1 each), head.
const gopRecSize = 6*8 + 4 + 2*2 + 3 + maxRefHead

func (f *gopFrame) appendRecord(dst []byte) []byte {
	var flags byte
	if f.audio {
		flags |= 1
	}
	if f.key {
		flags |= 2
	}
	if f.ref {
		flags |= 4
	}
	for _, v := range [...]int64{int64(f.ts), int64(f.discard), f.off, f.size, f.rel, f.cluster} {
		dst = binary.BigEndian.AppendUint64(dst, uint64(v))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(f.laced))
	dst = binary.BigEndian.AppendUint16(dst, uint16(f.width))
	dst = binary.BigEndian.AppendUint16(dst, uint16(f.height))
	dst = append(dst, flags, f.lacing, byte(f.headLen))
	return append(dst, f.head[:]...)
}

func (f *gopFrame) parseRecord(b []byte) {
	u := func(i int) int64 { return int64(binary.BigEndian.Uint64(b[8*i:])) }
	f.ts, f.discard, f.off, f.size, f.rel, f.cluster = time.Duration(u(0)), time.Duration(u(1)), u(2), u(3), u(4), u(5)
	f.laced = int(binary.BigEndian.Uint32(b[48:]))
	f.width, f.height = int(binary.BigEndian.Uint16(b[52:])), int(binary.BigEndian.Uint16(b[54:]))
	flags := b[56]
	f.audio, f.key, f.ref = flags&1 != 0, flags&2 != 0, flags&4 != 0
	f.lacing, f.headLen = b[57], min(int(b[58]), maxRefHead)
	copy(f.head[:], b[59:59+maxRefHead])
}

func (f *gopFrame) audioBlock() audioBlock {
	return audioBlock{key: f.key, lacing: f.lacing, frames: max(f.laced, 1), discard: f.discard}
}

// maxRefHead is the longest block header the Writer writes (ID, an 8-byte
// size, track, timestamp, flags): a longer source header never matches.
const maxRefHead = 13

// closeScratch closes the scratch files Spill returned, when they can be
// closed: they are Split's own.
func (g *gop) closeScratch() {
	for _, f := range []SpillFile{g.spill, g.meta} {
		if c, ok := f.(io.Closer); ok {
			c.Close()
		}
	}
}

// clear drops the frames held, keeping what is known of the interval.
func (g *gop) clear() error {
	g.frames = g.frames[:0]
	g.n, g.metaN = 0, 0
	g.metaBuf = g.metaBuf[:0]
	g.mem = g.mem[:0]
	g.bytes = 0
	if g.meta != nil {
		if err := g.meta.Truncate(0); err != nil {
			return err
		}
		if _, err := g.meta.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
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

func (g *gop) reset() error {
	g.video, g.audio, g.placed = 0, false, false
	return g.clear()
}

// start returns the time from which a part that starts with this interval
// is rebased: its key frame's, or its first audio frame's if earlier.
func (g *gop) start() time.Duration {
	t := g.key.ts
	if g.audio && g.aFirst < t {
		t = g.aFirst
	}
	return t
}

// note records f's place in the interval (key frame, first audio time).
func (g *gop) note(f *Frame) {
	if f.Audio {
		if !g.audio {
			g.audio, g.aFirst = true, f.TS
		}
	} else {
		if g.video == 0 {
			g.key = gopFrame{ts: f.TS, key: f.Key, width: f.Width, height: f.Height}
		}
		g.video++
	}
	g.last = f.TS
}

func (g *gop) add(f Frame, spill func() (SpillFile, error)) error {
	g.note(&f)
	if f.Data == nil && f.ref.src != nil {
		gf := gopFrame{ts: f.TS, audio: f.Audio, discard: f.Discard, lacing: f.Lacing, laced: f.Laced, key: f.Key, width: f.Width, height: f.Height, off: f.ref.off, size: f.ref.size,
			ref: true, rel: f.ref.rel, cluster: f.ref.cluster}
		if len(f.ref.head) <= maxRefHead {
			gf.headLen = copy(gf.head[:], f.ref.head)
		}
		g.bytes += gf.size
		return g.push(&gf, spill)
	}
	gf := gopFrame{ts: f.TS, audio: f.Audio, discard: f.Discard, lacing: f.Lacing, laced: f.Laced, key: f.Key, width: f.Width, height: f.Height, off: g.bytes, size: int64(len(f.Data)), cluster: -1}
	if g.mem == nil && spill != nil {
		// Allocated once, when payloads go through memory (a stream).
		g.mem = make([]byte, 0, g.memCap)
	}
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
	g.bytes += gf.size
	return g.push(&gf, spill)
}

// metaChunk is how many records go to or come from the meta file at once.
const metaChunk = 512

// push appends a frame record: in memory up to metaCap, then to the meta
// scratch file when there is one.
func (g *gop) push(gf *gopFrame, spill func() (SpillFile, error)) error {
	g.n++
	if len(g.frames) < g.metaCap || spill == nil {
		g.frames = append(g.frames, *gf)
		return nil
	}
	if g.meta == nil {
		m, err := spill()
		if err != nil {
			return err
		}
		g.meta = m
	}
	g.metaBuf = gf.appendRecord(g.metaBuf)
	g.metaN++
	if len(g.metaBuf) >= metaChunk*gopRecSize {
		return g.flushMeta()
	}
	return nil
}

func (g *gop) flushMeta() error {
	if len(g.metaBuf) == 0 {
		return nil
	}
	_, err := g.meta.Write(g.metaBuf)
	g.metaBuf = g.metaBuf[:0]
	return err
}

// each calls fn for every frame record held, in file order. The record is
// valid only during the call.
func (g *gop) each(fn func(f *gopFrame) error) error {
	for i := range g.frames {
		if err := fn(&g.frames[i]); err != nil {
			return err
		}
	}
	if g.metaN == 0 {
		return nil
	}
	if err := g.flushMeta(); err != nil {
		return err
	}
	if cap(g.recBuf) < metaChunk*gopRecSize {
		g.recBuf = make([]byte, metaChunk*gopRecSize)
	}
	var f gopFrame
	for i := 0; i < g.metaN; i += metaChunk {
		k := min(metaChunk, g.metaN-i)
		b := g.recBuf[:k*gopRecSize]
		if _, err := g.meta.ReadAt(b, int64(i)*gopRecSize); err != nil {
			return fmt.Errorf("mux: split scratch file: %w", err)
		}
		for j := 0; j < k; j++ {
			f.parseRecord(b[j*gopRecSize:])
			if err := fn(&f); err != nil {
				return err
			}
		}
	}
	return nil
}

// payload returns frame f's bytes (valid until the next call).
func (g *gop) payload(f *gopFrame, buf []byte) ([]byte, error) {
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
func (g *gop) outBytes(w *Writer, base time.Duration) (int64, error) {
	open, cVideo, cStart, cTS, cLen, cSrc, prevTS := w.cOpen, w.cVideo, w.cStart, w.cTS, int64(len(w.cbuf))+w.refBytes, w.refCluster, w.prevCTS
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
	err := g.each(func(f *gopFrame) error {
		t := int64((f.ts - base) / time.Millisecond)
		src := cSrc
		rel := int64(-1)
		if f.ref {
			src, rel = f.cluster, f.rel
		}
		if clusterBreak(open, cVideo, cStart, cTS, cLen, cSrc, t, f.key && !f.audio, f.size, src, dur, maxBytes) {
			if !openCounted {
				closeCluster()
			}
			openCounted = false
			cTS = t
			if f.ref {
				cTS = alignedTS(t, rel, prevTS)
			}
			cTS = clusterTS(cTS, prevTS)
			open, cVideo, cStart, cLen, cSrc, prevTS = true, false, t, clusterTSLen, src, cTS
			n += clusterTSLen
		}
		block := f.size + int64(BlockOverhead(int(f.size)))
		if f.audio {
			block = int64(audioBlockBytes(int(f.size), f.discard))
		} else {
			cVideo = true
		}
		cLen += block
		n += block
		return nil
	})
	if !openCounted {
		closeCluster()
	}
	return n + 2*cueBytes, err
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
	streamed int // frames written straight to a part
}

// Split cuts src into standalone, seekable parts (see SplitOptions), each a
// complete WebM written through sink. It never cuts inside a key-frame
// interval: an interval larger than MaxBytes gets a part of its own, with a
// warning. On an input cut short or corrupt, it splits every complete frame
// and reports what it left out in the result.
//
// Memory does not grow with the input. Cutting at key frames only (no
// MaxBytes), frames go straight to their part once the interval's start
// is known (its key frame and first audio frame, waiting at most
// streamHead frames). With MaxBytes, a whole key-frame interval is held
// before it is placed: payloads past gopMemCap bytes and frame records
// past gopMetaCap go to scratch files from Spill; with Spill nil they
// stay in memory, which then grows with the longest interval (a file
// with one key frame is held whole).
//
// An alpha plane is not carried over: Warn gets AlphaWarning (prefixed
// with the input's name) once the walk meets one.
func Split(ctx context.Context, src *Source, opts SplitOptions, sink PartSink) (*SplitResult, error) {
	if opts.MaxBytes <= 0 && opts.MaxDuration <= 0 && !opts.AtResolutionChange {
		return nil, errors.New("mux: split needs a size, a duration or resolution changes")
	}
	sp := &splitter{src: src, opts: opts, sink: sink, res: &SplitResult{LeftOut: -1},
		tags: carriedTags(src.Header), boundary: opts.MaxDuration}
	// One key-frame interval is buffered in a buffer allocated once (when
	// payloads are read); a longer interval spills to a scratch file.
	g := &gop{memCap: gopMemCap, metaCap: gopMetaCap}
	defer g.closeScratch()
	var buf []byte
	var stop error
	// With an audio track, a key frame that ends an interval waits in pend
	// while the audio frames that follow it in the file but are earlier
	// join the interval it ends.
	var pend *Frame
	var pendBuf []byte
	next := func(pendOffset int64) error {
		if err := sp.flush(g); err != nil {
			return err
		}
		if err := g.reset(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(pendOffset)
		}
		return nil
	}
	alphaWarned := false
	for {
		f, err := src.NextFrame(buf)
		if src.Alpha && !alphaWarned && opts.Warn != nil {
			alphaWarned = true
			opts.Warn(src.Name + ": " + AlphaWarning)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				stop = err
			}
			break
		}
		buf = f.Data[:0]
		if pend != nil {
			if f.Audio && f.TS < pend.TS {
				if err := sp.add(ctx, g, f); err != nil {
					return sp.abort(err)
				}
				continue
			}
			if err := next(pend.Offset); err != nil {
				return sp.abort(err)
			}
			if err := sp.add(ctx, g, *pend); err != nil {
				return sp.abort(err)
			}
			pend = nil
		}
		if f.Audio {
			if err := sp.add(ctx, g, f); err != nil {
				return sp.abort(err)
			}
			continue
		}
		if f.Key && g.video > 0 {
			if src.Audio != nil {
				p := f
				// The Reader reuses the header buffer: keep a copy.
				p.ref.head = append([]byte(nil), f.ref.head...)
				if f.ref.head == nil {
					p.ref.head = nil
				}
				if f.Data != nil {
					pendBuf = append(pendBuf[:0], f.Data...)
					p.Data = pendBuf
				}
				pend = &p
				continue
			}
			if err := next(f.Offset); err != nil {
				return sp.abort(err)
			}
		}
		if g.video == 0 && !f.Key && sp.w == nil {
			// Frames before the first key frame cannot be decoded alone.
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("dropped a frame at %v before the first key frame", f.TS))
			}
			continue
		}
		if err := sp.add(ctx, g, f); err != nil {
			return sp.abort(err)
		}
	}
	if pend != nil {
		if err := next(pend.Offset); err != nil {
			return sp.abort(err)
		}
		if err := sp.add(ctx, g, *pend); err != nil {
			return sp.abort(err)
		}
	}
	if g.video > 0 {
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

// add takes the next frame of the interval g: held in g, or, once the
// interval is placed, written to the current part. Cutting at key frames
// only (no MaxBytes), the interval is placed as soon as its start is known.
func (sp *splitter) add(ctx context.Context, g *gop, f Frame) error {
	if g.placed {
		g.note(&f)
		ts := f.TS - sp.base
		if f.Audio && ts < 0 {
			// An audio frame later than streamHead frames into the
			// interval but earlier than the part's start.
			ts = 0
		}
		if err := f.write(sp.w, ts); err != nil {
			return err
		}
		sp.count(f.Audio, f.Key, f.Laced, f.TS)
		if sp.streamed++; sp.streamed%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if sp.opts.Progress != nil {
				sp.opts.Progress(f.End)
			}
		}
		return nil
	}
	if err := g.add(f, sp.opts.Spill); err != nil {
		return err
	}
	if sp.opts.MaxBytes > 0 || g.video == 0 {
		return nil
	}
	if g.audio || sp.src.Audio == nil || g.n >= streamHead {
		if err := sp.flush(g); err != nil {
			return err
		}
		if err := g.clear(); err != nil {
			return err
		}
		g.placed = true
	}
	return nil
}

// count adds a frame written to the current part to its counts.
func (sp *splitter) count(audio, key bool, laced int, ts time.Duration) {
	if audio {
		sp.cur.AudioFrames += int64(max(laced, 1))
		return
	}
	sp.cur.Frames++
	if key {
		sp.cur.Keyframes++
	}
	sp.lastTS = ts
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

// flush places one key-frame interval, in the current part or a new one
// (unless it was placed already), and writes the frames it holds.
func (sp *splitter) flush(g *gop) error {
	if !g.placed {
		if err := sp.place(g); err != nil {
			return err
		}
	}
	return g.each(func(f *gopFrame) error {
		if f.ref {
			ref := frameRef{src: sp.src.sr, off: f.off, size: f.size, head: f.head[:f.headLen], rel: f.rel, cluster: f.cluster}
			if f.headLen == 0 {
				ref.head = nil
			}
			var err error
			if f.audio {
				err = sp.w.writeAudio(f.ts-sp.base, f.audioBlock(), nil, &ref)
			} else {
				err = sp.w.writeRef(f.ts-sp.base, f.key, f.width, f.height, &ref)
			}
			if err != nil {
				return err
			}
		} else {
			p, err := g.payload(f, sp.buf)
			if err != nil {
				return err
			}
			if g.inFile {
				sp.buf = p[:0]
			}
			if f.audio {
				err = sp.w.writeAudio(f.ts-sp.base, f.audioBlock(), p, nil)
			} else {
				err = sp.w.WriteFrame(f.ts-sp.base, f.key, p)
			}
			if err != nil {
				return err
			}
		}
		sp.count(f.audio, f.key, f.laced, f.ts)
		return nil
	})
}

// place chooses the part of the interval g: the current one or a new one.
func (sp *splitter) place(g *gop) error {
	first := g.key
	reason := ""
	switch {
	case sp.w == nil:
		reason = "start"
	case sp.opts.AtResolutionChange && first.width > 0 && (first.width != sp.cur.Width || first.height != sp.cur.Height):
		reason = "resolution"
	case sp.opts.MaxDuration > 0 && first.ts >= sp.boundary:
		reason = "duration"
	case sp.opts.MaxBytes > 0:
		add, err := g.outBytes(sp.w, sp.base)
		if err != nil {
			return err
		}
		if sp.w.Size()+add+sp.w.CloseOverhead() > sp.opts.MaxBytes {
			reason = "size"
		}
	}
	if reason != "" {
		if err := sp.closePart(g); err != nil {
			return err
		}
		if err := sp.openPart(first, g.start(), reason); err != nil {
			return err
		}
		for sp.opts.MaxDuration > 0 && sp.boundary <= first.ts {
			sp.boundary += sp.opts.MaxDuration
		}
	}
	if sp.opts.MaxBytes > 0 && sp.cur.Frames == 0 {
		add, err := g.outBytes(sp.w, sp.base)
		if err != nil {
			return err
		}
		if need := sp.w.Size() + add + sp.w.CloseOverhead(); need > sp.opts.MaxBytes && sp.opts.Warn != nil {
			sp.opts.Warn(fmt.Sprintf("the key-frame interval %v-%v alone takes %d bytes, more than the %d-byte limit: part %d exceeds it",
				first.ts.Truncate(time.Millisecond), g.last.Truncate(time.Millisecond), need, sp.opts.MaxBytes, sp.cur.Index))
		}
	}
	return nil
}

// openPart starts a part whose first key frame is first and whose
// timestamps are rebased from base (see gop.start).
func (sp *splitter) openPart(first gopFrame, base time.Duration, reason string) error {
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
		WritingApp: h.Info.WritingApp, SegmentUID: uid, Tags: tags, Audio: sp.src.AudioTrack()}
	if !h.Info.DateUTC.IsZero() {
		opts.DateUTC = h.Info.DateUTC.Add(base)
	}
	mw, err := NewWriter(out, opts)
	if err != nil {
		sp.sink.Abort(idx)
		return err
	}
	sp.w, sp.uid, sp.base = mw, uid, base
	sp.cur = &PartInfo{Index: idx, StartMS: base.Milliseconds(), Width: w, Height: h0, Reason: reason,
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
	Frames      int64 // video frames
	AudioFrames int64
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

// ErrMismatch: the parts' audio tracks differ (one has none, or another
// codec or codec parameters).
var ErrMismatch = errors.New("mux: parts' tracks differ")

// sameAudio reports whether two audio tracks (nil: none) can share one
// track in a joined file.
func sameAudio(a, b *Track) bool {
	if a == nil || b == nil {
		return a == b
	}
	// BitDepth is not compared: Opus and Vorbis are compressed, and
	// muxers write it or not as they please.
	return a.CodecID == b.CodecID && bytes.Equal(a.CodecPrivate, b.CodecPrivate) &&
		a.SamplingFreq == b.SamplingFreq && a.Channels == b.Channels
}

// audioDiff names audio tracks a and b (of parts an and bn) so that the
// difference shows (see sameAudio).
func audioDiff(a, b *Track, an, bn string) string {
	na, nb := audioName(a), audioName(b)
	if na == nb {
		nb += " with other codec parameters (CodecPrivate)"
	}
	return fmt.Sprintf("%s has %s, %s has %s", an, na, bn, nb)
}

func audioName(a *Track) string {
	if a == nil {
		return "no audio"
	}
	return fmt.Sprintf("%s %v Hz %d ch", a.CodecID, a.SamplingFreq, a.Channels)
}

// Join concatenates n parts into one seekable file on out, with continuous
// timestamps (each part placed after the previous part's end, or at its
// DateUTC offset with ByTime), one Cues index and Duration. In-band
// resolution changes are kept. Parts whose previous/next SegmentUID tags or
// DateUTC contradict the order are refused unless Force. Each part's audio
// frames are placed with the same offset as its video; parts whose audio
// tracks differ are refused (ErrMismatch) unless Force, which keeps the
// first part's audio track and drops the audio of the parts that differ.
// Alpha planes are not carried over: Warn gets AlphaWarning, prefixed with
// the part's name, for each part that has one (once the part is read).
func Join(ctx context.Context, n int, open Opener, out io.Writer, opts JoinOptions) (*JoinResult, error) {
	if n < 1 {
		return nil, errors.New("mux: nothing to join")
	}
	// Pass 1: headers only, to check codecs and order before writing.
	heads := make([]*Header, n)
	names := make([]string, n)
	audios := make([]*Track, n)
	// Each part's first frame, and its first audio frame (-1: none found
	// among the first joinLookahead frames): a part is placed so that its
	// audio starts no earlier than the previous part's audio ends.
	firsts := make([]time.Duration, n)
	firstAudio := make([]time.Duration, n)
	var start0 time.Duration // the first part's first timestamp
	for i := 0; i < n; i++ {
		r, c, name, err := open(i)
		if err != nil {
			return nil, err
		}
		s, err := OpenSource(name, r)
		firstAudio[i] = -1
		if err == nil {
			var buf []byte
			haveVideo := false
			for k := 0; k < joinLookahead && (!haveVideo || (s.Audio != nil && firstAudio[i] < 0)); k++ {
				f, ferr := s.NextFrame(buf)
				if ferr != nil {
					break
				}
				buf = f.Data[:0]
				switch {
				case f.Audio && firstAudio[i] < 0:
					firstAudio[i] = f.TS
				case !f.Audio && !haveVideo:
					firsts[i], haveVideo = f.TS, true
				}
			}
		}
		c.Close()
		if err != nil {
			return nil, err
		}
		heads[i], names[i], audios[i] = s.Header, name, s.Audio
	}
	// The joined file starts at the first part's start (below), so its
	// DateUTC (the time of timestamp 0) moves by as much.
	keepAudio := make([]bool, n)
	for i := 0; i < n; i++ {
		keepAudio[i] = audios[i] != nil && sameAudio(audios[0], audios[i])
		if i == 0 || sameAudio(audios[0], audios[i]) {
			continue
		}
		err := fmt.Errorf("%w: %s", ErrMismatch, audioDiff(audios[0], audios[i], names[0], names[i]))
		if !opts.Force {
			return nil, err
		}
		if opts.Warn != nil {
			opts.Warn(err.Error() + " (joined anyway: --force; its audio is left out)")
		}
	}
	// A part starts at its first video frame or, when its audio is kept
	// and begins earlier (a muxer may put audio first), at its first audio
	// frame: the part's frames are placed from there, none before 0.
	for i := 0; i < n; i++ {
		if a := firstAudio[i]; a >= 0 && keepAudio[i] && a < firsts[i] {
			firsts[i] = a
		}
	}
	start0 = firsts[0]
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
	if audios[0] != nil {
		wo.Audio = AudioTrackOf(*audios[0])
	}
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
	var end time.Duration  // where the next part's video may start
	var last time.Duration // the last video timestamp written
	var lastA time.Duration
	var aFrame time.Duration      // duration of one audio frame (of a laced block)
	lastN := 1                    // frames in the last audio block
	audioEnd := time.Duration(-1) // where the next part's audio may start (-1: no audio yet)
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
		haveFirst, haveV := false, false
		firstTS := firsts[i] // the part's start (see above)
		haveA := false
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
			if f.Audio && !keepAudio[i] {
				continue
			}
			if !haveFirst {
				haveFirst = true
				if !f.Key && !f.Audio {
					c.Close()
					w.Close()
					return nil, fmt.Errorf("%s: does not start with a key frame", name)
				}
				offset = end - firstTS
				if a := firstAudio[i]; a >= 0 && audioEnd >= 0 && keepAudio[i] && audioEnd-(a+offset) > aFrame/2 {
					// The previous part's audio runs past its video (a
					// stall before the key frame that starts this part):
					// start later, so that audio does not overlap and
					// each part keeps its own sync. (An overlap of less
					// than half an audio frame is rounding.)
					offset = audioEnd - a
				}
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
			}
			ts := f.TS + offset
			if f.Audio {
				// Audio keeps its part's offset; an overlap with the
				// previous part's audio is pushed forward.
				ts = max(ts, lastA, 0)
				if err := f.write(w, ts); err != nil {
					c.Close()
					w.Close()
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				if haveA && ts > lastA {
					aFrame = (ts - lastA) / time.Duration(lastN)
				}
				lastA, lastN, haveA = ts, max(f.Laced, 1), true
				continue
			}
			if haveV {
				if f.TS > prevTS {
					delta = f.TS - prevTS
				}
			} else if !f.Key {
				c.Close()
				w.Close()
				return nil, fmt.Errorf("%s: does not start with a key frame", name)
			}
			haveV = true
			prevTS = f.TS
			if ts < last {
				ts = last
			}
			if f.Key && f.Width > 0 {
				sizes[[2]int{f.Width, f.Height}] = true
			}
			if err := f.write(w, ts); err != nil {
				c.Close()
				w.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			last = ts
		}
		if s.Alpha && opts.Warn != nil {
			opts.Warn(name + ": " + AlphaWarning)
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
		if haveA {
			// The last block's frames last about as long as those before.
			audioEnd = lastA + time.Duration(lastN)*aFrame
		}
		if opts.Progress != nil {
			opts.Progress(i + 1)
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	res.Frames, res.DurationMS, res.Bytes, res.Resolutions = w.Frames(), w.Duration().Milliseconds(), w.pos, len(sizes)
	res.AudioFrames = w.AudioFrames()
	return res, nil
}

// joinLookahead bounds how many frames Join reads at the start of a part
// to find its first audio frame.
const joinLookahead = 4096

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
	Frames        int64 // video frames
	AudioFrames   int64
	Keyframes     int64
	DurationMS    int64
	Bytes         int64 // written
	Problem       error // the input problem that ended the walk, if any
	DroppedOffset int64 // first byte not kept (-1: nothing dropped)
	DroppedBytes  int64 // from DroppedOffset to the end of input (-1: unknown)
	DroppedFromMS int64 // timeline position after the last kept frame
	DroppedLead   int64 // frames before the first key frame, dropped (video, and audio past leadAudioMax)
	// ShiftMS is how far the whole timeline (both tracks) was moved later
	// because the input starts at a negative timestamp (0: not moved).
	ShiftMS int64
	// AlphaDropped is set when the input's video track carries an alpha
	// plane (Source.Alpha): it is not copied (AlphaWarning).
	AlphaDropped bool
}

// leadAudioMax bounds the audio frames Repair holds before the first video
// key frame (and leadAudioBytes their payloads, when read into memory).
const (
	leadAudioMax   = 4096
	leadAudioBytes = 4 << 20
)

// Repair rewrites every complete frame of src into a complete, seekable
// file on out: known sizes, Duration measured from the blocks, SeekHead,
// Cues. Info (title, date, SegmentUID) and tags are kept, so a repaired part
// still links to its neighbours. Timestamps are kept as they are, except
// when the input starts before 0 (ffmpeg's -avoid_negative_ts disabled):
// WebM timestamps are unsigned in Cues (Matroska section 5.1.5.1.1), so
// then every frame of both tracks is moved later by the first kept
// frame's distance from 0, DateUTC earlier by as much, and ShiftMS says
// so. Complete audio frames are kept too, including those before the
// first video key frame (up to leadAudioMax of them). An alpha plane is
// not kept (AlphaDropped).
func Repair(ctx context.Context, src *Source, out io.Writer) (*RepairResult, error) {
	h := src.Header
	wo := WriterOptions{Width: src.Video.Width, Height: src.Video.Height, FrameDuration: src.FrameDuration(),
		Title: h.Info.Title, WritingApp: h.Info.WritingApp, DateUTC: h.Info.DateUTC, SegmentUID: h.Info.SegmentUID,
		Audio: src.AudioTrack()}
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
	var shift time.Duration // added to every timestamp
	var buf []byte
	n := 0
	var lead []Frame // audio before the first key frame
	leadBytes := 0
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
		if w == nil && f.Audio {
			if len(lead) >= leadAudioMax || leadBytes+len(f.Data) > leadAudioBytes {
				res.DroppedLead++
				continue
			}
			if f.Data != nil {
				f.Data = append([]byte(nil), f.Data...)
				leadBytes += len(f.Data)
			}
			if f.ref.head != nil {
				f.ref.head = append([]byte(nil), f.ref.head...) // the Reader reuses it
			}
			lead = append(lead, f)
			continue
		}
		if w == nil {
			if !f.Key {
				res.DroppedLead++
				continue
			}
			if f.Width > 0 {
				wo.Width, wo.Height = f.Width, f.Height
			}
			first := f.TS
			for i := range lead {
				first = min(first, lead[i].TS)
			}
			if first < 0 {
				// Whole milliseconds: the output's TimestampScale.
				shift = (-first + time.Millisecond - 1).Truncate(time.Millisecond)
				res.ShiftMS = shift.Milliseconds()
				if !wo.DateUTC.IsZero() {
					wo.DateUTC = wo.DateUTC.Add(-shift)
				}
			}
			if w, err = NewWriter(out, wo); err != nil {
				return nil, err
			}
			for i := range lead {
				if err := lead[i].write(w, lead[i].TS+shift); err != nil {
					w.Close()
					return nil, err
				}
			}
			lead = nil
		}
		if err := f.write(w, f.TS+shift); err != nil {
			w.Close()
			return nil, fmt.Errorf("%s: frame at byte %d: %w", src.Name, f.Offset, err)
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
	res.AudioFrames = w.aFrames
	res.AlphaDropped = src.Alpha
	_, end, _ := w.span()
	res.DroppedFromMS = end
	if res.Problem != nil {
		res.DroppedOffset = src.R.LastFrameEnd()
		res.DroppedBytes = -1
		if size := src.R.Scanner().Size(); size >= 0 {
			res.DroppedBytes = size - res.DroppedOffset
		}
	}
	return res, nil
}
