package mux

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/at-wat/ebml-go"
)

// Caps on header elements read into memory (bytes).
const (
	maxEBMLHeader = 4 << 10
	maxHeaderElem = 8 << 20 // SeekHead, Info, Tracks, Tags
)

// Header is what a file's header elements say. Cues and Tags written after
// the Clusters are added when a Reader's walk reaches them.
type Header struct {
	DocType            string `json:"doctype"`
	DocTypeVersion     uint64 `json:"doctype_version"`
	DocTypeReadVersion uint64 `json:"-"`

	SegmentOffset int64 `json:"segment_offset"`
	// SegmentSize is the Segment's data size, or UnknownSize (live layout).
	SegmentSize int64 `json:"-"`

	HasSeekHead bool        `json:"seekhead"`
	SeekHead    []SeekEntry `json:"-"`
	HasInfo     bool        `json:"-"`
	Info        Info        `json:"-"`
	Tracks      []Track     `json:"-"`
	Tags        []Tag       `json:"-"`

	HasCues     bool    `json:"cues"`
	CuesOffset  int64   `json:"-"`
	CuePoints   int     `json:"-"`
	TagsOffsets []int64 `json:"-"`
}

// SeekEntry is one SeekHead entry: an element ID and its position relative
// to the Segment's data.
type SeekEntry struct {
	ID       uint32
	Position uint64
}

// Info is the Segment Info element (Matroska section 5.1.2).
type Info struct {
	TimestampScale uint64  // nanoseconds per tick; default 1,000,000
	Duration       float64 // in ticks; HasDuration says whether present
	HasDuration    bool
	DateUTC        time.Time // zero when absent
	Title          string
	MuxingApp      string
	WritingApp     string
	SegmentUID     []byte
}

// DurationNS returns the header's Duration in nanoseconds.
func (i Info) DurationNS() int64 {
	return int64(i.Duration * float64(i.TimestampScale))
}

// Track is one TrackEntry.
type Track struct {
	Number          uint64
	UID             uint64
	Type            uint64 // 1 video, 2 audio
	CodecID         string
	Name            string
	Language        string
	DefaultDuration uint64 // ns per frame, 0 when absent
	Width, Height   int    // video
	SamplingFreq    float64
	Channels        uint64
	BitDepth        uint64 // audio, 0 when absent
	CodecPrivate    []byte
	CodecDelay      uint64 // ns (Matroska CodecDelay), 0 when absent
	SeekPreRoll     uint64 // ns (Matroska SeekPreRoll), 0 when absent
	// AlphaMode is the Video element's AlphaMode (Matroska section
	// 5.1.4.1.28.5): 1 when BlockAdditions carry an alpha plane.
	AlphaMode uint64
}

// IsVideo reports whether the track is a video track.
func (t Track) IsVideo() bool { return t.Type == 1 }

// Tag is one Tag element: targets plus simple tags.
type Tag struct {
	TargetTypeValue uint64
	TrackUIDs       []uint64
	Simple          []SimpleTag
}

// SimpleTag is a name/value pair (Matroska tags).
type SimpleTag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag names reckit writes. PART_NUMBER is the Matroska official tag; the
// others are reckit's own (WebM has no PrevUID/NextUID, so the previous and
// next parts' SegmentUIDs travel as tags, in lowercase hex).
const (
	TagDevice   = "RECKIT_DEVICE"
	TagUser     = "RECKIT_USER"
	TagSession  = "RECKIT_SESSION_ID"
	TagMonitor  = "RECKIT_MONITOR"
	TagSource   = "RECKIT_SOURCE"
	TagPart     = "PART_NUMBER"
	TagPrevUID  = "RECKIT_PREV_SEGMENT_UID"
	TagNextUID  = "RECKIT_NEXT_SEGMENT_UID"
	TagSplitWhy = "RECKIT_SPLIT_REASON"
)

// FindTag returns the first value of a global (untargeted or segment-level)
// simple tag.
func (h *Header) FindTag(name string) (string, bool) {
	for _, t := range h.Tags {
		if len(t.TrackUIDs) > 0 {
			continue
		}
		for _, s := range t.Simple {
			if s.Name == name {
				return s.Value, true
			}
		}
	}
	return "", false
}

// SegmentUIDHex returns the SegmentUID in lowercase hex, or "".
func (h *Header) SegmentUIDHex() string { return hex.EncodeToString(h.Info.SegmentUID) }

// VideoTrack returns the first video track.
func (h *Header) VideoTrack() (Track, bool) {
	for _, t := range h.Tracks {
		if t.IsVideo() {
			return t, true
		}
	}
	return Track{}, false
}

// TrackByNumber returns the track with that number.
func (h *Header) TrackByNumber(n uint64) (Track, bool) {
	for _, t := range h.Tracks {
		if t.Number == n {
			return t, true
		}
	}
	return Track{}, false
}

// --- decoding with ebml-go, on bounded byte slices ---

type ebmlHeaderEl struct {
	DocType            string `ebml:"EBMLDocType"`
	DocTypeVersion     uint64 `ebml:"EBMLDocTypeVersion"`
	DocTypeReadVersion uint64 `ebml:"EBMLDocTypeReadVersion"`
}

type infoEl struct {
	TimecodeScale uint64    `ebml:"TimecodeScale"`
	Duration      float64   `ebml:"Duration"`
	DateUTC       time.Time `ebml:"DateUTC"`
	Title         string    `ebml:"Title"`
	MuxingApp     string    `ebml:"MuxingApp"`
	WritingApp    string    `ebml:"WritingApp"`
	SegmentUID    []byte    `ebml:"SegmentUID"`
}

type videoEl struct {
	PixelWidth  uint64 `ebml:"PixelWidth"`
	PixelHeight uint64 `ebml:"PixelHeight"`
	AlphaMode   uint64 `ebml:"AlphaMode"`
}

type audioEl struct {
	SamplingFrequency float64 `ebml:"SamplingFrequency"`
	Channels          uint64  `ebml:"Channels"`
	BitDepth          uint64  `ebml:"BitDepth"`
}

type trackEntryEl struct {
	TrackNumber     uint64   `ebml:"TrackNumber"`
	TrackUID        uint64   `ebml:"TrackUID"`
	TrackType       uint64   `ebml:"TrackType"`
	CodecID         string   `ebml:"CodecID"`
	CodecPrivate    []byte   `ebml:"CodecPrivate"`
	Name            string   `ebml:"Name"`
	Language        string   `ebml:"Language"`
	DefaultDuration uint64   `ebml:"DefaultDuration"`
	CodecDelay      uint64   `ebml:"CodecDelay"`
	SeekPreRoll     uint64   `ebml:"SeekPreRoll"`
	Video           *videoEl `ebml:"Video"`
	Audio           *audioEl `ebml:"Audio"`
}

type tracksEl struct {
	TrackEntry []trackEntryEl `ebml:"TrackEntry"`
}

type simpleTagEl struct {
	TagName   string        `ebml:"TagName"`
	TagString string        `ebml:"TagString"`
	SimpleTag []simpleTagEl `ebml:"SimpleTag"`
}

type targetsEl struct {
	TargetTypeValue uint64   `ebml:"TargetTypeValue"`
	TagTrackUID     []uint64 `ebml:"TagTrackUID"`
}

type tagEl struct {
	Targets   targetsEl     `ebml:"Targets"`
	SimpleTag []simpleTagEl `ebml:"SimpleTag"`
}

type tagsEl struct {
	Tag []tagEl `ebml:"Tag"`
}

type seekEl struct {
	SeekID       []byte `ebml:"SeekID"`
	SeekPosition uint64 `ebml:"SeekPosition"`
}

type seekHeadEl struct {
	Seek []seekEl `ebml:"Seek"`
}

// unmarshal decodes one whole element (header plus data, a bounded slice)
// into the field of wrapper. ebml-go is a third-party parser fed with
// attacker-controlled bytes, so a panic inside it becomes a corrupt error.
func unmarshal(whole []byte, wrapper any, off int64, name string, opts ...ebml.UnmarshalOption) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = formatErr(ErrCorrupt, off, "%s cannot be decoded: %v", name, p)
		}
	}()
	e := ebml.Unmarshal(bytes.NewReader(whole), wrapper, opts...)
	if errors.Is(e, ebml.ErrUnknownElement) {
		e = ebml.Unmarshal(bytes.NewReader(whole), wrapper, append(opts, ebml.WithIgnoreUnknown(true))...)
	}
	if e != nil {
		return formatErr(ErrCorrupt, off, "%s cannot be decoded: %v", name, e)
	}
	return nil
}

func decodeEBMLHeader(whole []byte, off int64, h *Header) error {
	var w struct {
		H ebmlHeaderEl `ebml:"EBML"`
	}
	if err := unmarshal(whole, &w, off, "EBML header"); err != nil {
		return err
	}
	h.DocType, h.DocTypeVersion, h.DocTypeReadVersion = w.H.DocType, w.H.DocTypeVersion, w.H.DocTypeReadVersion
	if h.DocType == "" {
		h.DocType = "matroska" // the EBMLDocType default (Matroska spec)
	}
	return nil
}

func decodeInfo(whole []byte, off int64, h *Header) error {
	var w struct {
		I infoEl `ebml:"Info"`
	}
	hasDur := false
	hook := ebml.WithElementReadHooks(func(e *ebml.Element) {
		if e.Type == ebml.ElementDuration {
			hasDur = true
		}
	})
	if err := unmarshal(whole, &w, off, "Info", hook); err != nil {
		return err
	}
	i := Info{TimestampScale: w.I.TimecodeScale, Title: w.I.Title, MuxingApp: w.I.MuxingApp,
		WritingApp: w.I.WritingApp, SegmentUID: w.I.SegmentUID}
	if i.TimestampScale == 0 {
		i.TimestampScale = 1000000
	}
	i.Duration, i.HasDuration = w.I.Duration, hasDur
	if !w.I.DateUTC.IsZero() && !w.I.DateUTC.Equal(ebmlEpoch) {
		i.DateUTC = w.I.DateUTC.UTC()
	}
	h.Info, h.HasInfo = i, true
	return nil
}

// ebmlEpoch is the origin of EBML dates (RFC 8794 section 7.6).
var ebmlEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

func decodeTracks(whole []byte, off int64, h *Header) error {
	var w struct {
		T tracksEl `ebml:"Tracks"`
	}
	if err := unmarshal(whole, &w, off, "Tracks"); err != nil {
		return err
	}
	h.Tracks = h.Tracks[:0]
	for _, e := range w.T.TrackEntry {
		t := Track{Number: e.TrackNumber, UID: e.TrackUID, Type: e.TrackType, CodecID: e.CodecID,
			Name: e.Name, Language: e.Language, DefaultDuration: e.DefaultDuration, CodecPrivate: e.CodecPrivate,
			CodecDelay: e.CodecDelay, SeekPreRoll: e.SeekPreRoll}
		if e.Video != nil {
			t.Width, t.Height = int(e.Video.PixelWidth), int(e.Video.PixelHeight)
			t.AlphaMode = e.Video.AlphaMode
		}
		if e.Audio != nil {
			t.SamplingFreq, t.Channels, t.BitDepth = e.Audio.SamplingFrequency, e.Audio.Channels, e.Audio.BitDepth
		}
		if t.Type == 2 {
			// The Matroska defaults of absent Audio elements.
			if t.SamplingFreq == 0 {
				t.SamplingFreq = 8000
			}
			if t.Channels == 0 {
				t.Channels = 1
			}
		}
		h.Tracks = append(h.Tracks, t)
	}
	return nil
}

func decodeTags(whole []byte, off int64, h *Header) error {
	var w struct {
		T tagsEl `ebml:"Tags"`
	}
	if err := unmarshal(whole, &w, off, "Tags"); err != nil {
		return err
	}
	for _, e := range w.T.Tag {
		t := Tag{TargetTypeValue: e.Targets.TargetTypeValue, TrackUIDs: e.Targets.TagTrackUID}
		var add func([]simpleTagEl, string)
		add = func(s []simpleTagEl, prefix string) {
			for _, st := range s {
				t.Simple = append(t.Simple, SimpleTag{Name: prefix + st.TagName, Value: st.TagString})
				if len(st.SimpleTag) > 0 {
					add(st.SimpleTag, prefix+st.TagName+"/")
				}
			}
		}
		add(e.SimpleTag, "")
		h.Tags = append(h.Tags, t)
	}
	return nil
}

func decodeSeekHead(whole []byte, off int64, h *Header) error {
	var w struct {
		S seekHeadEl `ebml:"SeekHead"`
	}
	if err := unmarshal(whole, &w, off, "SeekHead"); err != nil {
		return err
	}
	for _, s := range w.S.Seek {
		if len(s.SeekID) == 0 || len(s.SeekID) > 4 {
			return formatErr(ErrCorrupt, off, "SeekHead entry with a %d-byte SeekID", len(s.SeekID))
		}
		var id uint32
		for _, b := range s.SeekID {
			id = id<<8 | uint32(b)
		}
		h.SeekHead = append(h.SeekHead, SeekEntry{ID: id, Position: s.SeekPosition})
	}
	h.HasSeekHead = true
	return nil
}

func (h *Header) String() string {
	return fmt.Sprintf("%s segment@%d", h.DocType, h.SegmentOffset)
}
