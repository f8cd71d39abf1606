package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/record/layout"
)

// repairRecording finishes, in place, a recording directory that the
// recorder left behind when it died (docs/layout.md, "Part-file protocol"
// and "State machine"): every NAME.webm.partial becomes the complete part
// NAME.webm holding its complete frames, a complete part that the recorder
// committed but did not list is listed, each with its size, SHA-256 and
// hash-chain value, and the manifest's state becomes complete with stop
// reason "crash" and a note saying what was kept and dropped. A .partial
// is removed once its part is committed (what it held beyond the part is
// an incomplete frame, reported); one without a single complete key frame
// is removed and reported as dropped whole.
//
// The recording lock is held throughout, so neither a recorder nor purge
// works on the directory meanwhile; a recording in progress is refused.
// Each step is durable before the next, and rerunning after a crash of
// the repair itself carries on where it stopped.
func repairRecording(ctx context.Context, opts *repairOptions, dir string) ([]*repairRecord, error) {
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
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	// The parts to finish, by final name (names sort by start time).
	partial := map[string]bool{}
	onDisk := map[string]bool{}
	var finals []string
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		final, isPartial := layout.FinalName(name)
		if !isPartial {
			final = name
		}
		if _, err := layout.ParsePartName(final); err != nil {
			continue
		}
		if _, listed := m.Part(final); listed {
			if isPartial {
				return nil, fmt.Errorf("%s: %s is listed in the manifest and %s exists too: remove one by hand", dir, final, name)
			}
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
	slices.Sort(finals)
	var recs []*repairRecord
	var notes []string
	for _, final := range finals {
		if err := ctx.Err(); err != nil {
			return recs, err
		}
		rec, part, err := finishPart(ctx, dir, final, partial[final], onDisk[final], m)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
		notes = append(notes, rec.summary())
		if part != nil {
			if err := layout.Update(dir, func(mm *layout.Manifest) error { return mm.AppendPart(*part) }); err != nil {
				return recs, err
			}
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
	if m.State == layout.StateComplete && len(recs) == 0 {
		return []*repairRecord{{Type: "repair", Path: dir, Before: inspect.OK, Verdict: inspect.OK, Action: "nothing-to-do"}}, nil
	}
	if m.State != layout.StateComplete {
		err := layout.Update(dir, func(mm *layout.Manifest) error {
			if n := len(mm.Parts); n > 0 && mm.Parts[n-1].End.After(mm.End) {
				mm.End = mm.Parts[n-1].End
			}
			mm.StopReason = layout.StopCrash
			text := "reckit repair: the recorder stopped without finishing the recording"
			if len(notes) > 0 {
				text += "; " + strings.Join(notes, "; ")
			}
			mm.AddNote(currentUser(), text, time.Now())
			return mm.SetState(layout.StateComplete)
		})
		if err != nil {
			return recs, err
		}
	}
	return recs, nil
}

// summary says in a few words what happened to one part, for the note.
func (r *repairRecord) summary() string {
	name := filepath.Base(r.Path)
	switch r.Action {
	case "listed":
		return fmt.Sprintf("listed %s (complete, %d frames)", name, r.Frames)
	case "removed":
		return fmt.Sprintf("removed %s (%d bytes, no complete key frame)", name, r.DroppedBytes)
	}
	s := fmt.Sprintf("%s -> %s: kept %d frames (%s)", name, filepath.Base(r.Output), r.Frames, seconds(r.DurationMS))
	if r.DroppedOffset != nil {
		s += fmt.Sprintf(", dropped %d bytes from byte %d", r.DroppedBytes, *r.DroppedOffset)
	}
	return s
}

// finishPart makes final a complete part and returns the entry to list: from
// its .partial (hasPartial), or as it is when only the final file exists. A
// final file next to a .partial comes from an earlier repair that stopped
// before removing the .partial: it is kept when it scans ok.
func finishPart(ctx context.Context, dir, final string, hasPartial, hasFinal bool, m *layout.Manifest) (*repairRecord, *layout.Part, error) {
	finalPath := filepath.Join(dir, final)
	if hasFinal {
		rep, err := scanPath(ctx, finalPath)
		if err != nil {
			return nil, nil, err
		}
		if rep.Verdict != inspect.OK {
			if !hasPartial {
				return nil, nil, withHint(fmt.Errorf("%s: not listed in the manifest, and %s (%s)", finalPath, rep.Verdict, rep.Reason),
					"repair it with -o to a copy, or move it out of the recording directory")
			}
			return nil, nil, fmt.Errorf("%s: %s (%s), and %s exists too: remove one by hand", finalPath, rep.Verdict, rep.Reason, final+partialSuffix)
		}
		rec := &repairRecord{Type: "repair", Path: finalPath, Before: rep.Verdict, Verdict: rep.Verdict, Action: "listed",
			Frames: rep.Frames, DurationMS: rep.DurationMS, Bytes: rep.Bytes}
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
	if before.Verdict == inspect.NotWebM || before.Keyframes == 0 {
		// Killed before its first Cluster was written: nothing to keep.
		zero := int64(0)
		why := "no complete key frame"
		if before.Verdict == inspect.NotWebM {
			why = before.Reason
		}
		return &repairRecord{Type: "repair", Path: src, Before: before.Verdict, Verdict: before.Verdict, Action: "removed",
			DroppedBytes: size, DroppedOffset: &zero, Problem: why}, nil, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	of, err := createOutTemp(finalPath, false)
	if err != nil {
		return nil, nil, err
	}
	defer of.abort()
	// Walked in full: the .partial goes once the part is listed.
	res, after, err := repairInto(ctx, src, f, size, of, finalPath, true)
	if err != nil {
		return nil, nil, err
	}
	if err := of.commit(); err != nil {
		return nil, nil, err
	}
	rec := &repairRecord{Type: "repair", Path: src, Output: finalPath, Before: before.Verdict, Verdict: after.Verdict,
		Action: "repaired", Frames: res.Frames, DurationMS: res.DurationMS, Bytes: res.Bytes}
	if res.DroppedOffset >= 0 {
		off, from := res.DroppedOffset, res.DroppedFromMS
		rec.DroppedOffset, rec.DroppedFromMS, rec.DroppedBytes = &off, &from, res.DroppedBytes
	}
	if res.Problem != nil {
		rec.Problem = res.Problem.Error()
	}
	p, err := partEntry(final, finalPath, after, m)
	return rec, p, err
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
		Monitor: pn.Monitor, Frames: rep.Frames}
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
