package main

import (
	"bufio"
	"container/heap"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime/debug"

	"github.com/reckit/reckit/inspect"
)

// lsSpillThreshold is how many matched recordings ls sorts in memory
// (about 1.6 KiB each). Beyond it, each batch of that many is sorted and
// written to a temporary file as a run, and the runs are merged while the
// output is written, so ls's memory stays bounded whatever the tree size.
// A variable so that tests can force the spill path.
var lsSpillThreshold = 4096

// lsSpillFanIn is how many runs are merged at once. With more runs, the
// first lsSpillFanIn are merged into one run first (a multi-pass merge),
// so the merge holds at most this many decoders and head records (some
// 50 KiB each). 128 merges 500,000 recordings in one pass; 1,000,000
// synthetic ones sort in 6 s with a 28 MiB peak RSS and a 330 MiB
// temporary file (gob runs are some 220 bytes a recording).
var lsSpillFanIn = 128

// lsGCPercent and lsMemoryLimit tune the collector for ls unless the user
// set GOGC or GOMEMLIMIT. Its live heap is small and bounded (one spill
// batch), while cataloguing makes much short-lived garbage: at the default
// GOGC=100 the collector ran 1097 cycles over 100,000 recordings (170 when
// the whole tree stayed in memory), some 20% more wall time. GOGC=200
// halves that (441) for a peak RSS of about 30 MiB instead of 23 MiB; the
// soft limit keeps the peak under 64 MiB should the live heap grow (a big
// terminal table).
const (
	lsGCPercent   = 200
	lsMemoryLimit = 48 << 20
)

// tuneLsGC applies them and returns a function that restores the previous
// settings.
func tuneLsGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(lsGCPercent)
	limit := debug.SetMemoryLimit(lsMemoryLimit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}

// lsSorter orders recordings as sortRecordings does, in bounded memory: an
// external merge sort. Runs are gob streams, not JSON: gob keeps strings
// byte for byte (paths need not be UTF-8) and times to the nanosecond.
//
// The temporary file is created in os.TempDir() and unlinked at once, so
// nothing is left behind even on a crash; close closes it.
type lsSorter struct {
	key     string
	reverse bool
	recs    []*inspect.Recording // the batch not yet spilled, at most lsSpillThreshold
	f       *os.File             // the runs, nil until the first spill
	end     int64                // the end of the data in f
	runs    []lsRun              // in input order, so that ties stay stable
}

// lsRun is one sorted gob stream of spillRecords in the temporary file.
type lsRun struct {
	off, size int64
}

// spillRecord is a Recording as written to a run. Gob sends no empty
// slices, so EmptyResolutions tells an empty non-nil Resolutions (JSON
// "[]") from a nil one (JSON null).
type spillRecord struct {
	R                *inspect.Recording
	EmptyResolutions bool
}

func newLsSorter(key string, reverse bool) *lsSorter {
	return &lsSorter{key: key, reverse: reverse}
}

// add takes r; r must not change afterwards. Files and Manifest are not
// kept once spilled: ls drops them before adding.
func (s *lsSorter) add(r *inspect.Recording) error {
	s.recs = append(s.recs, r)
	if len(s.recs) >= lsSpillThreshold {
		return s.spill()
	}
	return nil
}

// spill sorts the batch in memory and writes it as a run.
func (s *lsSorter) spill() error {
	if s.f == nil {
		f, err := os.CreateTemp("", "reckit-ls-*")
		if err != nil {
			return fmt.Errorf("sorting recordings: %w", err)
		}
		// Unlinked at once: the file lives until it is closed.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return fmt.Errorf("sorting recordings: %w", err)
		}
		s.f = f
	}
	sortRecordings(s.recs, s.key, s.reverse)
	err := s.writeRun(func(yield func(*inspect.Recording) bool) {
		for _, r := range s.recs {
			if !yield(r) {
				return
			}
		}
	})
	clear(s.recs) // let the spilled recordings go
	s.recs = s.recs[:0]
	return err
}

// writeRun appends the recordings of seq, which must be in order, to the
// file as a new run.
func (s *lsSorter) writeRun(seq iter.Seq[*inspect.Recording]) error {
	cw := &countWriter{w: io.NewOffsetWriter(s.f, s.end)}
	bw := bufio.NewWriterSize(cw, 64<<10)
	enc := gob.NewEncoder(bw)
	for r := range seq {
		if err := enc.Encode(spillRecord{R: r, EmptyResolutions: r.Resolutions != nil && len(r.Resolutions) == 0}); err != nil {
			return fmt.Errorf("sorting recordings: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sorting recordings: %w", err)
	}
	s.runs = append(s.runs, lsRun{off: s.end, size: cw.n})
	s.end += cw.n
	return nil
}

// all yields the recordings in order. Call it once, after the last add.
func (s *lsSorter) all() iter.Seq2[*inspect.Recording, error] {
	return func(yield func(*inspect.Recording, error) bool) {
		if len(s.runs) == 0 {
			// Everything fit in memory: no file at all.
			sortRecordings(s.recs, s.key, s.reverse)
			for _, r := range s.recs {
				if !yield(r, nil) {
					return
				}
			}
			return
		}
		if len(s.recs) > 0 {
			if err := s.spill(); err != nil {
				yield(nil, err)
				return
			}
		}
		s.recs = nil
		// Merge the first lsSpillFanIn runs into one until the rest can be
		// merged at once. The merged run takes their place at the front,
		// so the runs stay in input order.
		for len(s.runs) > max(lsSpillFanIn, 2) {
			first := s.runs[:max(lsSpillFanIn, 2)]
			rest := append([]lsRun(nil), s.runs[len(first):]...)
			var mergeErr error
			err := s.writeRun(func(yield func(*inspect.Recording) bool) {
				for r, err := range s.merge(first) {
					if err != nil {
						mergeErr = err
						return
					}
					if !yield(r) {
						return
					}
				}
			})
			if err = errors.Join(mergeErr, err); err != nil {
				yield(nil, err)
				return
			}
			merged := s.runs[len(s.runs)-1]
			s.runs = append([]lsRun{merged}, rest...)
		}
		for r, err := range s.merge(s.runs) {
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// merge yields the records of runs in order; on a tie the earlier run
// comes first, as with a stable sort.
func (s *lsSorter) merge(runs []lsRun) iter.Seq2[*inspect.Recording, error] {
	return func(yield func(*inspect.Recording, error) bool) {
		h := &lsMergeHeap{key: s.key, reverse: s.reverse}
		for i, run := range runs {
			c := &lsCursor{run: i, dec: gob.NewDecoder(bufio.NewReaderSize(io.NewSectionReader(s.f, run.off, run.size), 8<<10))}
			ok, err := c.next()
			if err != nil {
				yield(nil, err)
				return
			}
			if ok {
				h.cursors = append(h.cursors, c)
			}
		}
		heap.Init(h)
		for len(h.cursors) > 0 {
			c := h.cursors[0]
			if !yield(c.rec, nil) {
				return
			}
			ok, err := c.next()
			if err != nil {
				yield(nil, err)
				return
			}
			if ok {
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
		}
	}
}

// close removes the temporary file (already unlinked: closing frees it).
func (s *lsSorter) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// lsCursor reads one run.
type lsCursor struct {
	run int // the run's index, for ties
	dec *gob.Decoder
	rec *inspect.Recording
}

// next reads the next record into c.rec; false at the end of the run.
func (c *lsCursor) next() (bool, error) {
	var sr spillRecord
	if err := c.dec.Decode(&sr); err != nil {
		c.rec = nil
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("sorting recordings: reading back: %w", err)
	}
	if sr.R == nil {
		return false, errors.New("sorting recordings: reading back: empty record")
	}
	if sr.EmptyResolutions {
		sr.R.Resolutions = []string{}
	}
	c.rec = sr.R
	return true, nil
}

// lsMergeHeap is a min-heap of cursors by their current record
// (container/heap).
type lsMergeHeap struct {
	key     string
	reverse bool
	cursors []*lsCursor
}

func (h *lsMergeHeap) Len() int { return len(h.cursors) }

func (h *lsMergeHeap) Less(i, j int) bool {
	a, b := h.cursors[i], h.cursors[j]
	if c := compareRecordings(a.rec, b.rec, h.key, h.reverse); c != 0 {
		return c < 0
	}
	return a.run < b.run
}

func (h *lsMergeHeap) Swap(i, j int) { h.cursors[i], h.cursors[j] = h.cursors[j], h.cursors[i] }
func (h *lsMergeHeap) Push(x any)    { h.cursors = append(h.cursors, x.(*lsCursor)) }

func (h *lsMergeHeap) Pop() any {
	c := h.cursors[len(h.cursors)-1]
	h.cursors[len(h.cursors)-1] = nil
	h.cursors = h.cursors[:len(h.cursors)-1]
	return c
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
