package inspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/reckit/reckit/mux"
)

// ScanOptions configure Scan.
type ScanOptions struct {
	// Hash computes the SHA-256 of the whole input in the same pass.
	Hash bool
	// Progress, if set, is called with the bytes walked so far, at most once
	// per Cluster.
	Progress func(done int64)
	// Deep adds the checks of verify --deep: timestamps monotonic per
	// track, gaps between frames longer than MaxGap reported, the first key
	// frame's size compared with the track header, and the header Duration
	// compared with the measured duration (a difference is corrupt).
	Deep bool
	// MaxGap is the longest gap between two frames of a track that Deep
	// accepts silently; 0 means no gap check.
	MaxGap time.Duration
}

// Scan walks a whole file: every element header and block, VP8 frame
// headers of every frame, never pixels. size is the input's size, or -1 for
// a stream (stdin). Problems in the file are Findings in the Report; the
// error is only for failures to read (and ctx cancellation).
func Scan(ctx context.Context, path string, r io.Reader, size int64, opts ScanOptions) (*Report, error) {
	rep := &Report{Type: "file", Path: path, Bytes: size, Verdict: OK, Tracks: []TrackReport{}, Tags: []mux.SimpleTag{}, Findings: []Finding{}}
	var h hash.Hash
	var counter countingWriter
	ro := mux.ReaderOptions{}
	if opts.Hash {
		h = sha256.New()
		ro.Tee = io.MultiWriter(h, &counter)
	}
	rd := mux.NewReader(r, ro)
	err := walk(ctx, rd, rep, opts)
	if err != nil && !isFormat(err) {
		return nil, err
	}
	if h != nil {
		// Hash whatever the walk did not need to read.
		if _, err := io.Copy(io.Discard, readerOnly{r, h, &counter}); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rep.SHA256 = hex.EncodeToString(h.Sum(nil))
		if size < 0 {
			rep.Bytes = counter.n
		}
	} else if size < 0 {
		rep.Bytes = rd.Scanner().Offset()
		if rep.Verdict == OK || rep.Verdict == Unseekable {
			rep.Bytes = rd.Scanner().Offset()
		}
	}
	finish(rep, rd)
	if opts.Deep {
		deepDuration(rep)
	}
	if strings.HasSuffix(path, ".partial") && rep.Verdict.Acceptable(false) {
		// A part the recorder has not closed: its last Cluster may be the
		// last one written before a crash, whatever the bytes say.
		rep.add(Incomplete, -1, "unfinished part (.partial): the recorder did not close it; reckit repair completes it")
	}
	return rep, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// readerOnly feeds the rest of a stream to the hash after the walk stopped
// early (on a format error).
type readerOnly struct {
	r io.Reader
	h hash.Hash
	c *countingWriter
}

func (x readerOnly) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	x.h.Write(p[:n])
	x.c.n += int64(n)
	return n, err
}

func isFormat(err error) bool {
	var fe *mux.FormatError
	return errors.As(err, &fe)
}

type trackState struct {
	rep       *TrackReport
	lastW     int
	lastH     int
	minTS     int64
	maxTS     int64
	lastTS    int64
	lastDelta int64
	defDur    int64 // ticks
	seen      bool
}

func walk(ctx context.Context, rd *mux.Reader, rep *Report, opts ScanOptions) error {
	hdr, err := rd.ReadHeader()
	if err != nil {
		var fe *mux.FormatError
		if errors.As(err, &fe) {
			if errors.Is(err, mux.ErrNotWebM) {
				rep.add(NotWebM, fe.Offset, "not a WebM file: "+fe.Reason)
			} else {
				addFormat(rep, fe)
			}
			return nil
		}
		return err
	}
	tracks := map[uint64]*trackState{}
	scale := int64(hdr.Info.TimestampScale)
	for _, t := range hdr.Tracks {
		rep.Tracks = append(rep.Tracks, TrackReport{Number: t.Number, Kind: kindOf(t.Type), Codec: codecName(t.CodecID),
			Width: t.Width, Height: t.Height, SampleRate: t.SamplingFreq, Channels: t.Channels})
	}
	for i := range rep.Tracks {
		t := hdr.Tracks[i]
		ts := &trackState{rep: &rep.Tracks[i]}
		if t.DefaultDuration > 0 && scale > 0 {
			ts.defDur = (int64(t.DefaultDuration) + scale/2) / scale
		}
		tracks[t.Number] = ts
	}
	var pending *mux.Block
	var pend mux.Block
	commit := func() {
		if pending == nil {
			return
		}
		b := pending
		pending = nil
		st := tracks[b.Track]
		if st == nil {
			rep.add(Corrupt, b.Offset, fmt.Sprintf("block for undeclared track %d", b.Track))
			return
		}
		rep.Frames++
		st.rep.Frames++
		if b.Keyframe {
			rep.Keyframes++
			st.rep.Keyframes++
		}
		if !st.seen || b.Timecode < st.minTS {
			st.minTS = b.Timecode
		}
		if !st.seen || b.Timecode > st.maxTS {
			st.maxTS = b.Timecode
		}
		if opts.Deep && st.seen {
			deepCheck(rep, st, b, scale, opts.MaxGap)
		}
		if opts.Deep && b.HasVP8 && b.VP8.Key && st.rep.Keyframes == 1 && st.rep.Width > 0 &&
			(b.VP8.Width != st.rep.Width || b.VP8.Height != st.rep.Height) {
			rep.Findings = append(rep.Findings, Finding{Verdict: OK, Offset: ptr(b.DataOffset),
				Message: fmt.Sprintf("track %d: first key frame is %dx%d, the track header says %dx%d", b.Track, b.VP8.Width, b.VP8.Height, st.rep.Width, st.rep.Height)})
		}
		if st.seen && b.Timecode > st.lastTS {
			st.lastDelta = b.Timecode - st.lastTS
		}
		st.lastTS = b.Timecode
		st.seen = true
		if b.HasVP8 && b.VP8.Key && (b.VP8.Width != st.lastW || b.VP8.Height != st.lastH) {
			st.lastW, st.lastH = b.VP8.Width, b.VP8.Height
			st.rep.Resolutions = append(st.rep.Resolutions, Resolution{TimestampMS: ticksMS(b.Timecode, scale), Width: b.VP8.Width, Height: b.VP8.Height})
		}
		if end := b.DataOffset + b.DataSize; end > rep.CompleteBytes {
			rep.CompleteBytes = end
		}
	}
	lastCluster := -1
	for {
		b, err := rd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				commit()
				break
			}
			var fe *mux.FormatError
			if errors.As(err, &fe) {
				if pending != nil && fe.Offset >= pending.DataOffset+pending.DataSize {
					commit()
				}
				pending = nil
				addFormat(rep, fe)
				break
			}
			return err
		}
		commit()
		if b.VP8Err != nil {
			rep.add(Corrupt, b.DataOffset, b.VP8Err.Error())
			continue
		}
		pend = *b
		pending = &pend
		if c := rd.Clusters(); c != lastCluster {
			lastCluster = c
			if opts.Progress != nil {
				opts.Progress(rd.Scanner().Offset())
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	hdr = rd.Header()
	if off := rd.SecondSegmentOffset(); off >= 0 {
		rep.add(Corrupt, off, fmt.Sprintf("a second EBML stream starts at byte %d (concatenated files)", off))
	}
	// Durations and timestamps over the video track (else all tracks).
	first, last, frameDur, any := int64(0), int64(0), int64(0), false
	for _, t := range hdr.Tracks {
		st := tracks[t.Number]
		if st == nil || !st.seen {
			continue
		}
		if any && t.Type != 1 {
			continue
		}
		d := st.defDur
		if d == 0 {
			d = st.lastDelta
		}
		if !any || t.Type == 1 {
			first, last, frameDur, any = st.minTS, st.maxTS, d, true
			if t.Type == 1 {
				break
			}
		}
	}
	if any {
		rep.FirstTimestampMS = ticksMS(first, scale)
		rep.LastTimestampMS = ticksMS(last, scale)
		rep.DurationMS = ticksMS(last-first+frameDur, scale)
	}
	return nil
}

func ticksMS(t, scale int64) int64 {
	return time.Duration(t * scale).Milliseconds()
}

func addFormat(rep *Report, fe *mux.FormatError) {
	switch {
	case errors.Is(fe, mux.ErrTruncated):
		rep.add(Incomplete, fe.Offset, "truncated: "+fe.Reason)
	case errors.Is(fe, mux.ErrNotWebM):
		rep.add(NotWebM, fe.Offset, "not a WebM file: "+fe.Reason)
	default:
		rep.add(Corrupt, fe.Offset, fe.Reason)
	}
}

// finish fills the header facts and the unseekable findings.
func finish(rep *Report, rd *mux.Reader) {
	hdr := rd.Header()
	rep.DocType, rep.DocTypeVersion = hdr.DocType, hdr.DocTypeVersion
	if hdr.DocType == "" {
		return
	}
	rep.MuxingApp, rep.WritingApp, rep.Title = hdr.Info.MuxingApp, hdr.Info.WritingApp, hdr.Info.Title
	if !hdr.Info.DateUTC.IsZero() {
		d := hdr.Info.DateUTC
		rep.DateUTC = &d
	}
	rep.SegmentUID = hdr.SegmentUIDHex()
	rep.SegmentSizeKnown = hdr.SegmentSize != mux.UnknownSize && hdr.SegmentOffset > 0
	if rep.SegmentSizeKnown {
		s := hdr.SegmentSize
		rep.SegmentBytes = &s
	}
	rep.SeekHead, rep.Cues, rep.CuePoints = hdr.HasSeekHead, hdr.HasCues, hdr.CuePoints
	if hdr.Info.HasDuration {
		d := ticksMS(int64(hdr.Info.Duration+0.5), int64(hdr.Info.TimestampScale))
		rep.HeaderDurationMS = &d
	}
	rep.Clusters = rd.Clusters()
	for _, t := range hdr.Tags {
		if len(t.TrackUIDs) == 0 {
			rep.Tags = append(rep.Tags, t.Simple...)
		}
	}
	for i := range rep.Tracks {
		t := &rep.Tracks[i]
		if t.Kind == "video" && rep.DurationMS > 0 {
			rep.FPS = float64(t.Frames) * 1000 / float64(rep.DurationMS)
			break
		}
	}
	if rep.DurationMS > 0 && rep.Bytes > 0 {
		rep.BitrateBPS = rep.Bytes * 8 * 1000 / rep.DurationMS
	}
	if rep.Verdict != OK {
		return
	}
	var missing []string
	if !rep.SegmentSizeKnown {
		missing = append(missing, "Segment size")
	}
	if !rep.Cues {
		missing = append(missing, "Cues")
	}
	if !hdr.Info.HasDuration {
		missing = append(missing, "Duration")
	}
	if len(missing) > 0 {
		msg := "no " + joinAnd(missing) + " (live-written): playable, not seekable; reckit repair adds them"
		rep.add(Unseekable, -1, msg)
	}
	if rep.HeaderDurationMS != nil && rep.DurationMS > 0 {
		diff := *rep.HeaderDurationMS - rep.DurationMS
		if diff < 0 {
			diff = -diff
		}
		if diff > 1000 && diff*100 > rep.DurationMS {
			rep.Findings = append(rep.Findings, Finding{Verdict: OK,
				Message: fmt.Sprintf("header Duration %d ms differs from the measured %d ms", *rep.HeaderDurationMS, rep.DurationMS)})
		}
	}
}

func joinAnd(s []string) string {
	switch len(s) {
	case 1:
		return s[0]
	case 2:
		return s[0] + " or " + s[1]
	}
	out := ""
	for i, x := range s {
		if i == len(s)-1 {
			out += "or " + x
		} else {
			out += x + ", "
		}
	}
	return out
}

func kindOf(t uint64) string {
	switch t {
	case 1:
		return "video"
	case 2:
		return "audio"
	}
	return "other"
}

func codecName(id string) string {
	switch id {
	case "V_VP8":
		return "VP8"
	case "V_VP9":
		return "VP9"
	case "V_AV1":
		return "AV1"
	case "A_OPUS":
		return "Opus"
	case "A_VORBIS":
		return "Vorbis"
	}
	return id
}

func ptr(v int64) *int64 { return &v }

// deepCheck is verify --deep's per-frame timestamp check: timestamps never
// go back within a track (a laced frame shares its block's timestamp), and
// a gap longer than maxGap is reported without changing the verdict.
func deepCheck(rep *Report, st *trackState, b *mux.Block, scale int64, maxGap time.Duration) {
	switch {
	case b.Timecode < st.lastTS:
		rep.add(Corrupt, b.Offset, fmt.Sprintf("track %d: timestamp goes back from %d ms to %d ms", b.Track, ticksMS(st.lastTS, scale), ticksMS(b.Timecode, scale)))
	case maxGap > 0 && time.Duration((b.Timecode-st.lastTS)*scale) > maxGap:
		rep.Findings = append(rep.Findings, Finding{Verdict: OK, Offset: ptr(b.Offset),
			Message: fmt.Sprintf("track %d: gap of %d ms before the frame at %d ms (longer than %s)", b.Track,
				ticksMS(b.Timecode-st.lastTS, scale), ticksMS(b.Timecode, scale), maxGap)})
	}
}

// deepDuration makes a header Duration that disagrees with the measured
// duration by more than one second and 1 % a corrupt finding.
func deepDuration(rep *Report) {
	if rep.HeaderDurationMS == nil || rep.DurationMS <= 0 || !rep.Verdict.Acceptable(true) {
		return
	}
	diff := *rep.HeaderDurationMS - rep.DurationMS
	if diff < 0 {
		diff = -diff
	}
	if diff > 1000 && diff*100 > rep.DurationMS {
		rep.add(Corrupt, -1, fmt.Sprintf("header Duration %d ms, measured %d ms", *rep.HeaderDurationMS, rep.DurationMS))
	}
}
