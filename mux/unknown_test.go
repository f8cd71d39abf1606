package mux

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/reckit/reckit/internal/testmedia"
)

// reviewFrames returns n frames of a real ffmpeg file.
func realFrames(t *testing.T, n int) []Frame {
	testmedia.Require(t, "ffmpeg", "ffprobe")
	f, err := os.Open(testmedia.FFmpegWebM(t, t.TempDir(), testmedia.Spec{Width: 320, Height: 240, FPS: 25, Seconds: 4, KeyInt: 25}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := OpenSource("a", f)
	if err != nil {
		t.Fatal(err)
	}
	var out []Frame
	for len(out) < n {
		fr, err := src.NextFrame(nil)
		if err != nil {
			t.Fatal(err)
		}
		fr.Data = append([]byte(nil), fr.Data...)
		out = append(out, fr)
	}
	return out
}

// buildUnknownClusters writes EBML header, a Segment (known or unknown size)
// holding Info, Tracks and Clusters of unknown size (Chrome MediaRecorder style).
func buildUnknownClusters(t *testing.T, frames []Frame, segKnown bool) []byte {
	// Take header bytes from a Writer on a non-seekable output.
	var hb bytes.Buffer
	w, err := NewWriter(struct{ io.Writer }{&hb}, WriterOptions{Width: 320, Height: 240, Live: true, SegmentUID: make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	head := append([]byte(nil), hb.Bytes()...) // EBML + Segment(unknown) + Info + Tracks
	_ = w
	// Locate the Segment size field: after the EBML header element.
	sc := NewScanner(bytes.NewReader(head), ScanOptions{})
	el, _ := sc.Next() // EBML
	segOff := el.End()
	body := append([]byte(nil), head[segOff+12:]...) // Segment children so far
	perCluster := 25
	for i := 0; i < len(frames); i += perCluster {
		var c []byte
		c = appendID(c, IDCluster)
		c = appendUnknownSize(c)
		ts := frames[i].TS.Milliseconds()
		c = append(c, IDTimestamp, 0x88)
		for k := 7; k >= 0; k-- {
			c = append(c, byte(ts>>(8*k)))
		}
		for j := i; j < i+perCluster && j < len(frames); j++ {
			f := frames[j]
			rel := f.TS.Milliseconds() - ts
			c = append(c, IDSimpleBlock)
			c = appendSize(c, uint64(len(f.Data)+4), 8)
			fl := byte(0)
			if f.Key {
				fl = 0x80
			}
			c = append(c, 0x81, byte(rel>>8), byte(rel), fl)
			c = append(c, f.Data...)
		}
		body = append(body, c...)
	}
	out := append([]byte(nil), head[:segOff]...)
	out = appendID(out, IDSegment)
	if segKnown {
		out = appendSize(out, uint64(len(body)), 8)
	} else {
		out = appendUnknownSize(out)
	}
	return append(out, body...)
}

// TestUnknownClusterInKnownSegment: RFC 8794 section 6.2 lets an
// unknown-size Cluster end with its known-size Segment (a Chrome-style file
// whose Segment size was patched): every frame is read, as ffprobe does.
func TestUnknownClusterInKnownSegment(t *testing.T) {
	frames := realFrames(t, 100)
	for _, known := range []bool{false, true} {
		b := buildUnknownClusters(t, frames, known)
		name := filepath.Join(t.TempDir(), "x.webm")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := OpenSource("x", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("segment size known %v: open: %v", known, err)
		}
		n := 0
		for {
			_, err := src.NextFrame(nil)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("segment size known %v: frame %d: %v", known, n, err)
			}
			n++
		}
		out, _ := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", name).Output()
		if n != len(frames) || string(bytes.TrimSpace(out)) != fmt.Sprint(len(frames)) {
			t.Errorf("segment size known %v: reckit read %d, ffprobe %s, want %d", known, n, bytes.TrimSpace(out), len(frames))
		}
	}
}
