package inspect_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/mux"
)

// An EBML-laced SimpleBlock whose lace sizes would overflow int64, followed
// by zeros, is corrupt: the walk must not end early as if the file were
// complete. The block is built byte by byte on purpose: no muxer writes it.
func TestScanLaceSizesOverflow(t *testing.T) {
	var hb bytes.Buffer
	if _, err := mux.NewWriter(struct{ io.Writer }{&hb}, mux.WriterOptions{Width: 320, Height: 240, Live: true}); err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), hb.Bytes()...)
	blk := []byte{0x81, 0x00, 0x00, 0x80 | 0x06, 127}                 // track 1, ts 0, key, EBML lacing, 128 frames
	blk = append(blk, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE) // s0 = 2^56-2
	blk = append(blk, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE) // diff +(2^55-1)
	for i := 0; i < 125; i++ {
		blk = append(blk, 0xBF) // diff 0
	}
	blk = append(blk, 0x11, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0) // an inter-frame tag, then anything
	var cl []byte
	cl = append(cl, 0xE7, 0x81, 0x00)
	cl = append(cl, 0xA3, 0x40|byte(len(blk)>>8), byte(len(blk)))
	cl = append(cl, blk...)
	garbage := bytes.Repeat([]byte{0x00}, 4096) // not an element at all
	cl = append(cl, garbage...)
	b = append(b, 0x1F, 0x43, 0xB6, 0x75, 0x01, 0, 0, 0, 0, byte(len(cl)>>16), byte(len(cl)>>8), byte(len(cl)))
	b = append(b, cl...)
	rep, err := inspect.Scan(context.Background(), "lace.webm", bytes.NewReader(b), int64(len(b)), inspect.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s, frames %d, findings %v", rep.Verdict, rep.Frames, rep.Findings)
	if rep.Verdict != inspect.Corrupt {
		t.Errorf("a block with overflowing lace sizes followed by 4 KiB of zeros: verdict %s, want corrupt", rep.Verdict)
	}
}
