package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/reckit/reckit/record/layout"
)

// Result statuses.
const (
	StatusKept    = "kept"    // the plan keeps it; nothing was done
	StatusPlanned = "planned" // a dry run: it would be deleted
	StatusDeleted = "deleted" // deleted
	StatusFailed  = "failed"  // the deletion failed; see Error
)

// Result is what became of one recording of a plan. It is the JSON object
// purge writes per recording (type "purge", docs/json.md): the decision,
// plus status, freed bytes and error.
type Result struct {
	Decision
	Status     string `json:"status"`
	FreedBytes int64  `json:"freed_bytes"`
	Error      string `json:"error,omitempty"`
}

// Summary totals an execution. It is purge's last JSON object (type
// "purge_summary").
type Summary struct {
	Type         string   `json:"type"` // "purge_summary"
	DryRun       bool     `json:"dry_run"`
	Recordings   int      `json:"recordings"`
	Kept         int      `json:"kept"`
	KeptBytes    int64    `json:"kept_bytes"`
	Planned      int      `json:"planned"` // deletions in the plan
	PlannedBytes int64    `json:"planned_bytes"`
	Deleted      int      `json:"deleted"`
	FreedBytes   int64    `json:"freed_bytes"`
	Failed       int      `json:"failed"`
	NotDone      int      `json:"not_done"` // planned deletions left undone by an interruption
	Unknown      int      `json:"unknown"`  // entries that are not recordings (filled by the caller)
	Unmet        []string `json:"unmet"`
}

// LogEntry is one line of the audit log (--log): a deletion, done or
// failed.
type LogEntry struct {
	Type           string    `json:"type"` // "purge_log"
	Time           time.Time `json:"time"` // when the deletion finished
	Who            string    `json:"who"`
	Path           string    `json:"path"`
	Kind           string    `json:"kind"`
	Device         string    `json:"device"`
	User           string    `json:"user"`
	End            time.Time `json:"end"`
	Bytes          int64     `json:"bytes"` // freed
	ManifestSHA256 string    `json:"manifest_sha256"`
	Rule           Rule      `json:"rule"`
	Reason         string    `json:"reason"`
	Status         string    `json:"status"` // deleted or failed
	Error          string    `json:"error,omitempty"`
}

// Options control Execute.
type Options struct {
	// DryRun reports every deletion as planned and changes nothing.
	DryRun bool
	// Now is the clock for purge_started_time and the log; nil is
	// time.Now.
	Now func() time.Time
	// Who names who purges, for the audit log ("root@host").
	Who string
	// Log, if not nil, receives one LogEntry JSON line per deletion,
	// each in a single Write (so O_APPEND files stay line-atomic).
	// Execute does not close or sync it.
	Log io.Writer

	// Workers is how many recordings are deleted at once (0:
	// DefaultWorkers). Deleting is mostly waiting for fsync, which
	// overlaps; results are still reported in plan order.
	Workers int

	// Test seams: nil means the layout package's function.
	markPurging func(dir string, now time.Time) error
	afterMark   func(path string) error // between marking and removal; an error stops Execute as a crash would
	removeDir   func(dir string) (int64, error)
	removeFile  func(path string) (int64, error)
}

// DefaultWorkers is the number of recordings Execute deletes at once by
// default.
const DefaultWorkers = 8

// ErrNotRecording reports a planned path that is no longer what the plan
// saw (a directory replaced by a symbolic link, a file by a directory).
var ErrNotRecording = errors.New("retention: not a recording any more")

// errStopped marks a deletion that was never handed to a worker.
var errStopped = errors.New("retention: stopped")

// errCrash is returned by a test's afterMark hook to simulate a crash.
var errCrash = errors.New("retention: simulated crash")

// Execute carries plan out in order and calls fn with each recording's
// Result as soon as it is done (kept recordings included). A recording
// directory is deleted with the purge protocol of docs/layout.md: marked
// purging under its manifest lock (which refuses a locked or in-progress
// recording, re-checked now), then its parts and other files, then the
// manifest and the directory. A plain file is deleted with its sidecar
// (refused if the sidecar is locked). A failed deletion is reported in its
// Result and counted; Execute goes on with the next one.
//
// Up to Options.Workers recordings are deleted at once; results, log lines
// and fn calls still come in plan order. Cancelling ctx lets the
// deletions under way finish (and be reported), then Execute stops and
// returns the summary so far and ctx's error; the deletions not started
// count as NotDone. An error from fn or from writing the log stops Execute
// too.
func Execute(ctx context.Context, plan Plan, opts Options, fn func(Result) error) (Summary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.markPurging == nil {
		opts.markPurging = layout.MarkPurging
	}
	// Recordings are removed without syncing their parent directory each
	// time; every parent is synced once when Execute ends.
	var (
		parentsMu sync.Mutex
		parents   = map[string]bool{}
	)
	if opts.removeDir == nil {
		opts.removeDir = func(dir string) (int64, error) {
			freed, err := layout.RemoveRecordingUnsynced(dir)
			if err == nil {
				parentsMu.Lock()
				parents[filepath.Dir(dir)] = true
				parentsMu.Unlock()
			}
			return freed, err
		}
		defer func() {
			for p := range parents {
				layout.SyncDir(p)
			}
		}()
	}
	if opts.removeFile == nil {
		opts.removeFile = layout.RemovePlainFile
	}
	s := Summary{Type: "purge_summary", DryRun: opts.DryRun, Recordings: len(plan.Decisions),
		Kept: plan.Kept, KeptBytes: plan.KeptBytes, Planned: plan.Deleted, PlannedBytes: plan.DeleteBytes,
		Unmet: plan.Unmet}
	if s.Unmet == nil {
		s.Unmet = []string{}
	}
	var enc *json.Encoder
	if opts.Log != nil {
		enc = json.NewEncoder(opts.Log)
		enc.SetEscapeHTML(false)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}

	// A producer hands deletions to the workers and queues every decision,
	// in plan order, in window; this goroutine takes them from window in
	// order, waits for each to be done and reports it. window bounds the
	// work in flight, so memory does not grow with the plan.
	type slot struct {
		r    Result
		sum  string
		err  error
		done chan struct{}
	}
	var (
		window  = make(chan *slot, 2*workers)
		jobs    = make(chan *slot)
		stop    = make(chan struct{}) // closed when reporting fails or a crash is simulated
		started int                   // deletions handed to the workers; read after wg.Wait
		through bool                  // the producer went through the whole plan
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sl := range jobs {
				sl.sum, sl.r.FreedBytes, sl.err = deleteOne(sl.r.Decision, &opts)
				close(sl.done)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(window)
		defer close(jobs)
		for _, d := range plan.Decisions {
			sl := &slot{r: Result{Decision: d, Status: StatusKept}, done: make(chan struct{})}
			work := d.Action == Delete && !opts.DryRun
			if d.Action == Delete {
				if ctx.Err() != nil {
					return
				}
				if opts.DryRun {
					sl.r.Status = StatusPlanned
				}
			}
			if !work {
				close(sl.done)
			}
			select {
			case window <- sl:
			case <-stop:
				return
			}
			if work {
				select {
				case jobs <- sl:
					started++
				case <-stop:
					sl.err = errStopped
					close(sl.done)
					return
				}
			}
		}
		through = true
	}()

	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
			close(stop)
		}
	}
	for sl := range window {
		<-sl.done
		r := &sl.r
		if r.Action == Delete && !opts.DryRun {
			switch {
			case errors.Is(sl.err, errStopped):
				continue
			case errors.Is(sl.err, errCrash):
				fail(sl.err)
				s.NotDone++
				continue
			}
			s.FreedBytes = sat(s.FreedBytes, r.FreedBytes)
			if sl.err != nil {
				r.Status, r.Error = StatusFailed, sl.err.Error()
				s.Failed++
			} else {
				r.Status = StatusDeleted
				s.Deleted++
			}
			if enc != nil {
				e := LogEntry{Type: "purge_log", Time: opts.Now().UTC(), Who: opts.Who, Path: r.Path, Kind: r.Kind,
					Device: r.Device, User: r.User, End: r.End, Bytes: r.FreedBytes, ManifestSHA256: sl.sum,
					Rule: r.Rule, Reason: r.Reason, Status: r.Status, Error: r.Error}
				if err := enc.Encode(e); err != nil {
					fail(fmt.Errorf("retention: audit log: %w", err))
				}
			}
		}
		if fn != nil && firstErr == nil {
			if err := fn(*r); err != nil {
				fail(err)
			}
		}
	}
	wg.Wait()
	s.NotDone += plan.Deleted - started
	if opts.DryRun {
		s.NotDone = 0
	}
	if firstErr != nil {
		return s, firstErr
	}
	if err := ctx.Err(); err != nil && !through {
		return s, fmt.Errorf("retention: purge stopped: %w", err)
	}
	return s, nil
}

// deleteOne deletes the recording of d and returns the SHA-256 of its
// manifest (or sidecar) as it was before (only with a log to write it to),
// and the bytes freed.
func deleteOne(d Decision, opts *Options) (sum string, freed int64, err error) {
	st, err := os.Lstat(d.Path)
	if err != nil {
		return "", 0, fmt.Errorf("retention: %w", err)
	}
	switch d.Kind {
	case "directory":
		if !st.IsDir() {
			return "", 0, fmt.Errorf("%w: %s is not a directory", ErrNotRecording, d.Path)
		}
		if opts.Log != nil {
			if sum, err = hashManifest(layout.ManifestPath(d.Path)); err != nil {
				return "", 0, err
			}
		}
		if err := opts.markPurging(d.Path, opts.Now()); err != nil {
			return sum, 0, fmt.Errorf("retention: %w", err)
		}
		if opts.afterMark != nil {
			if err := opts.afterMark(d.Path); err != nil {
				return sum, 0, err
			}
		}
		freed, err = opts.removeDir(d.Path)
	case "file":
		if !st.Mode().IsRegular() {
			return "", 0, fmt.Errorf("%w: %s is not a regular file", ErrNotRecording, d.Path)
		}
		if opts.Log != nil {
			sum, err = hashManifest(layout.SidecarPath(d.Path))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", 0, err
			}
		}
		freed, err = opts.removeFile(d.Path)
	default:
		return "", 0, fmt.Errorf("%w: %s has unknown kind %q", ErrNotRecording, d.Path, d.Kind)
	}
	if err != nil {
		return sum, freed, fmt.Errorf("retention: %w", err)
	}
	return sum, freed, nil
}

// hashManifest returns the SHA-256 of the manifest file at path, read up
// to layout.MaxManifestSize; "" and an error wrapping fs.ErrNotExist when
// there is none.
func hashManifest(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("retention: %w", err)
	}
	if err != nil {
		return "", fmt.Errorf("retention: manifest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, layout.MaxManifestSize+1))
	if err != nil {
		return "", fmt.Errorf("retention: manifest: %w", err)
	}
	if n > layout.MaxManifestSize {
		return "", fmt.Errorf("retention: %s: %w", path, layout.ErrManifestTooLarge)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
