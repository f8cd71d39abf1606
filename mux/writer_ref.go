package mux

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// This file lets the remuxers (split, join, repair) hand the Writer frames
// that stay in their source file: the Writer records byte ranges instead of
// copying payloads through memory, and writes them when the Cluster ends,
// in the kernel (copy_file_range, through os.File.ReadFrom) when the source
// is an *os.File under an io.SectionReader and the output a regular file.
// A block whose header the Writer would write exactly as the source has it
// (same size field, track number, relative timestamp and flags) is copied with
// its header, and runs of such blocks become one range.

// span is a source byte range inserted in the open Cluster after cbuf[:at].
type span struct {
	at  int
	src *io.SectionReader
	off int64
	n   int64
}

// fileWriter is an output that is a regular file (an *os.File, possibly
// embedded), which can take a range straight from another file.
type fileWriter interface {
	io.ReaderFrom
	Stat() (fs.FileInfo, error)
}

func asFileWriter(w io.Writer) fileWriter {
	fw, ok := w.(fileWriter)
	if !ok {
		return nil
	}
	if st, err := fw.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	return fw
}

// frameRef is a frame whose payload is left in its source.
type frameRef struct {
	src       *io.SectionReader
	off, size int64  // the payload
	head      []byte // the source block's header bytes (nil: not reusable)
	rel       int64  // relative time in the source Cluster (-1: unusable)
	cluster   int64  // offset of the source Cluster
}

// writeRef appends a video frame at ts whose payload stays in its source
// until the Cluster is written. width and height are a key frame's coded
// size (0: unknown).
func (w *Writer) writeRef(ts time.Duration, key bool, width, height int, f *frameRef) error {
	t, err := w.checkFrame(ts, key)
	if err != nil {
		return err
	}
	if key && width > 0 {
		w.width, w.height = width, height
	}
	if w.clusterBreak(t, true, key, f.size, f.cluster) {
		if err := w.openCluster(alignedTS(t, f.rel, w.prevCTS), t); err != nil {
			return err
		}
		w.refCluster = f.cluster
	}
	rel, err := w.rel(t)
	if err != nil {
		return err
	}
	var hb [16]byte
	w.addRef(appendBlockHead(hb[:0], int(f.size), rel, key, 1), f)
	w.account(t, key)
	return nil
}

// addRef adds a block whose header is h and whose payload is f's range:
// when the source's block header is h, the source's block is copied whole,
// joined to the previous range if adjacent.
func (w *Writer) addRef(h []byte, f *frameRef) {
	start, n := f.off, f.size
	if f.head != nil && bytes.Equal(h, f.head) {
		start, n = f.off-int64(len(h)), f.size+int64(len(h))
		if k := len(w.spans) - 1; k >= 0 && w.spans[k].at == len(w.cbuf) && w.spans[k].src == f.src &&
			w.spans[k].off+w.spans[k].n == start {
			w.spans[k].n += n
			w.refBytes += n
			return
		}
	} else {
		w.cbuf = append(w.cbuf, h...)
	}
	w.spans = append(w.spans, span{at: len(w.cbuf), src: f.src, off: start, n: n})
	w.refBytes += n
}

// copySpan writes a source range to the output: in the kernel when both
// ends are files, else through a buffer.
func (w *Writer) copySpan(sp span) {
	if w.err != nil {
		return
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("mux: write: %w", err)
		return
	}
	done := int64(0)
	if w.fileOut != nil {
		if ra, base, _ := sp.src.Outer(); ra != nil {
			if f, ok := ra.(*os.File); ok {
				// The source file's offset is free: the SectionReader reads
				// with ReadAt.
				if _, err := f.Seek(base+sp.off, io.SeekStart); err == nil {
					done, _ = w.fileOut.ReadFrom(&io.LimitedReader{R: f, N: sp.n})
				}
			}
		}
	}
	w.pos += done
	if done == sp.n {
		return
	}
	if w.copyBuf == nil {
		w.copyBuf = make([]byte, 256<<10)
	}
	for done < sp.n {
		k := min(int64(len(w.copyBuf)), sp.n-done)
		m, err := sp.src.ReadAt(w.copyBuf[:k], sp.off+done)
		if int64(m) < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			w.err = fmt.Errorf("mux: source read at byte %d: %w", sp.off+done+int64(m), err)
			return
		}
		w.write(w.copyBuf[:k])
		if w.err != nil {
			return
		}
		done += k
	}
}
