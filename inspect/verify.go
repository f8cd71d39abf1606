package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/reckit/reckit/record/layout"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Deep adds the per-frame checks of ScanOptions.Deep.
	Deep bool
	// MaxGap is the gap between frames that Deep reports (0: none).
	MaxGap time.Duration
	// Strict makes unseekable a failure (Acceptable(true)).
	Strict bool
	// NoHash skips the SHA-256: structure and sizes only. A changed
	// payload byte then goes unseen.
	NoHash bool
	// Jobs is how many files are verified at once; below 1 means 1.
	Jobs int
	// Progress, if set, is called with the bytes read so far over all files
	// (from the worker goroutines, serialized).
	Progress func(done int64)
}

// PartResult is verify's verdict on one file of a recording: a part listed
// in the manifest, a file the manifest does not know, or a plain WebM file.
// JSON type "part" (docs/json.md).
type PartResult struct {
	Type           string    `json:"type"`      // "part"
	Recording      string    `json:"recording"` // the recording's path
	Path           string    `json:"path"`
	Bytes          int64     `json:"bytes"`                    // on disk; 0 when missing
	ExpectedBytes  *int64    `json:"expected_bytes,omitempty"` // from the manifest
	SHA256         string    `json:"sha256,omitempty"`
	ExpectedSHA256 string    `json:"expected_sha256,omitempty"`
	Verdict        Verdict   `json:"verdict"`
	Reason         string    `json:"reason,omitempty"`
	Offset         *int64    `json:"offset,omitempty"`
	DurationMS     int64     `json:"duration_ms"`
	Frames         int64     `json:"frames"`
	Findings       []Finding `json:"findings"`
}

// RecordingResult is verify's verdict on one recording: the worst of its
// parts and of the manifest checks (missing parts, hash chain, state).
// JSON type "recording".
type RecordingResult struct {
	Type     string    `json:"type"` // "recording"
	Path     string    `json:"path"`
	Kind     string    `json:"kind"`  // "directory" or "file"
	State    string    `json:"state"` // effective manifest state, "" without a manifest
	Verdict  Verdict   `json:"verdict"`
	Reason   string    `json:"reason,omitempty"`
	Parts    int       `json:"parts"` // files checked, missing ones included
	Bytes    int64     `json:"bytes"` // bytes read
	Locked   bool      `json:"locked"`
	Notes    int       `json:"notes"`
	Findings []Finding `json:"findings"`
}

// add records a recording-level finding.
func (r *RecordingResult) add(v Verdict, msg string) {
	r.Findings = append(r.Findings, Finding{Verdict: v, Message: msg})
	if Worse(v, r.Verdict) {
		r.Verdict, r.Reason = v, msg
	}
}

// VerifySummary closes verify's output. JSON type "summary".
type VerifySummary struct {
	Type       string          `json:"type"` // "summary"
	Recordings int             `json:"recordings"`
	Parts      int             `json:"parts"`
	Bytes      int64           `json:"bytes"`
	Invalid    int             `json:"invalid"` // recordings whose verdict is not acceptable
	Verdicts   map[Verdict]int `json:"verdicts"`
	Strict     bool            `json:"strict"`
}

// acceptable reports whether v passes verify under strict; recording (in
// progress) passes too: it is not damage.
func acceptable(v Verdict, strict bool) bool {
	return v.Acceptable(strict) || v == InProgress
}

// Passes reports whether the recording passes verify.
func (r *RecordingResult) Passes(strict bool) bool { return acceptable(r.Verdict, strict) }

// Verify checks every recording under roots: each file is read once, its
// structure walked and its SHA-256 computed in the same pass (Scan), and
// compared with the manifest (size, sha256, hash chain, missing and orphan
// parts, state). Up to opts.Jobs files are read at once; results are
// delivered in walk order, each recording's parts (a *PartResult) before
// the recording (a *RecordingResult), through emit, which is called from
// one goroutine at a time. Unknown entries (not recordings) go to unknown
// if it is set. Memory is bounded by Jobs, not by the tree or file sizes.
func Verify(ctx context.Context, roots []string, opts VerifyOptions, emit func(any) error, unknown func(*Unknown) error) (*VerifySummary, error) {
	jobs := max(opts.Jobs, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sum := &VerifySummary{Type: "summary", Verdicts: map[Verdict]int{}, Strict: opts.Strict}

	type item struct {
		part *partTask        // a file to verify
		rec  *RecordingResult // end of a recording: emit it
		unk  *Unknown
	}
	work := make(chan *partTask)
	order := make(chan item, jobs*2)
	var progMu sync.Mutex
	var done int64
	progress := func(delta int64) {
		if opts.Progress == nil {
			return
		}
		progMu.Lock()
		done += delta
		opts.Progress(done)
		progMu.Unlock()
	}
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				t.run(ctx, opts, progress)
				close(t.done)
			}
		}()
	}
	var walkErr error
	go func() {
		defer close(order)
		defer close(work)
		walkErr = Catalog(ctx, roots, CatalogOptions{}, func(rec *Recording) error {
			res, tasks := planRecording(rec)
			for _, t := range tasks {
				if t.needsRead {
					select {
					case order <- item{part: t}:
					case <-ctx.Done():
						return ctx.Err()
					}
					select {
					case work <- t:
					case <-ctx.Done():
						close(t.done) // nobody will run it
						return ctx.Err()
					}
				} else {
					close(t.done)
					select {
					case order <- item{part: t}:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
			select {
			case order <- item{rec: res}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}, func(u *Unknown) error {
			if unknown == nil {
				return nil
			}
			select {
			case order <- item{unk: u}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
	}()
	var emitErr error
	for it := range order {
		if emitErr != nil {
			continue // drain
		}
		switch {
		case it.part != nil:
			select {
			case <-it.part.done:
			case <-ctx.Done():
				emitErr = ctx.Err()
				continue
			}
			if it.part.err != nil {
				emitErr = it.part.err
				cancel()
				continue
			}
			r := it.part.res
			it.part.owner.fold(r)
			sum.Parts++
			sum.Bytes += r.Bytes
			emitErr = emit(r)
		case it.rec != nil:
			sum.Recordings++
			sum.Verdicts[it.rec.Verdict]++
			if !it.rec.Passes(opts.Strict) {
				sum.Invalid++
			}
			emitErr = emit(it.rec)
		case it.unk != nil:
			emitErr = unknown(it.unk)
		}
		if emitErr != nil {
			cancel()
		}
	}
	wg.Wait()
	switch {
	case emitErr != nil:
		return sum, emitErr
	case walkErr != nil:
		return sum, walkErr
	}
	return sum, ctx.Err()
}

// partTask is one file of a recording to verify.
type partTask struct {
	owner      *RecordingResult
	path       string
	manifest   *layout.Part // nil when the manifest does not list it
	inProgress bool         // the recording is being recorded
	partial    bool         // a .partial file
	needsRead  bool
	done       chan struct{}
	res        *PartResult
	err        error // operational: the file could not be read
}

// fold takes a part's verdict into its recording.
func (r *RecordingResult) fold(p *PartResult) {
	r.Parts++
	r.Bytes += p.Bytes
	if Worse(p.Verdict, r.Verdict) {
		r.Verdict = p.Verdict
		r.Reason = p.Reason
		if r.Kind == "directory" {
			r.Reason = filepath.Base(p.Path) + ": " + p.Reason
		}
	}
}

// planRecording turns a catalogued recording into the files to read and
// the recording-level findings known from its manifest alone.
func planRecording(rec *Recording) (*RecordingResult, []*partTask) {
	res := &RecordingResult{Type: "recording", Path: rec.Path, Kind: rec.Kind, State: rec.State, Verdict: OK,
		Locked: rec.Locked, Notes: rec.Notes, Findings: []Finding{}}
	m := rec.Manifest
	newTask := func(path string) *partTask {
		return &partTask{owner: res, path: path, inProgress: rec.InProgress, done: make(chan struct{}),
			res: &PartResult{Type: "part", Recording: rec.Path, Path: path, Verdict: OK, Findings: []Finding{}}}
	}
	if rec.Kind == "file" {
		t := newTask(rec.Path)
		t.needsRead = true
		if m != nil && len(m.Parts) == 1 {
			t.manifest = &m.Parts[0]
		} else if m == nil {
			// A part named on its own: check it against its recording's
			// manifest, if it has one.
			if dm, err := layout.Read(filepath.Dir(rec.Path)); err == nil {
				if p, ok := dm.Part(filepath.Base(rec.Path)); ok {
					t.manifest = p
				}
			}
		}
		if rec.Manifest == nil && rec.Verdict == Corrupt {
			res.add(Corrupt, rec.Reason) // unreadable sidecar
		}
		return res, []*partTask{t}
	}
	if m == nil {
		res.add(Corrupt, rec.Reason)
		return res, nil
	}
	switch rec.State {
	case layout.StatePurging:
		res.Findings = append(res.Findings, Finding{Verdict: OK, Message: "being deleted by a purge: not checked"})
		res.Reason = "being deleted by a purge"
		return res, nil
	case layout.StateRecording:
		res.add(InProgress, "recording in progress")
	case layout.StateInterrupted:
		if m.State == layout.StateRecording {
			res.add(Incomplete, "interrupted: the manifest says recording but nobody holds the recording lock")
		} else {
			res.add(Incomplete, "interrupted: the recorder did not finish it; reckit repair completes it")
		}
	}
	if m.Chain != "" {
		if err := m.VerifyChain(); err != nil {
			res.add(ChecksumMismatch, "hash chain broken: "+err.Error())
		}
	}
	var tasks []*partTask
	listed := make(map[string]bool, len(m.Parts))
	for i := range m.Parts {
		p := &m.Parts[i]
		listed[filepath.Join(rec.Path, p.Name)] = true
		t := newTask(filepath.Join(rec.Path, p.Name))
		t.manifest = p
		t.needsRead = true
		tasks = append(tasks, t)
	}
	var extra []string
	for _, f := range rec.Files {
		base := filepath.Base(f)
		if listed[f] || base == layout.ManifestName || layout.IsTempName(base) {
			continue
		}
		extra = append(extra, f)
	}
	sort.Strings(extra)
	for _, f := range extra {
		t := newTask(f)
		base := filepath.Base(f)
		if layout.IsPartial(base) {
			t.partial = true
			t.needsRead = true
		} else {
			t.res.Verdict = Orphan
			t.res.Reason = "on disk, not in the manifest"
			t.res.Findings = append(t.res.Findings, Finding{Verdict: Orphan, Message: t.res.Reason})
			if fi, err := os.Lstat(f); err == nil {
				t.res.Bytes = fi.Size()
			}
		}
		tasks = append(tasks, t)
	}
	return res, tasks
}

// run reads and checks one file.
func (t *partTask) run(ctx context.Context, opts VerifyOptions, progress func(int64)) {
	r := t.res
	p := t.manifest
	if p != nil {
		eb := p.SizeBytes
		r.ExpectedBytes = &eb
		r.ExpectedSHA256 = p.SHA256
	}
	f, err := os.Open(t.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			r.Verdict = Missing
			r.Reason = "in the manifest, not on disk"
			r.Findings = append(r.Findings, Finding{Verdict: Missing, Message: r.Reason})
			return
		}
		t.err = err
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.err = err
		return
	}
	size := st.Size()
	var last int64
	rep, err := Scan(ctx, t.path, io.NewSectionReader(f, 0, size), size, ScanOptions{Hash: !opts.NoHash, Deep: opts.Deep, MaxGap: opts.MaxGap,
		Progress: func(n int64) { progress(n - last); last = n }})
	if err != nil {
		t.err = err
		return
	}
	progress(size - last)
	r.Bytes, r.SHA256 = rep.Bytes, rep.SHA256
	r.DurationMS, r.Frames = rep.DurationMS, rep.Frames
	r.Verdict, r.Reason, r.Offset = rep.Verdict, rep.Reason, rep.Offset
	r.Findings = append(r.Findings, rep.Findings...)
	add := func(v Verdict, off int64, msg string) {
		f := Finding{Verdict: v, Message: msg}
		if off >= 0 {
			f.Offset = ptr(off)
		}
		r.Findings = append(r.Findings, f)
		if Worse(v, r.Verdict) {
			r.Verdict, r.Reason, r.Offset = v, msg, f.Offset
		}
	}
	// A file that grew while it was read is being written.
	grew := false
	if st2, err := os.Stat(t.path); err == nil && (st2.Size() != size || !st2.ModTime().Equal(st.ModTime())) {
		grew = true
	}
	if (t.partial && t.inProgress) || grew {
		// The tail of a file being written is unfinished by nature.
		why := "being written by a running recorder"
		if !t.inProgress {
			why = "changed while it was read (being written)"
		}
		if !r.Verdict.Acceptable(true) || r.Verdict == Unseekable {
			r.Findings = append(r.Findings, Finding{Verdict: OK, Message: fmt.Sprintf("%s (%s) expected: %s", r.Verdict, r.Reason, why)})
		}
		r.Verdict, r.Reason, r.Offset = InProgress, why, nil
		return
	}
	if p == nil {
		return
	}
	if size != p.SizeBytes {
		// The checksum of a file of another size differs anyway: the size
		// says more.
		add(SizeMismatch, -1, fmt.Sprintf("%d bytes on disk, %d in the manifest", size, p.SizeBytes))
		return
	}
	if p.SHA256 != "" && r.SHA256 != "" && r.SHA256 != p.SHA256 {
		add(ChecksumMismatch, -1, "SHA-256 differs from the manifest")
	}
}
