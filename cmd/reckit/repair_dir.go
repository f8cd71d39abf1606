package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

// repairRecording finishes, in place, a recording directory that the
// recorder left behind when it died (docs/layout.md, "Part-file protocol"
// and "State machine"): every NAME.webm.partial becomes the complete part
// NAME.webm holding its complete frames, a complete part that the recorder
// committed but did not list is listed, each with its size, SHA-256,
// hash-chain value and a note saying what was kept and dropped, and the
// manifest's state becomes complete with stop reason "crash".
//
// It never deletes anything that holds a frame it did not keep: a .partial
// is removed only when all it held beyond the new part is a cut tail (the
// input ended inside an element), or when it holds no complete key frame
// at all because it was cut before its first one. A .partial damaged in
// the middle is left as it is and reported. A part must come from this
// recording (its RECKIT_SESSION_ID tag) and start after the listed parts.
//
// The recording lock is held throughout, so neither a recorder nor purge
// works on the directory meanwhile; a recording in progress, or under
// legal hold, is refused. Every step is durable before the next (commit
// the part, remove the .partial, list the part with its note), and a rerun
// after a crash of the repair carries on from any state it left.
//
// warn gets what the records do not say: an alpha plane left out, a
// timeline moved to start at 0.
func repairRecording(ctx context.Context, opts *repairOptions, dir string, warn func(format string, a ...any)) ([]*repairRecord, error) {
	if !opts.inPlace {
		return nil, withHint(fmt.Errorf("%s: a recording directory is repaired in place", dir), "use --in-place")
	}
	if _, err := layout.Read(dir); err != nil {
		return nil, fmt.Errorf("%s: not a recording directory: %w", dir, err)
	}
	lock, err := layout.AcquireRecordingLock(dir)
	if err != nil {
		if errors.Is(err, layout.ErrInProgress) {
			return nil, withHint(fmt.Errorf("%s: recording in progress", dir), "repair it after the recorder has stopped")
		}
		return nil, err
	}
	defer lock.Release()
	m, err := layout.Read(dir) // again, under the lock
	if err != nil {
		return nil, err
	}
	if m.Locked() {
		return nil, withHint(fmt.Errorf("%s: locked (legal hold) by %s: repair would rewrite it", dir, m.Lock.By),
			"repair a copy of its .partial files with -o, or reckit unlock it first")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	// The parts to finish, by final name (names sort by start time).
	partial := map[string]bool{}
	onDisk := map[string]bool{}
	var finals, temps []string
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if layout.IsTempName(name) {
			if base := name[:strings.LastIndex(name, ".tmp-")]; isPartName(base) {
				temps = append(temps, name)
			}
			continue
		}
		final, isPartial := layout.FinalName(name)
		if !isPartial {
			final = name
		}
		if !isPartName(final) {
			continue
		}
		_, listed := m.Part(final)
		if listed && !isPartial {
			continue
		}
		if isPartial {
			partial[final] = true
		} else {
			onDisk[final] = true
		}
		if !slices.Contains(finals, final) {
			finals = append(finals, final)
		}
	}
	// An output of an earlier repair that did not finish is never the only
	// copy of anything: the .partial it came from stays until its part is
	// listed.
	for _, name := range temps {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	slices.Sort(finals)
	var recs []*repairRecord
	for _, final := range finals {
		if err := ctx.Err(); err != nil {
			return recs, err
		}
		_, listed := m.Part(final)
		rec, part, err := finishPart(ctx, dir, final, partial[final], onDisk[final] || listed, m, warn)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
		// The part is committed (or was, by an earlier run); list it with
		// its note, then remove the .partial: a kill in between leaves a
		// state the next run finishes, and the note is never lost.
		note := "reckit repair: " + rec.summary()
		err = layout.Update(dir, func(mm *layout.Manifest) error {
			if part != nil {
				if err := mm.AppendPart(*part); err != nil {
					return err
				}
			}
			mm.AddNote(currentUser(), note, time.Now())
			return nil
		})
		if err != nil {
			return recs, err
		}
		if part != nil {
			m.Parts = append(m.Parts, *part)
		}
		if partial[final] {
			if err := os.Remove(filepath.Join(dir, final+partialSuffix)); err != nil {
				return recs, err
			}
			if err := layout.SyncDir(dir); err != nil {
				return recs, err
			}
		}
	}
	if m.State == layout.StateComplete {
		if len(recs) == 0 {
			return []*repairRecord{{Type: "repair", Path: dir, Before: inspect.OK, Verdict: inspect.OK, Action: "nothing-to-do"}}, nil
		}
		return recs, nil
	}
	err = layout.Update(dir, func(mm *layout.Manifest) error {
		if n := len(mm.Parts); n > 0 && mm.Parts[n-1].End.After(mm.End) {
			mm.End = mm.Parts[n-1].End
		}
		mm.StopReason = layout.StopCrash
		mm.AddNote(currentUser(), "reckit repair: the recorder stopped without finishing the recording; marked complete", time.Now())
		return mm.SetState(layout.StateComplete)
	})
	return recs, err
}

// isRecordingDir reports whether dir holds a recording's manifest.
func isRecordingDir(dir string) bool {
	_, err := os.Lstat(layout.ManifestPath(dir))
	return err == nil
}

func isPartName(name string) bool {
	_, err := layout.ParsePartName(name)
	return err == nil
}

// summary says in a few words what happened to one part, for the note.
func (r *repairRecord) summary() string {
	name := filepath.Base(r.Path)
	switch r.Action {
	case "listed":
		return fmt.Sprintf("listed %s (complete, %d frames)", name, r.Frames)
	case "removed":
		return fmt.Sprintf("removed %s (%d bytes, %s)", name, r.DroppedBytes, r.Problem)
	case "verified":
		return fmt.Sprintf("%s is what repairing %s gives (an earlier repair stopped before removing it): removed it", filepath.Base(r.Output), name)
	}
	s := fmt.Sprintf("%s -> %s: kept %d frames (%s)", name, filepath.Base(r.Output), r.Frames, seconds(r.DurationMS))
	if r.DroppedOffset != nil {
		s += fmt.Sprintf(", dropped %d bytes from byte %d: %s", r.DroppedBytes, *r.DroppedOffset, r.Problem)
	}
	return s
}

// finishPart makes final a complete part and returns the entry to list (nil
// when there is nothing to list): from its .partial (hasPartial), or as it
// is when only the final file exists (hasFinal, not yet listed). When both
// exist, the final file is kept only if it is exactly what repairing the
// .partial gives (an earlier repair killed before it removed the
// .partial); otherwise the two differ and repair refuses to choose.
func finishPart(ctx context.Context, dir, final string, hasPartial, hasFinal bool, m *layout.Manifest, warn func(string, ...any)) (*repairRecord, *layout.Part, error) {
	finalPath := filepath.Join(dir, final)
	_, listed := m.Part(final)
	if hasFinal && !hasPartial {
		rep, err := scanPath(ctx, finalPath)
		if err != nil {
			return nil, nil, err
		}
		if rep.Verdict != inspect.OK {
			return nil, nil, withHint(fmt.Errorf("%s: not listed in the manifest, and %s (%s)", finalPath, rep.Verdict, rep.Reason),
				"repair a copy outside the recording directory with -o, or move it out")
		}
		if err := belongs(finalPath, final, rep, m); err != nil {
			return nil, nil, err
		}
		rec := &repairRecord{Type: "repair", Path: finalPath, Before: rep.Verdict, Verdict: rep.Verdict, Action: "listed",
			Frames: videoFrames(rep), DurationMS: rep.DurationMS, Bytes: rep.Bytes}
		p, err := partEntry(final, finalPath, rep, m)
		return rec, p, err
	}
	src := finalPath + partialSuffix
	f, err := os.Open(src)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	before, err := inspect.Scan(ctx, src, f, size, inspect.ScanOptions{})
	if err != nil {
		return nil, nil, err
	}
	if before.Verdict == inspect.InProgress {
		// inspect calls any .partial in progress by its name; nobody
		// writes this one (the recording lock is ours): it is what a
		// crash left.
		before.Verdict = inspect.Incomplete
	}
	damaged := func(why string) error {
		return withHint(fmt.Errorf("%s: %s: left as it is", src, why),
			fmt.Sprintf("recover what precedes the damage into a file outside the recording directory: reckit repair -o OUT %s", src))
	}
	if before.Verdict == inspect.Corrupt || before.Verdict == inspect.NotWebM {
		return nil, nil, damaged(fmt.Sprintf("%s: %s", before.Verdict, before.Reason))
	}
	if before.Keyframes == 0 {
		if hasFinal {
			return nil, nil, withHint(fmt.Errorf("%s: no complete key frame, and %s exists", src, final),
				"compare them and remove one by hand; repair never chooses")
		}
		// Cut before its first key frame was complete (a recorder killed
		// right after it opened the part): nothing in it can be decoded.
		zero := int64(0)
		return &repairRecord{Type: "repair", Path: src, Before: before.Verdict, Verdict: before.Verdict, Action: "removed",
			DroppedBytes: size, DroppedOffset: &zero, Problem: "no complete key frame"}, nil, nil
	}
	if err := belongs(src, final, before, m); err != nil {
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	of, err := createOutTemp(finalPath, hasFinal, st.Mode().Perm())
	if err != nil {
		return nil, nil, err
	}
	defer of.abort()
	// Walked in full: the .partial goes once the part is listed.
	res, after, err := repairInto(ctx, src, f, size, of, finalPath, true)
	if err != nil {
		return nil, nil, err
	}
	if res.Problem != nil && !errors.Is(res.Problem, mux.ErrTruncated) {
		// Frames may follow the damage: keep the .partial, write nothing.
		return nil, nil, damaged(fmt.Sprintf("%v, with %d bytes after it", res.Problem, res.DroppedBytes))
	}
	rec := &repairRecord{Type: "repair", Path: src, Output: finalPath, Before: before.Verdict, Verdict: after.Verdict,
		Action: "repaired", Frames: res.Frames, AudioFrames: res.AudioFrames, DurationMS: res.DurationMS, Bytes: res.Bytes}
	if res.DroppedOffset >= 0 {
		off, from := res.DroppedOffset, res.DroppedFromMS
		rec.DroppedOffset, rec.DroppedFromMS, rec.DroppedBytes = &off, &from, res.DroppedBytes
	}
	if res.Problem != nil {
		rec.Problem = res.Problem.Error()
	}
	if hasFinal {
		// An earlier run made final from this .partial if, and only if,
		// repairing it again gives the same bytes.
		same, err := sameContent(of.File, finalPath)
		if err != nil {
			return nil, nil, err
		}
		if !same {
			return nil, nil, withHint(fmt.Errorf("%s: differs from what repairing %s gives", finalPath, src),
				"compare them and remove one by hand; repair never chooses")
		}
		rec.Action = "verified"
		if listed {
			return rec, nil, nil
		}
		p, err := partEntry(final, finalPath, after, m)
		return rec, p, err
	}
	if err := of.commit(); err != nil {
		return nil, nil, err
	}
	if res.AlphaDropped {
		warn("%s: %s", src, mux.AlphaWarning)
	}
	if res.ShiftMS > 0 {
		warn("%s: starts %d ms before 0: every timestamp moved %d ms later", src, res.ShiftMS, res.ShiftMS)
	}
	p, err := partEntry(final, finalPath, after, m)
	return rec, p, err
}

// sameContent reports whether the file path holds exactly the bytes of f
// (compared by SHA-256).
func sameContent(f *os.File, path string) (bool, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	sum, _, err := layout.HashFile(path)
	if err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}

// belongs checks that the part at path (its report rep) comes from the
// recording of manifest m: the session tag the recorder writes in every
// part, and a start after the parts already listed.
func belongs(path, final string, rep *inspect.Report, m *layout.Manifest) error {
	session := ""
	for _, t := range rep.Tags {
		if t.Name == mux.TagSession {
			session = t.Value
		}
	}
	if session != m.SessionID {
		return withHint(fmt.Errorf("%s: not a part of this recording (session %q, the manifest's %q)", path, session, m.SessionID),
			"move it out of the recording directory")
	}
	if _, listed := m.Part(final); listed {
		return nil // the manifest's own part (its .partial left by a killed repair)
	}
	if n := len(m.Parts); n > 0 {
		pn, _ := layout.ParsePartName(final)
		if !pn.Start.After(m.Parts[n-1].Start) {
			return withHint(fmt.Errorf("%s: starts at %s, not after the last listed part %s", path, pn.Start.Format(time.RFC3339Nano), m.Parts[n-1].Name),
				"move it out of the recording directory")
		}
	}
	return nil
}

// videoFrames is the video track's frame count in rep.
func videoFrames(rep *inspect.Report) int64 {
	for _, t := range rep.Tracks {
		if t.Kind == "video" {
			return t.Frames
		}
	}
	return rep.Frames
}

// scanPath walks the file at path.
func scanPath(ctx context.Context, path string) (*inspect.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return inspect.Scan(ctx, path, f, st.Size(), inspect.ScanOptions{})
}

// partEntry is the manifest entry of the complete part at path, as the
// recorder would have written it: what it cannot know any more (why the
// part began) stays empty, and the nominal frame rate is the previous
// part's.
func partEntry(final, path string, rep *inspect.Report, m *layout.Manifest) (*layout.Part, error) {
	pn, err := layout.ParsePartName(final)
	if err != nil {
		return nil, err
	}
	sum, size, err := layout.HashFile(path)
	if err != nil {
		return nil, err
	}
	p := &layout.Part{Name: final, SizeBytes: size, SHA256: sum, Start: pn.Start,
		End: pn.Start.Add(time.Duration(rep.DurationMS) * time.Millisecond), DurationMS: rep.DurationMS,
		Monitor: pn.Monitor, Frames: videoFrames(rep)}
	for _, t := range rep.Tracks {
		if t.Kind == "video" {
			p.Width, p.Height = t.Width, t.Height
			break
		}
	}
	if n := len(m.Parts); n > 0 {
		p.FPS = m.Parts[n-1].FPS
	} else {
		p.SplitReason = layout.SplitStart
	}
	return p, nil
}
