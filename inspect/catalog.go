package inspect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

// Recording is one recording found under a root: a recording directory (with
// manifest.json) or a plain WebM file (with or without a sidecar manifest
// FILE.webm.reckit.json). It is what `reckit ls --json` prints (type
// "recording") and what purge plans over.
type Recording struct {
	Type        string    `json:"type"` // "recording"
	Path        string    `json:"path"` // the directory, or the plain file
	Kind        string    `json:"kind"` // "directory" or "file"
	Device      string    `json:"device"`
	User        string    `json:"user"`
	SessionID   string    `json:"session_id"`
	Title       string    `json:"title,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"` // manifest end; else start + duration; else mtime of the newest file
	DurationMS  int64     `json:"duration_ms"`
	Resolutions []string  `json:"resolutions"` // "1920x1080", distinct, in order
	Parts       int       `json:"parts"`
	Bytes       int64     `json:"bytes"` // on disk: parts (+ manifest)
	// State is the manifest state as readers act on it
	// (layout.Manifest.EffectiveState): recording, complete, interrupted,
	// purging; "" for a plain file without a manifest.
	State      string  `json:"state"`
	InProgress bool    `json:"in_progress"` // its recording lock is held (layout.RecordingInProgress)
	Verdict    Verdict `json:"verdict"`     // from headers and manifest only (no full read)
	Reason     string  `json:"reason,omitempty"`
	Locked     bool    `json:"locked"`
	LockedBy   string  `json:"locked_by,omitempty"`
	LockReason string  `json:"lock_reason,omitempty"`
	Notes      int     `json:"notes"`
	// ModTime is the newest mtime among its files (the purge grace period
	// uses it).
	ModTime time.Time `json:"mtime"`
	// Files is every file that belongs to it (parts, partials, manifest,
	// sidecar, stray files), lock files excepted.
	Files []string `json:"-"`
	// Manifest is the manifest read, nil for a plain file without a sidecar
	// or an unreadable manifest.
	Manifest *layout.Manifest `json:"-"`
}

// Unknown is a file under a root that is not a recording or a recording's
// own file (listed, never touched), or a symlink (never followed).
type Unknown struct {
	Type   string `json:"type"` // "unknown"
	Path   string `json:"path"`
	Kind   string `json:"kind"` // "file", "symlink", "dir", "partial", "error"
	Bytes  int64  `json:"bytes"`
	Reason string `json:"reason,omitempty"`
}

// CatalogOptions configure Catalog.
type CatalogOptions struct {
	// Probe reads the WebM headers of the parts (see Probe): a few
	// kilobytes per part. Without it only manifests and file sizes are read.
	Probe bool
	// Now is the current time (reserved for age-dependent facts).
	Now time.Time
}

// catalogJobs is how many recordings Catalog describes at once: the work
// is mostly waiting for system calls (stat, open, flock), so a few run in
// parallel even on one core.
const catalogJobs = 4

// Catalog walks the roots (layout.Walk: never follows symlinks) and calls fn
// for each recording and unknown for each unknown entry, streaming: memory
// does not grow with the tree. An error from fn or unknown stops the walk and
// is returned; a root that cannot be read is an error; a recording whose
// manifest or files cannot be read is still passed to fn, with verdict
// corrupt or missing and the reason.
func Catalog(ctx context.Context, roots []string, opts CatalogOptions, fn func(*Recording) error, unknown func(*Unknown) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Entries are described by catalogJobs workers and delivered in walk
	// order: each slot is filled by a worker and drained in sequence.
	type slot struct {
		entry layout.Entry
		rec   *Recording
		done  chan struct{}
	}
	work := make(chan *slot)
	order := make(chan *slot, catalogJobs*4)
	var wg sync.WaitGroup
	for range catalogJobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sl := range work {
				switch sl.entry.Kind {
				case layout.KindRecordingDir:
					sl.rec = CatalogDir(sl.entry.Path, opts)
				case layout.KindPlainFile:
					sl.rec = CatalogFile(sl.entry.Path, sl.entry.Sidecar, opts)
				}
				close(sl.done)
			}
		}()
	}
	var walkErr error
	go func() {
		defer close(order)
		defer close(work)
		for _, root := range roots {
			walkErr = layout.Walk(ctx, root, func(e layout.Entry) error {
				sl := &slot{entry: e, done: make(chan struct{})}
				select {
				case order <- sl:
				case <-ctx.Done():
					return ctx.Err()
				}
				if e.Kind != layout.KindRecordingDir && e.Kind != layout.KindPlainFile {
					close(sl.done)
					return nil
				}
				select {
				case work <- sl:
				case <-ctx.Done():
					close(sl.done) // nobody will describe it
					return ctx.Err()
				}
				return nil
			})
			if walkErr != nil {
				return
			}
		}
	}()
	var cbErr error
	for sl := range order {
		if cbErr != nil {
			continue // drain
		}
		<-sl.done
		if sl.rec != nil {
			cbErr = fn(sl.rec)
		} else if unknown != nil {
			cbErr = unknown(unknownEntry(sl.entry))
		}
		if cbErr != nil {
			cancel()
		}
	}
	wg.Wait()
	if cbErr != nil {
		return cbErr
	}
	return walkErr
}

// unknownEntry describes a walk entry that is not a recording.
func unknownEntry(e layout.Entry) *Unknown {
	u := &Unknown{Type: "unknown", Path: e.Path}
	switch e.Kind {
	case layout.KindPartial:
		u.Kind = "partial"
		u.Reason = "unfinished part outside a recording directory (reckit repair completes it)"
	case layout.KindSymlink:
		u.Kind = "symlink"
		u.Reason = "symbolic link, not followed"
	case layout.KindError:
		u.Kind = "error"
		if e.Err != nil {
			u.Reason = e.Err.Error()
		}
	default:
		u.Kind = "file"
		u.Reason = "not a recording"
	}
	if u.Kind != "error" {
		if fi, err := e.Info(); err == nil {
			if fi.IsDir() {
				u.Kind = "dir"
			} else if fi.Mode().IsRegular() {
				u.Bytes = fi.Size()
			}
		}
	}
	return u
}

// CatalogDir describes the recording directory dir from its manifest, the
// sizes of its files and, with opts.Probe, the headers of its parts.
func CatalogDir(dir string, opts CatalogOptions) *Recording {
	rec := &Recording{Type: "recording", Path: dir, Kind: "directory", Verdict: OK, Resolutions: []string{}}
	note := func(v Verdict, msg string) {
		if Worse(v, rec.Verdict) {
			rec.Verdict, rec.Reason = v, msg
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		note(Missing, err.Error())
		return rec
	}
	type fileInfo struct {
		size int64
		mode fs.FileMode
	}
	files := make(map[string]fileInfo, len(ents))
	for _, d := range ents {
		name := d.Name()
		switch name {
		case layout.RecordingLockName, layout.ManifestLockName, layout.SidecarLockName, layout.TreeLockName:
			continue
		}
		fi, err := d.Info()
		if err != nil {
			continue // removed meanwhile
		}
		files[name] = fileInfo{size: fi.Size(), mode: fi.Mode()}
		rec.Files = append(rec.Files, filepath.Join(dir, name))
		if fi.Mode().IsRegular() {
			rec.Bytes += fi.Size()
		}
		if mt := fi.ModTime().UTC(); mt.After(rec.ModTime) {
			rec.ModTime = mt
		}
	}
	held, lerr := layout.RecordingInProgress(dir)
	rec.InProgress = held && lerr == nil
	m, err := layout.Read(dir)
	if err != nil {
		note(Corrupt, "manifest: "+err.Error())
		if name, perr := layout.ParseRecordingName(filepath.Base(dir)); perr == nil {
			rec.Start = name.Start
		}
		rec.End = rec.ModTime
		if rec.InProgress {
			rec.State = layout.StateRecording
		}
		return rec
	}
	rec.Manifest = m
	rec.Device, rec.User, rec.SessionID, rec.Title = m.Device, m.User, m.SessionID, m.Title
	rec.State = m.EffectiveState(rec.InProgress)
	rec.Parts = len(m.Parts)
	rec.Notes = len(m.Notes)
	if m.Lock != nil {
		rec.Locked, rec.LockedBy, rec.LockReason = true, m.Lock.By, m.Lock.Reason
	}
	switch rec.State {
	case layout.StatePurging:
		// Being deleted: missing parts are not damage (docs/layout.md 8).
		rec.Reason = "being deleted by a purge"
		rec.Start, rec.End = m.Start, m.End
		return rec
	case layout.StateRecording:
		note(InProgress, "recording in progress")
	case layout.StateInterrupted:
		if m.State == layout.StateRecording {
			note(Incomplete, "interrupted: the manifest says recording but nobody holds the recording lock")
		} else {
			note(Incomplete, "interrupted: the recorder did not finish it; reckit repair completes it")
		}
	}
	listed := make(map[string]bool, len(m.Parts))
	var sumDur int64
	var res resolutions
	for i := range m.Parts {
		p := &m.Parts[i]
		listed[p.Name] = true
		sumDur += p.DurationMS
		if p.Width > 0 && p.Height > 0 {
			res.add(p.Width, p.Height)
		}
		fi, ok := files[p.Name]
		switch {
		case !ok:
			note(Missing, fmt.Sprintf("part %s: in the manifest, not on disk", p.Name))
			continue
		case !fi.mode.IsRegular():
			note(Corrupt, fmt.Sprintf("part %s: not a regular file", p.Name))
			continue
		case fi.size != p.SizeBytes:
			note(SizeMismatch, fmt.Sprintf("part %s: %d bytes on disk, %d in the manifest", p.Name, fi.size, p.SizeBytes))
		}
		// A part whose manifest entry has its size and frame size is
		// judged by its size: probing every part of thousands of
		// recordings costs more than ls may spend. Parts the manifest
		// knows little about (written by others) are probed.
		if opts.Probe && (p.Width == 0 || p.DurationMS == 0) {
			v, msg, w, h := probePart(filepath.Join(dir, p.Name))
			if v != OK {
				note(v, fmt.Sprintf("part %s: %s", p.Name, msg))
			}
			if p.Width == 0 && w > 0 {
				res.add(w, h)
			}
		}
	}
	if err := m.VerifyChain(); err != nil && m.Chain != "" {
		note(ChecksumMismatch, "hash chain: "+err.Error())
	}
	for name := range files {
		if listed[name] || name == layout.ManifestName || layout.IsTempName(name) {
			continue
		}
		if layout.IsPartial(name) {
			if rec.InProgress {
				continue // the part being written
			}
			note(Incomplete, fmt.Sprintf("unfinished part %s: the recorder did not close it; reckit repair completes it", name))
			continue
		}
		note(Orphan, fmt.Sprintf("%s: on disk, not in the manifest", name))
	}
	if res.list != nil {
		rec.Resolutions = res.list
	}
	rec.DurationMS = sumDur
	rec.Start = m.Start
	if rec.Start.IsZero() && len(m.Parts) > 0 {
		rec.Start = m.Parts[0].Start
	}
	if rec.Start.IsZero() {
		if name, perr := layout.ParseRecordingName(filepath.Base(dir)); perr == nil {
			rec.Start = name.Start
		}
	}
	rec.End = m.End
	if rec.End.IsZero() && len(m.Parts) > 0 {
		rec.End = m.Parts[len(m.Parts)-1].End
	}
	if rec.End.IsZero() && !rec.Start.IsZero() && sumDur > 0 {
		rec.End = rec.Start.Add(time.Duration(sumDur) * time.Millisecond)
	}
	if rec.End.IsZero() {
		rec.End = rec.ModTime
	}
	if rec.DurationMS == 0 && !rec.Start.IsZero() && !m.End.IsZero() {
		rec.DurationMS = m.End.Sub(rec.Start).Milliseconds()
	}
	return rec
}

// CatalogFile describes the plain WebM file path with its sidecar manifest
// (sidecar is its path, "" when there is none).
func CatalogFile(path, sidecar string, opts CatalogOptions) *Recording {
	rec := &Recording{Type: "recording", Path: path, Kind: "file", Verdict: OK, Parts: 1, Resolutions: []string{}}
	note := func(v Verdict, msg string) {
		if Worse(v, rec.Verdict) {
			rec.Verdict, rec.Reason = v, msg
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		note(Missing, err.Error())
		return rec
	}
	rec.Files = []string{path}
	rec.Bytes = fi.Size()
	rec.ModTime = fi.ModTime().UTC()
	var m *layout.Manifest
	if sidecar != "" {
		rec.Files = append(rec.Files, sidecar)
		if st, err := os.Stat(sidecar); err == nil {
			rec.Bytes += st.Size()
			if mt := st.ModTime().UTC(); mt.After(rec.ModTime) {
				rec.ModTime = mt
			}
		}
		m, err = layout.ReadFile(sidecar)
		if err != nil {
			note(Corrupt, "sidecar manifest: "+err.Error())
			m = nil
		}
	}
	var res resolutions
	if m != nil {
		rec.Manifest = m
		rec.Device, rec.User, rec.SessionID, rec.Title = m.Device, m.User, m.SessionID, m.Title
		rec.State = m.EffectiveState(false)
		rec.Notes = len(m.Notes)
		if m.Lock != nil {
			rec.Locked, rec.LockedBy, rec.LockReason = true, m.Lock.By, m.Lock.Reason
		}
		rec.Start, rec.End = m.Start, m.End
		if len(m.Parts) == 1 {
			p := m.Parts[0]
			rec.DurationMS = p.DurationMS
			if p.Width > 0 {
				res.add(p.Width, p.Height)
			}
			if p.SizeBytes != fi.Size() {
				note(SizeMismatch, fmt.Sprintf("%d bytes on disk, %d in the sidecar manifest", fi.Size(), p.SizeBytes))
			}
		}
	}
	if opts.Probe {
		rep, err := probeFile(path)
		switch {
		case err != nil:
			note(Missing, err.Error())
		default:
			if rep.Verdict != OK {
				note(rep.Verdict, rep.Reason)
			}
			if rep.DateUTC != nil && rec.Start.IsZero() {
				rec.Start = rep.DateUTC.UTC()
			}
			if rec.DurationMS == 0 {
				rec.DurationMS = rep.DurationMS
			}
			for _, t := range rep.Tracks {
				if t.Kind == "video" && t.Width > 0 {
					res.add(t.Width, t.Height)
					break
				}
			}
			for _, tg := range rep.Tags {
				switch {
				case tg.Name == mux.TagDevice && rec.Device == "":
					rec.Device = tg.Value
				case tg.Name == mux.TagUser && rec.User == "":
					rec.User = tg.Value
				case tg.Name == mux.TagSession && rec.SessionID == "":
					rec.SessionID = tg.Value
				}
			}
			if rec.Title == "" {
				rec.Title = rep.Title
			}
		}
	}
	if res.list != nil {
		rec.Resolutions = res.list
	}
	if rec.End.IsZero() && !rec.Start.IsZero() && rec.DurationMS > 0 {
		rec.End = rec.Start.Add(time.Duration(rec.DurationMS) * time.Millisecond)
	}
	if rec.End.IsZero() {
		rec.End = rec.ModTime
	}
	return rec
}

// probeFile opens path and probes its headers.
func probeFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Probe(path, f, st.Size())
}

// probePart probes one part of a recording directory and returns its
// verdict, the reason and the video track's size from the headers.
func probePart(path string) (Verdict, string, int, int) {
	rep, err := probeFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Missing, "removed while listing", 0, 0
		}
		return Corrupt, err.Error(), 0, 0
	}
	w, h := 0, 0
	for _, t := range rep.Tracks {
		if t.Kind == "video" {
			w, h = t.Width, t.Height
			break
		}
	}
	return rep.Verdict, rep.Reason, w, h
}

// resolutions collects distinct "WxH" strings in order of appearance.
type resolutions struct{ list []string }

func (r *resolutions) add(w, h int) {
	s := fmt.Sprintf("%dx%d", w, h)
	for _, x := range r.list {
		if x == s {
			return
		}
	}
	r.list = append(r.list, s)
}

// ResolutionString returns the resolutions joined with commas, for tables.
func (r *Recording) ResolutionString() string { return strings.Join(r.Resolutions, ",") }

// CatalogSummary totals a listing: what `reckit ls --json` prints last
// (type "summary").
type CatalogSummary struct {
	Type          string           `json:"type"`       // "summary"
	Recordings    int              `json:"recordings"` // matched
	Shown         int              `json:"shown"`      // printed (after --limit)
	More          int              `json:"more"`       // matched, not printed
	Parts         int              `json:"parts"`
	Bytes         int64            `json:"bytes"`
	BytesByDevice map[string]int64 `json:"bytes_by_device"`
	Filesystems   []FilesystemFree `json:"filesystems"`
}

// FilesystemFree is the free space of the filesystem holding a root.
type FilesystemFree struct {
	Path      string `json:"path"`
	FreeBytes int64  `json:"free_bytes"` // -1 when unknown
}

// NewCatalogSummary returns an empty summary.
func NewCatalogSummary() *CatalogSummary {
	return &CatalogSummary{Type: "summary", BytesByDevice: map[string]int64{}, Filesystems: []FilesystemFree{}}
}

// Add counts one recording.
func (s *CatalogSummary) Add(r *Recording) {
	s.Recordings++
	s.Parts += r.Parts
	s.Bytes += r.Bytes
	s.BytesByDevice[r.Device] += r.Bytes
}
