package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows a progress bar on stderr, or does nothing. The zero value
// and a nil *progress are valid no-ops, so commands call its methods
// unconditionally.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress returns a bar for a job of total units (bytes if bytes is
// true; total <= 0 means unknown). The bar exists only when stderr is a
// terminal and neither --quiet nor --json is set; otherwise the result is a
// no-op. Call done when the job ends.
func newProgress(g *globals, description string, total int64, bytes bool) *progress {
	if g.quiet || g.json || !g.io.IsTerminalErr() {
		return &progress{}
	}
	if total <= 0 {
		total = -1 // progressbar's "unknown length" spinner
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(g.io.Err),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionUseANSICodes(true),
	)
	return &progress{bar: bar}
}

// update is the callback libraries call: done of total units so far. A
// changed total (a file still growing) moves the bar's end.
func (p *progress) update(done, total int64) {
	if p == nil || p.bar == nil {
		return
	}
	if total > 0 && total != p.bar.GetMax64() {
		p.bar.ChangeMax64(total)
	}
	_ = p.bar.Set64(done)
}

// reader wraps r so that reading from it advances the bar by the bytes
// read. With no bar it returns r itself.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil || p.bar == nil {
		return r
	}
	return &progressReader{r: r, bar: p.bar}
}

type progressReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		_ = pr.bar.Add64(int64(n))
	}
	return n, err
}

// done finishes and clears the bar. It is safe to call more than once.
func (p *progress) done() {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Finish()
	p.bar = nil
}
