package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// SchemaVersion is the manifest schema version this package reads and
// writes (docs/layout.md, "Compatibility").
const SchemaVersion = 1

// ManifestName is the file name of a recording directory's manifest.
const ManifestName = "manifest.json"

// MaxManifestSize caps the bytes read from, and written to, one manifest.
const MaxManifestSize = 16 << 20

// Manifest states (docs/layout.md, "State machine").
const (
	StateRecording   = "recording"
	StateComplete    = "complete"
	StateInterrupted = "interrupted"
	StatePurging     = "purging"
)

// Split reasons: why a part begins (Part.SplitReason).
const (
	SplitStart      = "start"      // the first part of a recording
	SplitSize       = "size"       // the previous part reached the size limit
	SplitDuration   = "duration"   // the previous part reached the duration limit
	SplitResolution = "resolution" // the frame size changed (includes portrait/landscape turns)
	SplitFPS        = "fps"        // the frame rate changed
	SplitMonitor    = "monitor"    // the viewed monitor changed
	SplitReconnect  = "reconnect"  // the source reconnected within the session
	SplitManual     = "manual"     // an operator asked for a new part
	SplitCut        = "cut"        // reckit split cut an existing recording here
)

// Stop reasons: why a recording ended (Manifest.StopReason).
const (
	StopEndOfInput  = "end-of-input" // the source ended (file end, session closed)
	StopSignal      = "signal"       // SIGINT/SIGTERM or another cancellation
	StopDuration    = "duration"     // the requested length was recorded (record --duration)
	StopMaxDuration = "max-duration" // the recording reached its duration limit
	StopMaxSize     = "max-size"     // the recording reached its total size limit
	StopMinFree     = "min-free"     // free disk space fell below the limit
	StopError       = "error"        // an unrecoverable error, see StopError
	StopCrash       = "crash"        // the recorder died; reckit repair finished the recording
)

// Errors about manifests.
var (
	// ErrNoManifest reports a directory without manifest.json (or a WebM
	// file without a sidecar). It wraps fs.ErrNotExist through errors.Is.
	ErrNoManifest = fmt.Errorf("layout: no manifest: %w", fs.ErrNotExist)
	// ErrManifestTooLarge reports a manifest above MaxManifestSize.
	ErrManifestTooLarge = errors.New("layout: manifest too large")
	// ErrSchemaVersion reports a manifest whose schema_version this
	// package does not implement.
	ErrSchemaVersion = errors.New("layout: unsupported manifest schema version")
	// ErrInvalidManifest reports a manifest that decodes but breaks a rule
	// of docs/layout.md.
	ErrInvalidManifest = errors.New("layout: invalid manifest")
	// ErrBadTransition reports a state change the state machine forbids.
	ErrBadTransition = errors.New("layout: state transition not allowed")
	// ErrNotesRewritten reports an update that changed or removed a note:
	// notes are append-only.
	ErrNotesRewritten = errors.New("layout: notes are append-only")
	// ErrChain reports a part whose chain value is missing or wrong.
	ErrChain = errors.New("layout: hash chain mismatch")
)

// Manifest is one recording's manifest.json (docs/layout.md, "Manifest").
// Times are UTC with millisecond precision on disk. Extra holds the members
// this version does not know; they are written back unchanged.
type Manifest struct {
	SchemaVersion int
	Device        string
	User          string
	SessionID     string
	Source        string
	Title         string
	Recorder      string // program and version that created the recording
	State         string
	Start         time.Time
	End           time.Time // zero while recording
	StopReason    string
	StopError     string
	DroppedFrames int64
	Parts         []Part
	Chain         string // chain_n, lowercase hex; see ChainSeed
	Lock          *Lock  // the legal hold; nil when not locked
	Notes         []Note // append-only
	PurgeStarted  time.Time
	Extra         map[string]json.RawMessage
}

// Part describes one WebM part of a recording. Extra holds unknown members.
type Part struct {
	Name          string // base name in the recording directory
	SizeBytes     int64
	SHA256        string // lowercase hex of the file's SHA-256
	Start         time.Time
	End           time.Time
	DurationMS    int64
	Width         int
	Height        int
	Monitor       string
	FPS           float64 // nominal frame rate; 0 if unknown or variable
	SplitReason   string
	Frames        int64
	DroppedFrames int64
	Chain         string // chain_i after this part, lowercase hex
	Extra         map[string]json.RawMessage
}

// Lock is the legal hold on a recording: a locked recording is never purged.
type Lock struct {
	By     string
	Time   time.Time
	Reason string
	Extra  map[string]json.RawMessage
}

// Note is one annotation on a recording.
type Note struct {
	Time   time.Time
	Author string
	Text   string
	Extra  map[string]json.RawMessage
}

type manifestWire struct {
	SchemaVersion int      `json:"schema_version"`
	Device        string   `json:"device"`
	User          string   `json:"user"`
	SessionID     string   `json:"session_id"`
	Source        string   `json:"source"`
	Title         string   `json:"title"`
	Recorder      string   `json:"recorder,omitempty"`
	State         string   `json:"state"`
	Start         jsonTime `json:"start_time,omitzero"`
	End           jsonTime `json:"end_time,omitzero"`
	StopReason    string   `json:"stop_reason,omitempty"`
	StopError     string   `json:"stop_error,omitempty"`
	DroppedFrames int64    `json:"dropped_frames"`
	Parts         []Part   `json:"parts"`
	Chain         string   `json:"chain_sha256,omitempty"`
	Lock          *Lock    `json:"lock,omitempty"`
	Notes         []Note   `json:"notes"`
	PurgeStarted  jsonTime `json:"purge_started_time,omitzero"`
}

type partWire struct {
	Name          string   `json:"name"`
	SizeBytes     int64    `json:"size_bytes"`
	SHA256        string   `json:"sha256"`
	Start         jsonTime `json:"start_time,omitzero"`
	End           jsonTime `json:"end_time,omitzero"`
	DurationMS    int64    `json:"duration_ms"`
	Width         int      `json:"width"`
	Height        int      `json:"height"`
	Monitor       string   `json:"monitor"`
	FPS           float64  `json:"fps,omitempty"`
	SplitReason   string   `json:"split_reason"`
	Frames        int64    `json:"frames"`
	DroppedFrames int64    `json:"dropped_frames"`
	Chain         string   `json:"chain_sha256,omitempty"`
}

type lockWire struct {
	By     string   `json:"by"`
	Time   jsonTime `json:"time,omitzero"`
	Reason string   `json:"reason"`
}

type noteWire struct {
	Time   jsonTime `json:"time,omitzero"`
	Author string   `json:"author"`
	Text   string   `json:"text"`
}

var (
	manifestKeys = jsonKeys(manifestWire{})
	partKeys     = jsonKeys(partWire{})
	lockKeys     = jsonKeys(lockWire{})
	noteKeys     = jsonKeys(noteWire{})
)

// MarshalJSON encodes m in the docs/layout.md schema, unknown members last.
func (m Manifest) MarshalJSON() ([]byte, error) {
	parts, notes := m.Parts, m.Notes
	if parts == nil {
		parts = []Part{}
	}
	if notes == nil {
		notes = []Note{}
	}
	w := manifestWire{
		SchemaVersion: m.SchemaVersion, Device: m.Device, User: m.User,
		SessionID: m.SessionID, Source: m.Source, Title: m.Title,
		Recorder: m.Recorder, State: m.State,
		Start: jsonTime(m.Start), End: jsonTime(m.End),
		StopReason: m.StopReason, StopError: m.StopError,
		DroppedFrames: m.DroppedFrames, Parts: parts, Chain: m.Chain,
		Lock: m.Lock, Notes: notes, PurgeStarted: jsonTime(m.PurgeStarted),
	}
	return marshalWithExtra(w, manifestKeys, m.Extra)
}

// UnmarshalJSON decodes a manifest object, keeping unknown members in Extra.
// It does not validate; Decode does.
func (m *Manifest) UnmarshalJSON(b []byte) error {
	all, err := splitObject(b)
	if err != nil {
		return err
	}
	return m.fromMembers(all)
}

func (m *Manifest) fromMembers(all map[string]json.RawMessage) error {
	var w manifestWire
	extra, err := decodeMembers(all, &w, manifestKeys)
	if err != nil {
		return err
	}
	*m = Manifest{
		SchemaVersion: w.SchemaVersion, Device: w.Device, User: w.User,
		SessionID: w.SessionID, Source: w.Source, Title: w.Title,
		Recorder: w.Recorder, State: w.State,
		Start: time.Time(w.Start), End: time.Time(w.End),
		StopReason: w.StopReason, StopError: w.StopError,
		DroppedFrames: w.DroppedFrames, Parts: w.Parts, Chain: w.Chain,
		Lock: w.Lock, Notes: w.Notes, PurgeStarted: time.Time(w.PurgeStarted),
		Extra: extra,
	}
	return nil
}

// MarshalJSON encodes p, unknown members last.
func (p Part) MarshalJSON() ([]byte, error) {
	return marshalWithExtra(partWire{
		Name: p.Name, SizeBytes: p.SizeBytes, SHA256: p.SHA256,
		Start: jsonTime(p.Start), End: jsonTime(p.End), DurationMS: p.DurationMS,
		Width: p.Width, Height: p.Height, Monitor: p.Monitor, FPS: p.FPS,
		SplitReason: p.SplitReason, Frames: p.Frames, DroppedFrames: p.DroppedFrames,
		Chain: p.Chain,
	}, partKeys, p.Extra)
}

// UnmarshalJSON decodes a part object, keeping unknown members in Extra.
func (p *Part) UnmarshalJSON(b []byte) error {
	var w partWire
	extra, err := unmarshalWithExtra(b, &w, partKeys)
	if err != nil {
		return err
	}
	*p = Part{
		Name: w.Name, SizeBytes: w.SizeBytes, SHA256: w.SHA256,
		Start: time.Time(w.Start), End: time.Time(w.End), DurationMS: w.DurationMS,
		Width: w.Width, Height: w.Height, Monitor: w.Monitor, FPS: w.FPS,
		SplitReason: w.SplitReason, Frames: w.Frames, DroppedFrames: w.DroppedFrames,
		Chain: w.Chain, Extra: extra,
	}
	return nil
}

// MarshalJSON encodes l, unknown members last.
func (l Lock) MarshalJSON() ([]byte, error) {
	return marshalWithExtra(lockWire{By: l.By, Time: jsonTime(l.Time), Reason: l.Reason}, lockKeys, l.Extra)
}

// UnmarshalJSON decodes a lock object, keeping unknown members in Extra.
func (l *Lock) UnmarshalJSON(b []byte) error {
	var w lockWire
	extra, err := unmarshalWithExtra(b, &w, lockKeys)
	if err != nil {
		return err
	}
	*l = Lock{By: w.By, Time: time.Time(w.Time), Reason: w.Reason, Extra: extra}
	return nil
}

// MarshalJSON encodes n, unknown members last.
func (n Note) MarshalJSON() ([]byte, error) {
	return marshalWithExtra(noteWire{Time: jsonTime(n.Time), Author: n.Author, Text: n.Text}, noteKeys, n.Extra)
}

// UnmarshalJSON decodes a note object, keeping unknown members in Extra.
func (n *Note) UnmarshalJSON(b []byte) error {
	var w noteWire
	extra, err := unmarshalWithExtra(b, &w, noteKeys)
	if err != nil {
		return err
	}
	*n = Note{Time: time.Time(w.Time), Author: w.Author, Text: w.Text, Extra: extra}
	return nil
}

// Decode reads one manifest from r, at most MaxManifestSize bytes, and
// validates it (see Validate). It fails with ErrManifestTooLarge,
// ErrSchemaVersion or ErrInvalidManifest as the case may be.
func Decode(r io.Reader) (*Manifest, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("layout: read manifest: %w", err)
	}
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrManifestTooLarge, MaxManifestSize)
	}
	return decodeBytes(b)
}

func decodeBytes(b []byte) (*Manifest, error) {
	all, err := splitObject(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	// Check the version first, so that a future schema is reported as such
	// and not as whatever decoding error its new shape causes.
	if v := all["schema_version"]; string(v) != "1" {
		if len(v) == 0 {
			return nil, fmt.Errorf("%w: no schema_version", ErrSchemaVersion)
		}
		return nil, fmt.Errorf("%w: schema_version %s, want %d", ErrSchemaVersion, v, SchemaVersion)
	}
	m := new(Manifest)
	if err := m.fromMembers(all); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Encode validates m and writes it to w as indented JSON ending in a
// newline. It fails with ErrManifestTooLarge if the result would exceed
// MaxManifestSize, so that every manifest written can be read back.
func Encode(w io.Writer, m *Manifest) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("layout: write manifest: %w", err)
	}
	return nil
}

func (m *Manifest) encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	raw, err := marshal(m)
	if err != nil {
		return nil, fmt.Errorf("layout: encode manifest: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("layout: encode manifest: %w", err)
	}
	buf.WriteByte('\n')
	if buf.Len() > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrManifestTooLarge, buf.Len(), MaxManifestSize)
	}
	return buf.Bytes(), nil
}

// ValidState reports whether s is one of the four manifest states.
func ValidState(s string) bool {
	switch s {
	case StateRecording, StateComplete, StateInterrupted, StatePurging:
		return true
	}
	return false
}

// ValidPartFileName reports whether name may name a part inside a recording
// directory: one path element, not "." or "..", no NUL, no slash or
// backslash, at most 255 bytes. Names of reckit's own parts also parse with
// ParsePartName; parts recorded by others need not.
func ValidPartFileName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return false
	}
	return !strings.ContainsAny(name, "/\\\x00")
}

// Validate checks the rules of docs/layout.md that a reader relies on:
// schema version, a known state, safe and distinct part names, non-negative
// counts, well-formed hashes. It does not check the hash chain (VerifyChain
// does) nor the files on disk.
func (m *Manifest) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidManifest, fmt.Sprintf(format, a...))
	}
	if m.SchemaVersion != SchemaVersion {
		return fmt.Errorf("%w: schema_version %d, want %d", ErrSchemaVersion, m.SchemaVersion, SchemaVersion)
	}
	if !ValidState(m.State) {
		return bad("state %q", m.State)
	}
	if m.DroppedFrames < 0 {
		return bad("dropped_frames %d", m.DroppedFrames)
	}
	if m.Chain != "" && !isHexSHA256(m.Chain) {
		return bad("chain_sha256 %q is not 64 lowercase hex digits", m.Chain)
	}
	seen := make(map[string]bool, len(m.Parts))
	for i, p := range m.Parts {
		if !ValidPartFileName(p.Name) {
			return bad("part %d: name %q is not a plain file name", i, p.Name)
		}
		if seen[p.Name] {
			return bad("part %d: name %q listed twice", i, p.Name)
		}
		seen[p.Name] = true
		if p.SizeBytes < 0 || p.DurationMS < 0 || p.Width < 0 || p.Height < 0 || p.Frames < 0 || p.DroppedFrames < 0 || p.FPS < 0 {
			return bad("part %d (%s): negative count", i, p.Name)
		}
		if p.SHA256 != "" && !isHexSHA256(p.SHA256) {
			return bad("part %d (%s): sha256 %q is not 64 lowercase hex digits", i, p.Name, p.SHA256)
		}
		if p.Chain != "" && !isHexSHA256(p.Chain) {
			return bad("part %d (%s): chain_sha256 %q is not 64 lowercase hex digits", i, p.Name, p.Chain)
		}
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewManifest returns a manifest in state recording for a recording that
// starts at start, with no parts and chain_0 as its chain head.
func NewManifest(device, user, sessionID, source string, start time.Time) *Manifest {
	seed := ChainSeed(sessionID)
	return &Manifest{
		SchemaVersion: SchemaVersion,
		Device:        device,
		User:          user,
		SessionID:     sessionID,
		Source:        source,
		State:         StateRecording,
		Start:         start.UTC().Truncate(time.Millisecond),
		Chain:         hexString(seed[:]),
	}
}

// EffectiveState is the state readers act on: a manifest in state recording
// whose recording lock nobody holds (lockHeld false) was interrupted by a
// crash, so it is reported as interrupted. Other states are returned as is.
func (m *Manifest) EffectiveState(lockHeld bool) string {
	if m.State == StateRecording && !lockHeld {
		return StateInterrupted
	}
	return m.State
}

// CanTransition reports whether the state machine of docs/layout.md allows
// a manifest to go from state from to state to. Staying in a state is
// allowed.
func CanTransition(from, to string) bool {
	if !ValidState(from) || !ValidState(to) {
		return false
	}
	if from == to {
		return true
	}
	switch from {
	case StateRecording:
		return to == StateComplete || to == StateInterrupted || to == StatePurging
	case StateInterrupted:
		return to == StateComplete || to == StatePurging
	case StateComplete:
		return to == StatePurging
	}
	return false // purging is terminal
}

// SetState moves m to state to, or fails with ErrBadTransition.
func (m *Manifest) SetState(to string) error {
	if !CanTransition(m.State, to) {
		return fmt.Errorf("%w: %s to %s", ErrBadTransition, m.State, to)
	}
	m.State = to
	return nil
}

// Locked reports whether the recording is under legal hold.
func (m *Manifest) Locked() bool { return m.Lock != nil }

// SetLock puts the recording under legal hold, replacing any earlier lock.
func (m *Manifest) SetLock(who, reason string, now time.Time) {
	m.Lock = &Lock{By: who, Time: now.UTC().Truncate(time.Millisecond), Reason: reason}
}

// ClearLock lifts the legal hold.
func (m *Manifest) ClearLock() { m.Lock = nil }

// AddNote appends a note.
func (m *Manifest) AddNote(author, text string, now time.Time) {
	m.Notes = append(m.Notes, Note{Time: now.UTC().Truncate(time.Millisecond), Author: author, Text: text})
}

// SizeBytes returns the sum of the parts' sizes.
func (m *Manifest) SizeBytes() int64 {
	var n int64
	for _, p := range m.Parts {
		n += p.SizeBytes
	}
	return n
}

// Part returns the part named name, and false if there is none.
func (m *Manifest) Part(name string) (*Part, bool) {
	for i := range m.Parts {
		if m.Parts[i].Name == name {
			return &m.Parts[i], true
		}
	}
	return nil, false
}
