package mux

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/at-wat/ebml-go"
)

// WriterOptions describe the file a Writer produces.
type WriterOptions struct {
	Width, Height int           // initial video size (Tracks); in-band changes are allowed
	FrameDuration time.Duration // nominal frame duration (DefaultDuration); 0 when variable
	Title         string
	MuxingApp     string // default "reckit"
	WritingApp    string // default "reckit"
	DateUTC       time.Time
	SegmentUID    []byte // 16 bytes; random when nil
	Tags          []SimpleTag

	// ClusterDuration and ClusterBytes bound a Cluster (defaults 5 s and
	// 4 MiB). A new Cluster also starts at every key frame.
	ClusterDuration time.Duration
	ClusterBytes    int
	// Live forces the live layout even when the output can seek.
	Live bool
	// Sync calls Sync on the output after every Cluster when it has one
	// (an *os.File): the crash-consistency point.
	Sync bool

	// Audio, when set, adds an audio track (track number 2) next to the
	// video track (track number 1); its blocks are written with
	// WriteAudio.
	Audio *AudioTrack
}

// AudioTrack describes the optional audio track of a Writer: the fields of
// its TrackEntry (Matroska section 5.1.4.1), usually copied from a
// source's. reckit carries A_OPUS and A_VORBIS; the Writer copies the
// description as it is and does not look inside the payloads.
type AudioTrack struct {
	CodecID           string // "A_OPUS" or "A_VORBIS"
	CodecPrivate      []byte // Opus ID header, Vorbis setup headers
	SamplingFrequency float64
	Channels          int
	BitDepth          int           // 0: absent
	CodecDelay        time.Duration // Opus pre-skip; 0: absent
	SeekPreRoll       time.Duration // 0: absent
	DefaultDuration   time.Duration // 0: absent (frames of varying length)
}

// AudioTrackOf returns the description of an audio track read from a
// header, for WriterOptions.Audio.
func AudioTrackOf(t Track) *AudioTrack {
	return &AudioTrack{CodecID: t.CodecID, CodecPrivate: append([]byte(nil), t.CodecPrivate...),
		SamplingFrequency: t.SamplingFreq, Channels: int(t.Channels), BitDepth: int(t.BitDepth),
		CodecDelay: time.Duration(t.CodecDelay), SeekPreRoll: time.Duration(t.SeekPreRoll),
		DefaultDuration: time.Duration(t.DefaultDuration)}
}

// Writer writes one VP8 video track, and optionally one audio track, as
// WebM.
//
// Blocks are SimpleBlocks (an audio frame with DiscardPadding is a
// BlockGroup). A Cluster starts at every video key frame (unless the open
// one holds only audio), when the source Cluster of a block copied by
// reference changes, and when ClusterDuration or ClusterBytes would be
// exceeded. Audio blocks go into the open Cluster in the order written;
// each track's timestamps must not decrease. Cues index the video key
// frames only (CueTrack 1).
//
// Layout on a seekable output (an io.WriteSeeker): EBML header; Segment of
// unknown size; SeekHead (reserved space); Info without Duration (reserved
// space); Tracks; Tags (reserved space); Clusters of SimpleBlocks; then on
// Close: Cues, and the Segment size, Duration, SeekHead and Tags patched in
// place. Until Close the file is a valid live-layout WebM: every Cluster is
// written whole (its size known) and flushed to the output when it ends, so
// after a crash the bytes up to the last finished Cluster are a readable
// recording (and `reckit repair` completes it). With Sync set, the output is
// fsynced after every Cluster; otherwise durability is the OS's.
//
// Layout on a non-seekable output (a pipe), or with Live: the same without
// SeekHead and Duration, the Segment size stays unknown, and Cues follow the
// last Cluster; tags set after the header was written are appended in a
// second Tags element at the end.
//
// Close is idempotent; it never closes the underlying writer. Errors are
// sticky: after a failed write every call returns the same error.
type Writer struct {
	out    io.Writer
	seeker io.WriteSeeker
	bw     *bufio.Writer
	opts   WriterOptions
	err    error
	closed bool

	pos        int64 // bytes written to out (including buffered in bw)
	segData    int64 // offset of the Segment's data
	segSizePos int64
	seekPos    int64 // SeekHead reserved region
	seekLen    int
	infoPos    int64
	infoLen    int
	tracksPos  int64
	tagsPos    int64
	tagsLen    int
	tags       []SimpleTag
	tagsDirty  bool
	cuesPos    int64

	cbuf    []byte // the open Cluster's data (Timestamp + blocks)
	cTS     int64  // open Cluster's timestamp (ms)
	cStart  int64  // time of its first block (ms)
	prevCTS int64  // the last Cluster's timestamp
	cOpen   bool
	cKey    bool  // the open Cluster's first video block is a key frame
	cVideo  bool  // the open Cluster holds a video block
	cKeyTS  int64 // time of that key frame (ms)

	// Blocks copied from a source by reference (writeRef): the open
	// Cluster's data is cbuf with the spans inserted at their positions.
	spans      []span
	refBytes   int64
	refCluster int64 // source Cluster of the last frame (-1: none)
	fileOut    fileWriter
	copyBuf    []byte
	cues       []cue
	lastCueTS  int64

	frames    int64
	keys      int64
	firstTS   int64
	lastTS    int64
	prevDelta int64
	width     int
	height    int

	// The audio track (opts.Audio): frames, first and last time (ms),
	// the last gap between two frames.
	aFrames    int64
	aFirstTS   int64
	aLastTS    int64
	aPrevDelta int64
	aPrevN     int // frames in the block before the last (laced blocks hold several)
	aLastN     int // frames in the last block
}

type cue struct{ ts, pos int64 }

const (
	seekReserve = 96  // bytes for SeekHead + Void
	infoSlack   = 24  // room for Duration in Info
	tagsSlack   = 512 // room for tags set later (part links)
)

// NewWriter writes the header to w and returns a Writer. The caller closes w
// after Close.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	if opts.Width <= 0 || opts.Height <= 0 || opts.Width > 16383 || opts.Height > 16383 {
		return nil, fmt.Errorf("mux: invalid video size %dx%d", opts.Width, opts.Height)
	}
	if a := opts.Audio; a != nil && (a.CodecID == "" || a.SamplingFrequency <= 0 || a.Channels <= 0) {
		return nil, fmt.Errorf("mux: invalid audio track %q (%v Hz, %d channels)", a.CodecID, a.SamplingFrequency, a.Channels)
	}
	if opts.MuxingApp == "" {
		opts.MuxingApp = "reckit"
	}
	if opts.WritingApp == "" {
		opts.WritingApp = "reckit"
	}
	if opts.ClusterDuration <= 0 {
		opts.ClusterDuration = 5 * time.Second
	}
	if opts.ClusterDuration > 30*time.Second {
		opts.ClusterDuration = 30 * time.Second // int16 relative timestamps in ms
	}
	if opts.ClusterBytes <= 0 {
		opts.ClusterBytes = 4 << 20
	}
	if opts.SegmentUID == nil {
		opts.SegmentUID = make([]byte, 16)
		if _, err := rand.Read(opts.SegmentUID); err != nil {
			return nil, fmt.Errorf("mux: segment uid: %w", err)
		}
	}
	wr := &Writer{out: w, opts: opts, tags: append([]SimpleTag(nil), opts.Tags...),
		width: opts.Width, height: opts.Height, lastCueTS: -1 << 62, refCluster: -1}
	wr.fileOut = asFileWriter(w)
	if s, ok := w.(io.WriteSeeker); ok && !opts.Live {
		if _, err := s.Seek(0, io.SeekCurrent); err == nil {
			wr.seeker = s
		}
	}
	wr.bw = bufio.NewWriterSize(writerOnly{w}, 64<<10)
	if err := wr.writeHeader(); err != nil {
		return nil, err
	}
	return wr, nil
}

// writerOnly hides every method but Write (bufio must not see ReadFrom).
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// SegmentUID returns the file's SegmentUID.
func (w *Writer) SegmentUID() []byte { return w.opts.SegmentUID }

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(p)
	w.pos += int64(n)
	if err != nil {
		w.err = fmt.Errorf("mux: write: %w", err)
	}
}

func marshalEl(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := ebml.Marshal(v, &b); err != nil {
		return nil, fmt.Errorf("mux: marshal: %w", err)
	}
	return b.Bytes(), nil
}

// appendVoid appends a Void element of exactly n bytes (n == 0 or n >= 2).
func appendVoid(dst []byte, n int) []byte {
	switch {
	case n == 0:
		return dst
	case n < 2:
		panic("mux: void of 1 byte")
	case n-2 < 127:
		dst = append(dst, IDVoid)
		dst = appendSize(dst, uint64(n-2), 1)
		return append(dst, make([]byte, n-2)...)
	default:
		dst = append(dst, IDVoid)
		dst = appendSize(dst, uint64(n-9), 8)
		return append(dst, make([]byte, n-9)...)
	}
}

type infoOut struct {
	TimecodeScale uint64    `ebml:"TimecodeScale"`
	MuxingApp     string    `ebml:"MuxingApp"`
	WritingApp    string    `ebml:"WritingApp"`
	Title         string    `ebml:"Title,omitempty"`
	SegmentUID    []byte    `ebml:"SegmentUID"`
	DateUTC       time.Time `ebml:"DateUTC,omitempty"`
	Duration      float64   `ebml:"Duration,omitempty"`
}

func (w *Writer) infoBytes(dur float64) ([]byte, error) {
	i := infoOut{TimecodeScale: 1000000, MuxingApp: w.opts.MuxingApp, WritingApp: w.opts.WritingApp,
		Title: w.opts.Title, SegmentUID: w.opts.SegmentUID, Duration: dur}
	if !w.opts.DateUTC.IsZero() {
		i.DateUTC = w.opts.DateUTC.UTC()
	}
	return marshalEl(&struct {
		I infoOut `ebml:"Info"`
	}{i})
}

type simpleTagOut struct {
	TagName   string `ebml:"TagName"`
	TagString string `ebml:"TagString"`
}

type tagOut struct {
	Targets struct {
		TargetTypeValue uint64 `ebml:"TargetTypeValue"`
	} `ebml:"Targets"`
	SimpleTag []simpleTagOut `ebml:"SimpleTag"`
}

func (w *Writer) tagsBytes() ([]byte, error) {
	var t tagOut
	t.Targets.TargetTypeValue = 50
	for _, s := range w.tags {
		t.SimpleTag = append(t.SimpleTag, simpleTagOut{s.Name, s.Value})
	}
	return marshalEl(&struct {
		T struct {
			Tag []tagOut `ebml:"Tag"`
		} `ebml:"Tags"`
	}{struct {
		Tag []tagOut `ebml:"Tag"`
	}{[]tagOut{t}}})
}

func (w *Writer) seekHeadBytes(withEnd bool) ([]byte, error) {
	type seek struct {
		SeekID       []byte `ebml:"SeekID"`
		SeekPosition uint64 `ebml:"SeekPosition"`
	}
	var s struct {
		S struct {
			Seek []seek `ebml:"Seek"`
		} `ebml:"SeekHead"`
	}
	add := func(id uint32, pos int64) {
		s.S.Seek = append(s.S.Seek, seek{appendID(nil, id), uint64(pos - w.segData)})
	}
	add(IDInfo, w.infoPos)
	add(IDTracks, w.tracksPos)
	if len(w.tags) > 0 {
		add(IDTags, w.tagsPos)
	}
	if withEnd && len(w.cues) > 0 {
		add(IDCues, w.cuesPos)
	}
	return marshalEl(&s)
}

func (w *Writer) writeHeader() error {
	hdr, err := marshalEl(&struct {
		H struct {
			EBMLVersion        uint64 `ebml:"EBMLVersion"`
			EBMLReadVersion    uint64 `ebml:"EBMLReadVersion"`
			EBMLMaxIDLength    uint64 `ebml:"EBMLMaxIDLength"`
			EBMLMaxSizeLength  uint64 `ebml:"EBMLMaxSizeLength"`
			DocType            string `ebml:"EBMLDocType"`
			DocTypeVersion     uint64 `ebml:"EBMLDocTypeVersion"`
			DocTypeReadVersion uint64 `ebml:"EBMLDocTypeReadVersion"`
		} `ebml:"EBML"`
	}{struct {
		EBMLVersion        uint64 `ebml:"EBMLVersion"`
		EBMLReadVersion    uint64 `ebml:"EBMLReadVersion"`
		EBMLMaxIDLength    uint64 `ebml:"EBMLMaxIDLength"`
		EBMLMaxSizeLength  uint64 `ebml:"EBMLMaxSizeLength"`
		DocType            string `ebml:"EBMLDocType"`
		DocTypeVersion     uint64 `ebml:"EBMLDocTypeVersion"`
		DocTypeReadVersion uint64 `ebml:"EBMLDocTypeReadVersion"`
	}{1, 1, 4, 8, "webm", 4, 2}})
	if err != nil {
		return err
	}
	w.write(hdr)
	w.segSizePos = w.pos + 4
	w.write(appendUnknownSize(appendID(nil, IDSegment)))
	w.segData = w.pos
	if w.seeker != nil {
		w.seekPos, w.seekLen = w.pos, seekReserve
		w.write(appendVoid(nil, seekReserve)) // filled below once positions are known
	}
	info, err := w.infoBytes(0)
	if err != nil {
		return err
	}
	w.infoPos = w.pos
	w.write(info)
	w.infoLen = len(info)
	if w.seeker != nil {
		w.write(appendVoid(nil, infoSlack))
		w.infoLen += infoSlack
	}
	var fd uint64
	if w.opts.FrameDuration > 0 {
		fd = uint64(w.opts.FrameDuration.Nanoseconds())
	}
	type video struct {
		PixelWidth  uint64 `ebml:"PixelWidth"`
		PixelHeight uint64 `ebml:"PixelHeight"`
	}
	type audio struct {
		SamplingFrequency float64 `ebml:"SamplingFrequency"`
		Channels          uint64  `ebml:"Channels"`
		BitDepth          uint64  `ebml:"BitDepth,omitempty"`
	}
	type track struct {
		TrackNumber     uint64 `ebml:"TrackNumber"`
		TrackUID        uint64 `ebml:"TrackUID"`
		TrackType       uint64 `ebml:"TrackType"`
		FlagLacing      uint64 `ebml:"FlagLacing"`
		CodecID         string `ebml:"CodecID"`
		CodecPrivate    []byte `ebml:"CodecPrivate,omitempty"`
		DefaultDuration uint64 `ebml:"DefaultDuration,omitempty"`
		CodecDelay      uint64 `ebml:"CodecDelay,omitempty"`
		SeekPreRoll     uint64 `ebml:"SeekPreRoll,omitempty"`
		Video           *video `ebml:"Video,omitempty"`
		Audio           *audio `ebml:"Audio,omitempty"`
	}
	u := w.opts.SegmentUID
	// FlagLacing 1 on the audio track: blocks copied from a source that
	// laces (mkvmerge) stay laced.
	uid := uint64(u[0])<<24 | uint64(u[1])<<16 | uint64(u[2])<<8 | uint64(u[3]) | 1
	entries := []track{{TrackNumber: 1, TrackUID: uid, TrackType: 1, CodecID: "V_VP8", DefaultDuration: fd,
		Video: &video{uint64(w.opts.Width), uint64(w.opts.Height)}}}
	if a := w.opts.Audio; a != nil {
		auid := uint64(u[4])<<24 | uint64(u[5])<<16 | uint64(u[6])<<8 | uint64(u[7]) | 1
		if auid == uid {
			auid += 2
		}
		entries = append(entries, track{TrackNumber: 2, TrackUID: auid, TrackType: 2, FlagLacing: 1, CodecID: a.CodecID,
			CodecPrivate: a.CodecPrivate, DefaultDuration: uint64(max(a.DefaultDuration, 0)),
			CodecDelay: uint64(max(a.CodecDelay, 0)), SeekPreRoll: uint64(max(a.SeekPreRoll, 0)),
			Audio: &audio{a.SamplingFrequency, uint64(a.Channels), uint64(a.BitDepth)}})
	}
	tracks, err := marshalEl(&struct {
		T struct {
			TrackEntry []track `ebml:"TrackEntry"`
		} `ebml:"Tracks"`
	}{struct {
		TrackEntry []track `ebml:"TrackEntry"`
	}{entries}})
	if err != nil {
		return err
	}
	w.tracksPos = w.pos
	w.write(tracks)
	w.tagsPos = w.pos
	if len(w.tags) > 0 {
		tb, err := w.tagsBytes()
		if err != nil {
			return err
		}
		w.write(tb)
		w.tagsLen = len(tb)
	}
	if w.seeker != nil {
		w.write(appendVoid(nil, tagsSlack))
		w.tagsLen += tagsSlack
	}
	w.tagsDirty = false
	if w.seeker != nil {
		sh, err := w.seekHeadBytes(false)
		if err != nil {
			return err
		}
		if err := w.patch(w.seekPos, w.seekLen, sh); err != nil {
			return err
		}
	}
	return w.flush()
}

// patch overwrites a reserved region [at, at+n) with b padded by a Void.
// Only possible on a seekable output; buffered bytes are flushed first.
func (w *Writer) patch(at int64, n int, b []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(b) > n || n-len(b) == 1 {
		return fmt.Errorf("mux: %d bytes do not fit a %d-byte reserved region", len(b), n)
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("mux: write: %w", err)
		return w.err
	}
	buf := appendVoid(append([]byte(nil), b...), n-len(b))
	if _, err := w.seeker.Seek(at-w.pos, io.SeekCurrent); err != nil {
		w.err = fmt.Errorf("mux: seek: %w", err)
		return w.err
	}
	if _, err := w.out.Write(buf); err != nil {
		w.err = fmt.Errorf("mux: write: %w", err)
		return w.err
	}
	if _, err := w.seeker.Seek(w.pos-(at+int64(n)), io.SeekCurrent); err != nil {
		w.err = fmt.Errorf("mux: seek: %w", err)
		return w.err
	}
	return nil
}

func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("mux: write: %w", err)
		return w.err
	}
	if w.opts.Sync {
		if s, ok := w.out.(interface{ Sync() error }); ok {
			if err := s.Sync(); err != nil {
				w.err = fmt.Errorf("mux: sync: %w", err)
				return w.err
			}
		}
	}
	return nil
}

// SetTag sets (or replaces) a global simple tag before Close, e.g. the next
// part's SegmentUID.
func (w *Writer) SetTag(name, value string) {
	for i := range w.tags {
		if w.tags[i].Name == name {
			w.tags[i].Value = value
			w.tagsDirty = true
			return
		}
	}
	w.tags = append(w.tags, SimpleTag{name, value})
	w.tagsDirty = true
}

// BlockOverhead is the number of bytes a SimpleBlock adds around a frame of
// n bytes (element header, track number, timestamp, flags).
func BlockOverhead(n int) int {
	return 1 + sizeLen(uint64(n+4)) + 4
}

// ClusterOverhead is the most a Cluster header and Timestamp add.
const ClusterOverhead = 4 + 8 + 2 + 8

// cueBytes is the most one CuePoint takes.
const cueBytes = 2 + 2 + 9 + 2 + 2 + 3 + 2 + 9

// Size returns the bytes written so far, including the open Cluster.
func (w *Writer) Size() int64 {
	n := w.pos
	if w.cOpen {
		n += int64(ClusterOverhead) + int64(len(w.cbuf)) + w.refBytes
	}
	return n
}

// CloseOverhead returns an upper bound of what Close adds past Size: Cues
// (plus one more CuePoint) and any Tags appended at the end.
func (w *Writer) CloseOverhead() int64 {
	n := int64(12 + (len(w.cues)+2)*cueBytes)
	if w.seeker == nil && w.tagsDirty {
		n += 64
		for _, t := range w.tags {
			n += int64(len(t.Name)+len(t.Value)) + 16
		}
	}
	return n
}

// Frames returns the number of video frames written.
func (w *Writer) Frames() int64 { return w.frames }

// AudioFrames returns the number of audio frames written (a laced block
// counts its frames).
func (w *Writer) AudioFrames() int64 { return w.aFrames }

// Duration returns the duration so far, over both tracks: from the first
// block to the end of the last one (its timestamp plus one frame duration:
// the track's DefaultDuration, else the last gap between two frames).
func (w *Writer) Duration() time.Duration {
	first, end, ok := w.span()
	if !ok {
		return 0
	}
	return time.Duration(end-first) * time.Millisecond
}

// span returns the first time and the end of the last block (ms).
func (w *Writer) span() (first, end int64, ok bool) {
	if w.frames > 0 {
		first, end, ok = w.firstTS, w.lastTS+w.frameTicks(), true
	}
	if w.aFrames > 0 {
		aEnd := w.aLastTS + w.audioTicks()
		if !ok || w.aFirstTS < first {
			first = w.aFirstTS
		}
		if !ok || aEnd > end {
			end = aEnd
		}
		ok = true
	}
	return first, end, ok
}

// audioTicks is the duration of the last audio block (ms): its frames
// times the DefaultDuration, else times the previous block's gap per frame.
func (w *Writer) audioTicks() int64 {
	n := int64(max(w.aLastN, 1))
	if d := w.opts.Audio.DefaultDuration; d > 0 {
		return int64((time.Duration(n)*d + time.Millisecond/2) / time.Millisecond)
	}
	return (w.aPrevDelta*n + int64(max(w.aPrevN, 1))/2) / int64(max(w.aPrevN, 1))
}

func (w *Writer) frameTicks() int64 {
	if w.opts.FrameDuration > 0 {
		return int64((w.opts.FrameDuration + time.Millisecond/2) / time.Millisecond)
	}
	return w.prevDelta
}

// WriteFrame appends one frame at presentation time ts (from the start of
// the file; not decreasing). The frame is copied.
func (w *Writer) WriteFrame(ts time.Duration, key bool, frame []byte) error {
	t, err := w.checkFrame(ts, key)
	if err != nil {
		return err
	}
	if key {
		if h, err := ParseVP8Header(frame, int64(len(frame))); err == nil && h.Key {
			w.width, w.height = h.Width, h.Height
		}
	}
	if w.clusterBreak(t, true, key, int64(len(frame)), w.refCluster) {
		if err := w.openCluster(t, t); err != nil {
			return err
		}
	}
	rel, err := w.rel(t)
	if err != nil {
		return err
	}
	w.cbuf = appendBlockHead(w.cbuf, len(frame), rel, key, 1)
	w.cbuf = append(w.cbuf, frame...)
	w.account(t, key)
	return nil
}

// WriteAudio appends one audio frame at presentation time ts (from the
// start of the file; not before the previous audio frame) to the audio
// track of WriterOptions.Audio, as a key frame. discard is the frame's
// DiscardPadding (Matroska: the duration of audio to drop at its end, e.g.
// the padding of the last Opus packet; 0 for none), which makes the block
// a BlockGroup. The frame is copied.
func (w *Writer) WriteAudio(ts time.Duration, frame []byte, discard time.Duration) error {
	return w.writeAudio(ts, audioBlock{key: true, frames: 1, discard: discard}, frame, nil)
}

// audioBlock is how an audio frame is written: its key flag, lacing bits
// (a laced block's body: lace header and frames), the number of frames it
// holds, and its DiscardPadding.
type audioBlock struct {
	key     bool
	lacing  byte
	frames  int
	discard time.Duration
}

// writeAudio appends an audio frame: frame's bytes, or with f non-nil the
// range of a source (see writeRef). With lacing set (the block's 2 lacing
// bits), the frame is a laced block's body, lace header included.
func (w *Writer) writeAudio(ts time.Duration, ab audioBlock, frame []byte, f *frameRef) error {
	key, lacing, discard := ab.key, ab.lacing, ab.discard
	t, err := w.checkAudio(ts)
	if err != nil {
		return err
	}
	n, src, srcRel := int64(len(frame)), w.refCluster, int64(-1)
	if f != nil {
		n, src, srcRel = f.size, f.cluster, f.rel
	}
	if w.clusterBreak(t, false, false, n, src) {
		if err := w.openCluster(alignedTS(t, srcRel, w.prevCTS), t); err != nil {
			return err
		}
		w.refCluster = src
	}
	rel, err := w.rel(t)
	if err != nil {
		return err
	}
	if discard != 0 {
		w.cbuf = appendGroupHead(w.cbuf, int(n), rel, discard)
		w.cbuf[len(w.cbuf)-1] |= lacing << 1
		if f != nil {
			w.spans = append(w.spans, span{at: len(w.cbuf), src: f.src, off: f.off, n: f.size})
			w.refBytes += f.size
		} else {
			w.cbuf = append(w.cbuf, frame...)
		}
		w.cbuf = appendDiscard(w.cbuf, discard)
	} else if f != nil {
		var hb [16]byte
		h := appendBlockHead(hb[:0], int(n), rel, key, 2)
		h[len(h)-1] |= lacing << 1
		w.addRef(h, f)
	} else {
		w.cbuf = appendBlockHead(w.cbuf, len(frame), rel, key, 2)
		w.cbuf[len(w.cbuf)-1] |= lacing << 1
		w.cbuf = append(w.cbuf, frame...)
	}
	if w.aFrames == 0 {
		w.aFirstTS = t
	} else {
		w.aPrevDelta = t - w.aLastTS
	}
	w.aLastTS = t
	w.aPrevN, w.aLastN = w.aLastN, max(ab.frames, 1)
	w.aFrames += int64(max(ab.frames, 1))
	return nil
}

// checkAudio validates the next audio frame's time and returns it in ms.
func (w *Writer) checkAudio(ts time.Duration) (int64, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.opts.Audio == nil {
		return 0, errors.New("mux: audio frame for a writer without an audio track")
	}
	t := int64(ts / time.Millisecond)
	if ts < 0 {
		return 0, fmt.Errorf("mux: audio timestamp %v is negative (rebase the timeline first)", ts)
	}
	if w.aFrames > 0 && t < w.aLastTS {
		return 0, fmt.Errorf("mux: audio timestamp %v goes back (previous %v)", ts, time.Duration(w.aLastTS)*time.Millisecond)
	}
	return t, nil
}

// rel returns a block's timestamp relative to the open Cluster's (a signed
// 16-bit number: a block may sit a little before its Cluster's timestamp
// when the tracks interleave loosely).
func (w *Writer) rel(t int64) (int64, error) {
	r := t - w.cTS
	if r < -32768 || r > 32767 {
		return 0, fmt.Errorf("mux: block at %d ms is %d ms away from its Cluster's timestamp", t, r)
	}
	return r, nil
}

// blockGroupBytes is the size of a BlockGroup holding a Block of an n-byte
// frame and a DiscardPadding of pad ns.
func blockGroupBytes(n int, pad time.Duration) int {
	inner := 1 + sizeLen(uint64(n+4)) + 4 + n + 3 + intLen(int64(pad))
	return 1 + sizeLen(uint64(inner)) + inner
}

// audioBlockBytes is what an audio frame of n bytes takes in a Cluster.
func audioBlockBytes(n int, pad time.Duration) int {
	if pad != 0 {
		return blockGroupBytes(n, pad)
	}
	return n + BlockOverhead(n)
}

// appendGroupHead appends the head of a BlockGroup for an audio frame of
// n bytes (track 2) with a DiscardPadding: the group's ID and size and the
// Block's header. The payload and appendDiscard follow.
func appendGroupHead(dst []byte, n int, rel int64, pad time.Duration) []byte {
	total := blockGroupBytes(n, pad)
	inner := total - 1 - sizeLen(uint64(total))
	for 1+sizeLen(uint64(inner))+inner != total {
		inner--
	}
	dst = append(dst, IDBlockGroup)
	dst = appendSize(dst, uint64(inner), sizeLen(uint64(inner)))
	dst = append(dst, IDBlock)
	dst = appendSize(dst, uint64(n+4), sizeLen(uint64(n+4)))
	return append(dst, 0x82, byte(rel>>8), byte(rel), 0)
}

// appendDiscard appends a DiscardPadding element (signed, ns).
func appendDiscard(dst []byte, pad time.Duration) []byte {
	n := intLen(int64(pad))
	dst = appendID(dst, IDDiscardPadding)
	dst = appendSize(dst, uint64(n), 1)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(int64(pad)>>(8*i)))
	}
	return dst
}

// intLen is the number of bytes of v as a signed EBML integer.
func intLen(v int64) int {
	n := 1
	for n < 8 && (v < -(1<<(8*n-1)) || v >= 1<<(8*n-1)) {
		n++
	}
	return n
}

// checkFrame validates the next frame's time and returns it in ms.
func (w *Writer) checkFrame(ts time.Duration, key bool) (int64, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if ts < 0 {
		return 0, fmt.Errorf("mux: video timestamp %v is negative (rebase the timeline first)", ts)
	}
	t := int64(ts / time.Millisecond)
	if w.frames > 0 && t < w.lastTS {
		return 0, fmt.Errorf("mux: timestamp %v goes back (previous %v)", ts, time.Duration(w.lastTS)*time.Millisecond)
	}
	if w.frames == 0 && !key {
		return 0, errors.New("mux: the first frame must be a key frame")
	}
	return t, nil
}

// clusterBreak reports whether a block at t (ms) of n payload bytes, from
// source Cluster srcCluster (see writeRef), opens a new Cluster: at every
// video key frame (unless the open Cluster holds no video yet), when the
// source starts a Cluster, and when the open one would exceed
// ClusterDuration, the int16 relative timestamp or ClusterBytes.
func (w *Writer) clusterBreak(t int64, video, key bool, n int64, srcCluster int64) bool {
	return clusterBreak(w.cOpen, w.cVideo, w.cStart, w.cTS, int64(len(w.cbuf))+w.refBytes, w.refCluster,
		t, video && key, n, srcCluster, w.opts.ClusterDuration.Milliseconds(), int64(w.opts.ClusterBytes))
}

// clusterBreak is the Writer's Cluster rule, shared with split's size
// estimate (gop.outBytes) so that both agree exactly. cVideo says whether
// the open Cluster holds a video block, cStart is the time of its first
// block, cTS its Timestamp, cLen its data so far (Timestamp element
// included); key is set for a video key frame.
func clusterBreak(open, cVideo bool, cStart, cTS, cLen, cSrc, t int64, key bool, n, src, dur, maxBytes int64) bool {
	return !open ||
		(key && cVideo) ||
		src != cSrc ||
		t-cStart >= dur ||
		t-cTS > 32767 ||
		cLen+n > maxBytes
}

// clusterTS is the Timestamp of a Cluster opened at want (ms) after one
// with Timestamp prev: never going back (a block of one track may come
// after a later block of the other).
func clusterTS(want, prev int64) int64 {
	if want < prev {
		return prev
	}
	return want
}

// clusterTSLen is the size of a Cluster's Timestamp element as written.
const clusterTSLen = 10

// alignedTS is the Timestamp of a Cluster opened by a frame at t (ms) that
// sits at relative time srcRel in its source Cluster (-1: none): the
// source's Cluster time moved to the output timeline, so that the blocks
// keep their relative timestamps and can be copied unchanged, when that is
// a valid time (not negative, not before the previous Cluster's).
func alignedTS(t, srcRel, prevTS int64) int64 {
	if srcRel <= 0 || srcRel > t || t-srcRel < prevTS {
		return t
	}
	return t - srcRel
}

// openCluster ends the open Cluster and starts one with Timestamp cTS (or
// the previous Cluster's, if later) whose first block is at t.
func (w *Writer) openCluster(cTS, t int64) error {
	if err := w.endCluster(); err != nil {
		return err
	}
	cTS = clusterTS(cTS, w.prevCTS)
	w.cOpen, w.cTS, w.cStart, w.cKey, w.cVideo = true, cTS, t, false, false
	w.prevCTS = cTS
	if w.cbuf == nil && w.seeker != nil {
		// Allocated once per file: growing it would leave garbage.
		w.cbuf = make([]byte, 0, w.opts.ClusterBytes+64<<10)
	}
	w.cbuf = append(w.cbuf[:0], IDTimestamp)
	w.cbuf = appendSize(w.cbuf, 8, 1)
	for i := 7; i >= 0; i-- {
		w.cbuf = append(w.cbuf, byte(cTS>>(8*i)))
	}
	return nil
}

// appendBlockHead appends a SimpleBlock header (track 1 or 2) for a frame
// of n bytes at relative time rel.
func appendBlockHead(dst []byte, n int, rel int64, key bool, track byte) []byte {
	dst = append(dst, IDSimpleBlock)
	dst = appendSize(dst, uint64(n+4), sizeLen(uint64(n+4)))
	flags := byte(0)
	if key {
		flags = 0x80
	}
	return append(dst, 0x80|track, byte(rel>>8), byte(rel), flags)
}

// account counts a video frame written at t.
func (w *Writer) account(t int64, key bool) {
	if !w.cVideo {
		w.cVideo, w.cKey, w.cKeyTS = true, key, t
	}
	if w.frames == 0 {
		w.firstTS = t
	} else {
		w.prevDelta = t - w.lastTS
	}
	w.lastTS = t
	w.frames++
	if key {
		w.keys++
	}
}

// Flush ends the open Cluster and writes it to the output.
func (w *Writer) Flush() error {
	if w.closed {
		return ErrClosed
	}
	return w.endCluster()
}

func (w *Writer) endCluster() error {
	if !w.cOpen {
		return w.err
	}
	w.cOpen = false
	if w.cKey && w.cKeyTS-w.lastCueTS >= 1000 {
		w.cues = append(w.cues, cue{w.cKeyTS, w.pos - w.segData})
		w.lastCueTS = w.cKeyTS
	}
	var h [16]byte
	n := uint64(int64(len(w.cbuf)) + w.refBytes)
	hb := appendID(h[:0], IDCluster)
	hb = appendSize(hb, n, sizeLen(n))
	w.write(hb)
	at := 0
	for _, sp := range w.spans {
		w.write(w.cbuf[at:sp.at])
		at = sp.at
		w.copySpan(sp)
	}
	w.write(w.cbuf[at:])
	w.spans, w.refBytes = w.spans[:0], 0
	if cap(w.cbuf) > 2*w.opts.ClusterBytes {
		w.cbuf = nil
	}
	return w.flush()
}

var cuesPosUnset int64 = -1

// Close ends the open Cluster, writes Cues and, on a seekable output,
// patches the Segment size, Duration, SeekHead and Tags. It does not close
// the underlying writer. Calling Close again returns the first result.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if err := w.endCluster(); err != nil {
		return err
	}
	w.cuesPos = cuesPosUnset
	if len(w.cues) > 0 {
		w.cuesPos = w.pos
		w.write(w.cuesBytes())
	}
	if w.seeker == nil {
		if w.tagsDirty && len(w.tags) > 0 {
			tb, err := w.tagsBytes()
			if err != nil {
				w.err = err
				return err
			}
			w.write(tb)
		}
		return w.flush()
	}
	if err := w.flush(); err != nil {
		return err
	}
	end := w.pos
	// Duration, in ms ticks.
	info, err := w.infoBytes(float64(w.Duration().Milliseconds()))
	if err == nil {
		err = w.patch(w.infoPos, w.infoLen, info)
	}
	if err == nil && w.tagsDirty && len(w.tags) > 0 {
		var tb []byte
		if tb, err = w.tagsBytes(); err == nil {
			err = w.patch(w.tagsPos, w.tagsLen, tb)
		}
	}
	if err == nil {
		var sh []byte
		if sh, err = w.seekHeadBytes(true); err == nil {
			err = w.patch(w.seekPos, w.seekLen, sh)
		}
	}
	if err == nil {
		size := appendSize(nil, uint64(end-w.segData), 8)
		err = w.patchRaw(w.segSizePos, size)
	}
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return w.err
	}
	return w.flush()
}

func (w *Writer) patchRaw(at int64, b []byte) error {
	if _, err := w.seeker.Seek(at-w.pos, io.SeekCurrent); err != nil {
		return fmt.Errorf("mux: seek: %w", err)
	}
	if _, err := w.out.Write(b); err != nil {
		return fmt.Errorf("mux: write: %w", err)
	}
	if _, err := w.seeker.Seek(w.pos-(at+int64(len(b))), io.SeekCurrent); err != nil {
		return fmt.Errorf("mux: seek: %w", err)
	}
	return nil
}

// cuesBytes encodes the Cues element by hand: CuePoints are many, small and
// fixed in shape (CueTime, CueTrack 1, CueClusterPosition).
func (w *Writer) cuesBytes() []byte {
	var body []byte
	var pt []byte
	for _, c := range w.cues {
		pt = pt[:0]
		pt = appendUintEl(pt, 0xB3, uint64(c.ts)) // CueTime
		var tp []byte
		tp = appendUintEl(tp, 0xF7, 1)             // CueTrack
		tp = appendUintEl(tp, 0xF1, uint64(c.pos)) // CueClusterPosition
		pt = append(pt, 0xB7)                      // CueTrackPositions
		pt = appendSize(pt, uint64(len(tp)), sizeLen(uint64(len(tp))))
		pt = append(pt, tp...)
		body = append(body, 0xBB) // CuePoint
		body = appendSize(body, uint64(len(pt)), sizeLen(uint64(len(pt))))
		body = append(body, pt...)
	}
	out := appendID(nil, IDCues)
	out = appendSize(out, uint64(len(body)), sizeLen(uint64(len(body))))
	return append(out, body...)
}

func appendUintEl(dst []byte, id uint32, v uint64) []byte {
	n := 1
	for n < 8 && v>>(8*n) != 0 {
		n++
	}
	dst = appendID(dst, id)
	dst = appendSize(dst, uint64(n), 1)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}
