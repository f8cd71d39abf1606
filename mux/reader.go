package mux

import (
	"errors"
	"fmt"
	"io"
)

// Block is one frame found in a Cluster. A laced SimpleBlock or Block yields
// one Block per frame, with the same Offset and increasing LaceIndex.
type Block struct {
	Track       uint64
	Timecode    int64 // absolute, in TimestampScale ticks (Cluster Timestamp + relative)
	Keyframe    bool  // SimpleBlock key flag, a BlockGroup without ReferenceBlock, or the VP8 frame tag
	Invisible   bool
	Discardable bool
	Simple      bool  // SimpleBlock (else Block inside a BlockGroup)
	Offset      int64 // of the SimpleBlock or BlockGroup element
	ElementEnd  int64 // offset just past that element
	DataOffset  int64 // of this frame's payload
	DataSize    int64 // of this frame's payload
	LaceIndex   int
	LaceCount   int
	Cluster     int64 // offset of the enclosing Cluster
	Duration    int64 // BlockDuration in ticks, -1 when absent

	// VP8 frame header, when the track's codec is V_VP8 and it parsed.
	HasVP8 bool
	VP8    VP8Header
	VP8Err error // non-nil when the track is VP8 but the frame header is invalid

	// head holds the block's header bytes as they are in the file (element
	// ID and size, track, relative timestamp, flags) for an unlaced
	// SimpleBlock, else nil; rel is the relative timestamp. Remuxers use
	// them to copy unchanged blocks as byte ranges.
	head []byte
	rel  int16
	// A laced block (lacing: its 2 lacing bits, else 0) read as one unit:
	// bodyOff is where its body (lace header and frames) starts, lhead
	// the header before it as in the file (an unlaced SimpleBlock: nil).
	lacing  byte
	bodyOff int64
	lhead   []byte
}

// Reader is a streaming WebM demuxer: header elements decoded with ebml-go
// on bounded slices, blocks iterated with their offsets, payloads read on
// demand into a caller buffer. Memory is constant in the file size.
type Reader struct {
	sc  *Scanner
	hdr Header

	headerDone   bool
	inSegment    bool
	clusterOff   int64
	clusterTS    int64
	haveTS       bool
	inGroup      bool
	additions    int64 // BlockAdditions elements met
	groupOff     int64
	groupEnd     int64
	groupDur     int64
	blockEnd     int64 // end of the current Block or SimpleBlock element
	clusters     int
	secondSeg    int64
	vp8Track     map[uint64]bool
	lace         [256]int64
	laceN, laceI int
	blk          Block
	frameLeft    int64 // bytes of the current frame not yet consumed
	scratch      []byte
	lastEnd      int64 // end of the last frame whose payload was read
	hbuf         [32]byte
	headBuf      [32]byte
	laceHdr      []byte // the current block's lace header as read
	laceHdrOK    bool   // laceHdr holds all of it (at most maxLaceHdr bytes)
}

// maxLaceHdr bounds the lace header kept for copying a laced block.
const maxLaceHdr = 4096

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	Tee io.Writer // passed to the Scanner (see ScanOptions)
}

// NewReader returns a demuxer over r. If r is an io.Seeker, payloads that
// are not read are skipped by seeking. The caller closes r.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	return &Reader{sc: NewScanner(r, ScanOptions{Tee: opts.Tee}), secondSeg: -1}
}

// LastFrameEnd returns the offset just past the last payload read with
// Payload: everything before it is complete.
func (r *Reader) LastFrameEnd() int64 { return r.lastEnd }

// Scanner exposes the underlying element scanner (offsets, size).
func (r *Reader) Scanner() *Scanner { return r.sc }

// Header returns the header decoded so far (see ReadHeader).
func (r *Reader) Header() *Header { return &r.hdr }

// Clusters returns how many Clusters the walk has entered.
func (r *Reader) Clusters() int { return r.clusters }

// SecondSegmentOffset returns the offset of a second EBML stream found after
// the first Segment (concatenated files), or -1.
func (r *Reader) SecondSegmentOffset() int64 { return r.secondSeg }

// ReadHeader reads the EBML header and the Segment's header elements, up to
// the first Cluster. A file that does not start with an EBML header of doctype
// webm or matroska fails with ErrNotWebM.
func (r *Reader) ReadHeader() (*Header, error) {
	if r.headerDone {
		return &r.hdr, nil
	}
	el, err := r.sc.Next()
	if err != nil || el.ID != IDEBML {
		if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, formatErr(ErrNotWebM, 0, "no EBML header")
	}
	b, err := r.sc.ReadData(r.scratch, maxEBMLHeader)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, formatErr(ErrNotWebM, 0, "EBML header of %d bytes is implausible", el.Size)
		}
		return nil, err
	}
	if err := decodeEBMLHeader(r.whole(el, b), el.Offset, &r.hdr); err != nil {
		return nil, formatErr(ErrNotWebM, el.Offset, "EBML header cannot be decoded")
	}
	if r.hdr.DocType != "webm" && r.hdr.DocType != "matroska" {
		return nil, formatErr(ErrNotWebM, el.Offset, "doctype %q", r.hdr.DocType)
	}
	for {
		el, err := r.sc.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if !r.inSegment {
					return nil, formatErr(ErrTruncated, r.sc.Offset(), "no Segment after the EBML header")
				}
				r.headerDone = true
				return &r.hdr, nil
			}
			return nil, err
		}
		switch {
		case el.ID == IDSegment && !r.inSegment:
			r.hdr.SegmentOffset = el.Offset
			r.hdr.SegmentSize = el.Size
			r.inSegment = true
			if err := r.sc.Enter(); err != nil {
				return nil, err
			}
		case el.Depth == 1 && el.ID == IDCluster:
			if err := r.enterCluster(el); err != nil {
				return nil, err
			}
			r.headerDone = true
			return &r.hdr, nil
		case el.Depth == 1:
			if err := r.segmentChild(el); err != nil {
				return nil, err
			}
		case el.Depth == 2 && el.ID == idCuePoint:
			r.countCuePoint(el)
		case el.Depth == 0 && el.ID == IDVoid:
		default:
			if el.Depth == 0 && el.ID == IDEBML && r.inSegment {
				r.secondSeg = el.Offset
				r.headerDone = true
				return &r.hdr, nil
			}
		}
	}
}

// whole rebuilds header+data for ebml-go from the element and its data.
func (r *Reader) whole(el Element, data []byte) []byte {
	h := appendID(r.hbuf[:0], el.ID)
	h = appendSize(h, uint64(el.Size), sizeLen(uint64(el.Size)))
	out := make([]byte, 0, len(h)+len(data))
	return append(append(out, h...), data...)
}

// segmentChild handles a top-level child of the Segment other than a Cluster.
func (r *Reader) segmentChild(el Element) error {
	var dec func([]byte, int64, *Header) error
	switch el.ID {
	case IDSeekHead:
		if r.hdr.HasSeekHead {
			return nil // a second SeekHead (pointed to by the first): skip
		}
		dec = decodeSeekHead
	case IDInfo:
		dec = decodeInfo
	case IDTracks:
		dec = decodeTracks
	case IDTags:
		r.hdr.TagsOffsets = append(r.hdr.TagsOffsets, el.Offset)
		dec = decodeTags
	case IDCues:
		return r.enterCues(el)
	default:
		return nil
	}
	b, err := r.sc.ReadData(r.scratch[:0], maxHeaderElem)
	if err != nil {
		return err
	}
	if cap(b) <= 64<<10 {
		r.scratch = b[:0]
	}
	if err := dec(r.whole(el, b), el.Offset, &r.hdr); err != nil {
		return err
	}
	if el.ID == IDTracks {
		r.vp8Track = map[uint64]bool{}
		for _, t := range r.hdr.Tracks {
			if t.CodecID == "V_VP8" {
				r.vp8Track[t.Number] = true
			}
		}
	}
	return nil
}

// enterCues marks the Cues element and descends into it; its CuePoints are
// counted as the walk meets them, never kept.
func (r *Reader) enterCues(el Element) error {
	r.hdr.HasCues = true
	r.hdr.CuesOffset = el.Offset
	if el.Size == UnknownSize {
		return formatErr(ErrCorrupt, el.Offset, "Cues has an unknown size")
	}
	return r.sc.Enter()
}

// idCuePoint is a CuePoint inside Cues.
const idCuePoint = 0xBB

func (r *Reader) countCuePoint(el Element) {
	if p, ok := r.sc.Parent(); ok && p.ID == IDCues && el.ID == idCuePoint {
		r.hdr.CuePoints++
	}
}

func (r *Reader) enterCluster(el Element) error {
	r.clusterOff = el.Offset
	r.clusterTS, r.haveTS = 0, false
	r.clusters++
	r.inGroup = false
	return r.sc.Enter()
}

// Next returns the next frame. It returns io.EOF at a clean end, or the
// scanner's *FormatError (truncated or corrupt, with the offset). The
// returned Block is valid until the next call.
func (r *Reader) Next() (*Block, error) {
	if !r.headerDone {
		if _, err := r.ReadHeader(); err != nil {
			return nil, err
		}
	}
	if r.secondSeg >= 0 {
		return nil, io.EOF
	}
	// Finish the current frame, then further frames of a laced block.
	if r.frameLeft > 0 && r.laceI+1 < r.laceN {
		// Another frame of this laced block follows: read past this one.
		if _, err := io.CopyN(io.Discard, r.sc, r.frameLeft); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, formatErr(ErrCorrupt, r.blk.DataOffset, "lace sizes overrun the block")
			}
			return nil, err
		}
	}
	// The rest of the last frame is skipped by the scanner (by seeking
	// when it can).
	r.frameLeft = 0
	if r.laceI+1 < r.laceN {
		r.laceI++
		return r.emitFrame()
	}
	for {
		el, err := r.sc.Next()
		if err != nil {
			return nil, err
		}
		if r.inGroup && el.Offset >= r.groupEnd && r.groupEnd >= 0 {
			r.inGroup = false
		}
		switch {
		case el.ID == IDCluster && el.Depth == 1:
			if err := r.enterCluster(el); err != nil {
				return nil, err
			}
		case el.ID == IDTimestamp && el.Depth == 2:
			v, err := r.readUint(el)
			if err != nil {
				return nil, err
			}
			r.clusterTS, r.haveTS = int64(v), true
		case el.ID == IDSimpleBlock && el.Depth == 2:
			r.inGroup = false
			return r.startBlock(el, true, el.Offset, el.End(), -1)
		case el.ID == IDBlockGroup && el.Depth == 2:
			if el.Size == UnknownSize {
				return nil, formatErr(ErrCorrupt, el.Offset, "BlockGroup has an unknown size")
			}
			r.inGroup, r.groupOff, r.groupEnd, r.groupDur = true, el.Offset, el.End(), -1
			if err := r.sc.Enter(); err != nil {
				return nil, err
			}
			// BlockDuration may precede the Block; peek the children.
		case el.ID == IDBlockDuration && el.Depth == 3 && r.inGroup:
			v, err := r.readUint(el)
			if err != nil {
				return nil, err
			}
			r.groupDur = int64(v)
		case el.ID == IDBlock && el.Depth == 3 && r.inGroup:
			return r.startBlock(el, false, r.groupOff, r.groupEnd, r.groupDur)
		case el.ID == IDBlockAdditions && el.Depth == 3 && r.inGroup:
			r.additions++
		case el.Depth == 1 && el.ID != IDCluster:
			if err := r.segmentChild(el); err != nil {
				return nil, err
			}
		case el.Depth == 2 && el.ID == idCuePoint:
			r.countCuePoint(el)
		case el.Depth == 0 && el.ID == IDEBML:
			r.secondSeg = el.Offset
			return nil, io.EOF
		}
	}
}

func (r *Reader) readUint(el Element) (uint64, error) {
	if el.Size > 8 {
		return 0, formatErr(ErrCorrupt, el.Offset, "%s of %d bytes is not an unsigned integer", IDName(el.ID), el.Size)
	}
	b, err := r.sc.ReadData(r.hbuf[:0], 8)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// startBlock parses a SimpleBlock or Block header and its lacing.
func (r *Reader) startBlock(el Element, simple bool, off, end, dur int64) (*Block, error) {
	if el.Size == UnknownSize || el.Size < 4 {
		return nil, formatErr(ErrCorrupt, el.Offset, "%s of %d bytes is too short", IDName(el.ID), el.Size)
	}
	p := r.sc.Peek(12)
	if len(p) < 4 {
		return nil, formatErr(ErrTruncated, el.DataOffset(), "input ends inside the header of %s", IDName(el.ID))
	}
	tl := vintLen(p[0])
	if tl == 0 || len(p) < tl+3 {
		return nil, formatErr(ErrCorrupt, el.DataOffset(), "invalid track number in %s", IDName(el.ID))
	}
	var track uint64 = uint64(p[0]) & (0xff >> tl)
	for i := 1; i < tl; i++ {
		track = track<<8 | uint64(p[i])
	}
	rel := int16(uint16(p[tl])<<8 | uint16(p[tl+1]))
	flags := p[tl+2]
	hl := tl + 3
	if _, err := io.ReadFull(r.sc, r.hbuf[:hl]); err != nil {
		return nil, err
	}
	r.blockEnd = el.End()
	b := &r.blk
	*b = Block{Track: track, Timecode: r.clusterTS + int64(rel), Simple: simple, Offset: off, ElementEnd: end,
		Cluster: r.clusterOff, Duration: dur, Invisible: flags&0x08 != 0, rel: rel,
		lacing: (flags >> 1) & 3, bodyOff: r.sc.Offset()}
	if simple && el.HeaderLen > 1 && el.HeaderLen <= 9 {
		// The header as it is in the file: the vint of a given length
		// that holds a given value is unique, so re-encoding it is exact.
		h := appendID(r.headBuf[:0], el.ID)
		h = appendSize(h, uint64(el.Size), el.HeaderLen-len(h))
		h = append(h, r.hbuf[:hl]...)
		if b.lacing == 0 {
			b.head = h
		} else {
			b.lhead = h
		}
	}
	r.laceHdr, r.laceHdrOK = r.laceHdr[:0], true
	if simple {
		b.Keyframe = flags&0x80 != 0
		b.Discardable = flags&0x01 != 0
	} else {
		b.Keyframe = true // refined by the VP8 tag; ReferenceBlock follows the Block
	}
	payload := el.Size - int64(hl)
	r.laceI = 0
	switch (flags >> 1) & 3 {
	case 0:
		r.laceN = 1
		r.lace[0] = payload
	default:
		if err := r.readLacing(el, (flags>>1)&3, payload-0); err != nil {
			return nil, err
		}
	}
	return r.emitFrame()
}

func (r *Reader) readByte(el Element) (byte, error) {
	if _, err := io.ReadFull(r.sc, r.hbuf[:1]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, formatErr(ErrCorrupt, el.Offset, "lacing header overruns %s", IDName(el.ID))
		}
		return 0, err
	}
	if len(r.laceHdr) < maxLaceHdr {
		r.laceHdr = append(r.laceHdr, r.hbuf[0])
	} else {
		r.laceHdrOK = false
	}
	return r.hbuf[0], nil
}

// readLacing reads a lace header (Matroska section 10.4: Xiph, EBML and
// fixed-size lacing) and fills r.lace with the frame sizes.
func (r *Reader) readLacing(el Element, kind byte, payload int64) error {
	c, err := r.readByte(el)
	if err != nil {
		return err
	}
	n := int(c) + 1
	used := int64(1)
	var sum int64
	switch kind {
	case 1: // Xiph
		for i := 0; i < n-1; i++ {
			var sz int64
			for {
				v, err := r.readByte(el)
				if err != nil {
					return err
				}
				used++
				sz += int64(v)
				if v != 255 {
					break
				}
			}
			if sz > payload-used-sum {
				return formatErr(ErrCorrupt, el.Offset, "Xiph lace sizes overrun %s", IDName(el.ID))
			}
			r.lace[i] = sz
			sum += sz
		}
	case 3: // EBML
		var prev int64
		for i := 0; i < n-1; i++ {
			first, err := r.readByte(el)
			if err != nil {
				return err
			}
			l := vintLen(first)
			if l == 0 {
				return formatErr(ErrCorrupt, el.Offset, "invalid EBML lace size in %s", IDName(el.ID))
			}
			v := uint64(first) & (0xff >> l)
			for k := 1; k < l; k++ {
				c, err := r.readByte(el)
				if err != nil {
					return err
				}
				v = v<<8 | uint64(c)
			}
			used += int64(l)
			var sz int64
			if i == 0 {
				sz = int64(v)
			} else {
				sz = prev + (int64(v) - (int64(1)<<(7*l-1) - 1)) // signed difference
			}
			if sz < 0 || sz > payload-used-sum {
				return formatErr(ErrCorrupt, el.Offset, "EBML lace size %d does not fit %s", sz, IDName(el.ID))
			}
			r.lace[i], prev = sz, sz
			sum += sz
		}
	case 2: // fixed
		rest := payload - used
		if rest < 0 || rest%int64(n) != 0 {
			return formatErr(ErrCorrupt, el.Offset, "fixed lacing of %d frames does not divide %d bytes", n, rest)
		}
		for i := 0; i < n; i++ {
			r.lace[i] = rest / int64(n)
		}
		r.laceN = n
		return nil
	}
	last := payload - used - sum
	if last < 0 {
		return formatErr(ErrCorrupt, el.Offset, "lace sizes (%d bytes) overrun %s", sum, IDName(el.ID))
	}
	r.lace[n-1] = last
	r.laceN = n
	return nil
}

// emitFrame fills the current Block for lace r.laceI at the scanner position.
func (r *Reader) emitFrame() (*Block, error) {
	b := &r.blk
	b.LaceIndex, b.LaceCount = r.laceI, r.laceN
	b.DataOffset = r.sc.Offset()
	b.DataSize = r.lace[r.laceI]
	r.frameLeft = b.DataSize
	b.HasVP8, b.VP8Err = false, nil
	if r.vp8Track[b.Track] {
		p := r.sc.Peek(int(min(b.DataSize, VP8HeaderLen)))
		h, err := ParseVP8Header(p, b.DataSize)
		if err != nil {
			if int64(len(p)) < min(b.DataSize, VP8HeaderLen) {
				return nil, formatErr(ErrTruncated, b.DataOffset, "input ends inside a frame")
			}
			b.VP8Err = fmt.Errorf("frame at byte %d: %w", b.DataOffset, err)
		} else {
			b.HasVP8, b.VP8 = true, h
			b.Keyframe = h.Key
		}
	}
	return b, nil
}

// Payload reads the current frame's payload into buf (grown as needed) and
// returns it. It must be called before the next call to Next.
func (r *Reader) Payload(buf []byte) ([]byte, error) {
	b := &r.blk
	if r.frameLeft != b.DataSize {
		return nil, errors.New("mux: Payload called twice or after Next")
	}
	if b.DataSize > maxFrame {
		return nil, formatErr(ErrTooLarge, b.DataOffset, "frame of %d bytes exceeds the %d-byte cap", b.DataSize, int64(maxFrame))
	}
	n := int(b.DataSize)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r.sc, buf); err != nil {
		return nil, err
	}
	r.frameLeft = 0
	r.lastEnd = b.DataOffset + b.DataSize
	return buf, nil
}

// skipPayload accepts the current frame's payload without reading it, for
// a caller that copies it later by offset: it checks that the input (of
// known size) holds all of it. The scanner skips it on the next call to
// Next (by seeking).
func (r *Reader) skipPayload() error {
	b := &r.blk
	if r.frameLeft != b.DataSize {
		return errors.New("mux: payload skipped twice or after Next")
	}
	if b.DataSize > maxFrame {
		return formatErr(ErrTooLarge, b.DataOffset, "frame of %d bytes exceeds the %d-byte cap", b.DataSize, int64(maxFrame))
	}
	size := r.sc.Size()
	if size < 0 {
		return errors.New("mux: payload skipped on an input of unknown size")
	}
	if end := b.DataOffset + b.DataSize; end > size {
		id := "SimpleBlock"
		if !b.Simple {
			id = "Block"
		}
		return r.sc.fail(formatErr(ErrTruncated, size, "input ends inside %s at byte %d", id, b.Offset))
	}
	r.lastEnd = b.DataOffset + b.DataSize
	return nil
}

// BlockAdditions returns how many BlockAdditions elements (Matroska
// section 5.1.3.5.2: side data such as a VP8 alpha plane) the walk has met
// so far, in BlockGroups of any track. Those of the last block are met by
// the Next call after it.
func (r *Reader) BlockAdditions() int64 { return r.additions }

// groupTail reads the rest of the current frame's BlockGroup, after its
// Block, once the payload was read or skipped, and returns the group's
// DiscardPadding (ns; 0 when absent). It does nothing for a SimpleBlock or
// a laced Block. On a problem it returns the error and the frame does not
// count as complete.
func (r *Reader) groupTail() (int64, error) {
	b := &r.blk
	if b.Simple || !r.inGroup || r.laceI+1 < r.laceN || r.groupEnd < 0 {
		return 0, nil
	}
	r.frameLeft = 0
	var pad int64
	for pos := r.blockEnd; pos < r.groupEnd; {
		el, err := r.sc.Next()
		if err != nil {
			r.lastEnd = b.Offset
			return 0, err
		}
		if el.Size == UnknownSize || el.Depth != 3 {
			r.lastEnd = b.Offset
			return 0, formatErr(ErrCorrupt, el.Offset, "%s inside a BlockGroup", IDName(el.ID))
		}
		if el.ID == IDBlockAdditions {
			r.additions++
		}
		if el.ID == IDDiscardPadding {
			if el.Size > 8 {
				r.lastEnd = b.Offset
				return 0, formatErr(ErrCorrupt, el.Offset, "DiscardPadding of %d bytes", el.Size)
			}
			v, err := r.sc.ReadData(r.hbuf[:0], 8)
			if err != nil {
				r.lastEnd = b.Offset
				return 0, err
			}
			pad = 0
			if len(v) > 0 && v[0]&0x80 != 0 {
				pad = -1
			}
			for _, c := range v {
				pad = pad<<8 | int64(c)
			}
		}
		pos = el.End()
	}
	return pad, nil
}

// maxFrame caps a frame read into memory: a 4096x2304 key frame at the
// worst quality stays far below it.
const maxFrame = 64 << 20
