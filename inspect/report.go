// Package inspect is reckit's read-only analysis of recordings: Probe reads
// a file's headers only, Scan walks every block; both return a Report whose
// Findings explain its verdict. It never writes.
package inspect

import (
	"time"

	"github.com/reckit/reckit/mux"
)

// Verdict is one word from the product's list, shared by info, verify and ls.
type Verdict string

// The verdicts.
const (
	OK               Verdict = "ok"
	InProgress       Verdict = "recording"  // in progress (the verdict word is "recording")
	Incomplete       Verdict = "incomplete" // interrupted: repairable
	Unseekable       Verdict = "unseekable" // complete but no Cues or Duration
	Corrupt          Verdict = "corrupt"    // structure invalid (with the offset)
	SizeMismatch     Verdict = "size-mismatch"
	ChecksumMismatch Verdict = "checksum-mismatch"
	Missing          Verdict = "missing"
	Orphan           Verdict = "orphan"
	NotWebM          Verdict = "not-webm"
)

// severity orders verdicts: a report takes the worst of its findings.
var severity = map[Verdict]int{
	OK: 0, Unseekable: 1, InProgress: 2, Orphan: 3, Incomplete: 4, SizeMismatch: 5,
	ChecksumMismatch: 6, Missing: 7, Corrupt: 8, NotWebM: 9,
}

// Worse reports whether a is worse than b.
func Worse(a, b Verdict) bool { return severity[a] > severity[b] }

// Acceptable reports whether a verdict passes (ok, or unseekable unless
// strict).
func (v Verdict) Acceptable(strict bool) bool {
	return v == OK || (v == Unseekable && !strict)
}

// Finding is one observation about a file.
type Finding struct {
	Verdict Verdict `json:"verdict"`          // what it implies for the file
	Offset  *int64  `json:"offset,omitempty"` // byte offset, where it applies
	Message string  `json:"message"`
}

// Report is everything info knows about one file. It is rendered as is by
// the CLI (human and JSON); the JSON schema is in docs/json.md.
type Report struct {
	Type    string  `json:"type"` // "file"
	Path    string  `json:"path"`
	Bytes   int64   `json:"bytes"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"` // the first problem, when not ok
	Offset  *int64  `json:"offset,omitempty"` // its byte offset

	DocType        string     `json:"doctype,omitempty"`
	DocTypeVersion uint64     `json:"doctype_version,omitempty"`
	MuxingApp      string     `json:"muxing_app,omitempty"`
	WritingApp     string     `json:"writing_app,omitempty"`
	Title          string     `json:"title,omitempty"`
	DateUTC        *time.Time `json:"date_utc,omitempty"`
	SegmentUID     string     `json:"segment_uid,omitempty"`

	SegmentSizeKnown bool   `json:"segment_size_known"`
	SegmentBytes     *int64 `json:"segment_bytes,omitempty"`
	SeekHead         bool   `json:"seekhead"`
	Cues             bool   `json:"cues"`
	CuePoints        int    `json:"cue_points"`

	HeaderDurationMS *int64  `json:"header_duration_ms,omitempty"` // Info Duration, when present
	DurationMS       int64   `json:"duration_ms"`                  // measured from the blocks
	FirstTimestampMS int64   `json:"first_timestamp_ms"`
	LastTimestampMS  int64   `json:"last_timestamp_ms"`
	Frames           int64   `json:"frames"`    // complete frames, all tracks
	Keyframes        int64   `json:"keyframes"` // complete key frames, all tracks
	Clusters         int     `json:"clusters"`
	FPS              float64 `json:"fps"`         // video frames per second
	BitrateBPS       int64   `json:"bitrate_bps"` // whole file, bits per second

	Tracks []TrackReport   `json:"tracks"`
	Tags   []mux.SimpleTag `json:"tags"`
	// CompleteBytes is where the last complete frame's element ends: what a
	// repair keeps.
	CompleteBytes int64     `json:"complete_bytes"`
	Findings      []Finding `json:"findings"`
	SHA256        string    `json:"sha256,omitempty"`
}

// TrackReport describes one track.
type TrackReport struct {
	Number      uint64       `json:"number"`
	Kind        string       `json:"kind"` // video, audio, other
	Codec       string       `json:"codec"`
	Width       int          `json:"width,omitempty"`  // from the Tracks header
	Height      int          `json:"height,omitempty"` // from the Tracks header
	Frames      int64        `json:"frames"`
	Keyframes   int64        `json:"keyframes"`
	Resolutions []Resolution `json:"resolutions,omitempty"` // in-band, from VP8 key frames
	SampleRate  float64      `json:"sample_rate,omitempty"`
	Channels    uint64       `json:"channels,omitempty"`
}

// Resolution is the coded size from a given timestamp on.
type Resolution struct {
	TimestampMS int64 `json:"timestamp_ms"`
	Width       int   `json:"width"`
	Height      int   `json:"height"`
}

// add records a finding and lowers the verdict if it is worse.
func (r *Report) add(v Verdict, off int64, msg string) {
	f := Finding{Verdict: v, Message: msg}
	if off >= 0 {
		o := off
		f.Offset = &o
	}
	r.Findings = append(r.Findings, f)
	if Worse(v, r.Verdict) {
		r.Verdict = v
		r.Reason = msg
		r.Offset = f.Offset
	}
}
