package inspect

import (
	"errors"
	"fmt"
	"io"

	"github.com/reckit/reckit/mux"
)

// Probe reads a file's headers only: the EBML header and the Segment's
// header elements up to the first Cluster (Matroska section 5.1: SeekHead,
// Info, Tracks, Tags), and, when the SeekHead points at the Cues, that one
// element header. It never reads a Cluster, so it costs a few kilobytes
// whatever the file's size. r and size describe the whole file; the caller
// closes r.
//
// Its verdict is what headers can tell: not-webm, corrupt or incomplete when
// the headers themselves are broken or the file is shorter than its Segment
// says, unseekable when the Segment size, Cues or Duration are missing, else
// ok. A damaged Cluster goes unnoticed: that is Scan's job. DurationMS is the
// header's Duration (0 when absent) and FirstTimestampMS is 0; the counts of
// frames and Clusters stay 0.
func Probe(path string, r io.ReaderAt, size int64) (*Report, error) {
	rep := &Report{Type: "file", Path: path, Bytes: size, Verdict: OK, Tracks: []TrackReport{}, Tags: []mux.SimpleTag{}, Findings: []Finding{}}
	rd := mux.NewReader(io.NewSectionReader(r, 0, size), mux.ReaderOptions{})
	hdr, err := rd.ReadHeader()
	if err != nil {
		var fe *mux.FormatError
		if !errors.As(err, &fe) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		addFormat(rep, fe)
		if hdr = rd.Header(); hdr == nil || hdr.DocType == "" {
			return rep, nil
		}
	}
	for _, t := range hdr.Tracks {
		rep.Tracks = append(rep.Tracks, TrackReport{Number: t.Number, Kind: kindOf(t.Type), Codec: codecName(t.CodecID),
			Width: t.Width, Height: t.Height, SampleRate: t.SamplingFreq, Channels: t.Channels})
	}
	scale := int64(hdr.Info.TimestampScale)
	if hdr.Info.HasDuration && scale > 0 {
		rep.DurationMS = ticksMS(int64(hdr.Info.Duration+0.5), scale)
	}
	if rep.Verdict == OK {
		probeSegment(rep, r, size, hdr)
	}
	finish(rep, rd)
	return rep, nil
}

// probeSegment checks what the headers promise against the file's size: the
// Segment's end and the Cues the SeekHead points at.
func probeSegment(rep *Report, r io.ReaderAt, size int64, hdr *mux.Header) {
	var b [12]byte
	n, _ := r.ReadAt(b[:], hdr.SegmentOffset)
	segSize, hlen, ok := elementHeader(b[:n], mux.IDSegment)
	if !ok {
		return // ReadHeader found it; nothing more to learn here
	}
	dataOff := hdr.SegmentOffset + int64(hlen)
	if segSize >= 0 && dataOff+segSize > size {
		rep.add(Incomplete, size, fmt.Sprintf("truncated: the Segment ends at byte %d, the file at byte %d", dataOff+segSize, size))
		return
	}
	for _, e := range hdr.SeekHead {
		if e.ID != mux.IDCues {
			continue
		}
		pos := dataOff + int64(e.Position)
		if e.Position > uint64(size) || pos >= size {
			rep.add(Incomplete, size, fmt.Sprintf("truncated: the SeekHead places the Cues at byte %d, past the end of the file (%d bytes)", pos, size))
			return
		}
		n, _ := r.ReadAt(b[:], pos)
		cuesSize, hlen, ok := elementHeader(b[:n], mux.IDCues)
		if !ok {
			rep.add(Corrupt, pos, fmt.Sprintf("the SeekHead places the Cues at byte %d, but no Cues element starts there", pos))
			return
		}
		if cuesSize >= 0 && pos+int64(hlen)+cuesSize > size {
			rep.add(Incomplete, size, fmt.Sprintf("truncated: the Cues at byte %d end past the end of the file", pos))
			return
		}
		hdr.HasCues = true
		return
	}
}

// elementHeader decodes the header of a top-level element with the 4-byte
// ID id (EBML RFC 8794 section 4: the ID, then a variable-size integer):
// the data size (-1 when unknown) and the header length.
func elementHeader(b []byte, id uint32) (size int64, hlen int, ok bool) {
	if len(b) < 5 || uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]) != id || b[4] == 0 {
		return 0, 0, false
	}
	l := 1
	for mask := byte(0x80); b[4]&mask == 0; mask >>= 1 {
		l++
	}
	if len(b) < 4+l {
		return 0, 0, false
	}
	v := int64(b[4] & (0xFF >> l))
	allOnes := v == int64(0xFF>>l)
	for _, c := range b[5 : 4+l] {
		v = v<<8 | int64(c)
		allOnes = allOnes && c == 0xFF
	}
	if allOnes {
		v = -1
	}
	return v, 4 + l, true
}
