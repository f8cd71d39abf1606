package inspect_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
)

// Scan and Repair agree on the complete frames before a zeroed Cluster ID.
func TestScanCountsFramesBeforeCorruption(t *testing.T) {
	testmedia.Require(t, "ffmpeg")
	data, err := os.ReadFile(testmedia.FFmpegWebM(t, t.TempDir(), testmedia.Spec{Width: 320, Height: 240, FPS: 25, Seconds: 6, KeyInt: 25}))
	if err != nil {
		t.Fatal(err)
	}
	// Find the third Cluster and zero its ID.
	sc := mux.NewScanner(bytes.NewReader(data), mux.ScanOptions{})
	var clusters []int64
	for {
		el, err := sc.Next()
		if err != nil {
			break
		}
		if el.ID == mux.IDSegment {
			sc.Enter()
		}
		if el.ID == mux.IDCluster {
			clusters = append(clusters, el.Offset)
		}
	}
	bad := append([]byte(nil), data...)
	copy(bad[clusters[2]:], []byte{0, 0, 0, 0})

	rep, err := inspect.Scan(context.Background(), "zeroed.webm", bytes.NewReader(bad), int64(len(bad)), inspect.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := mux.OpenSource("zeroed", bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := mux.Repair(context.Background(), src, struct{ io.Writer }{&out})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scan: verdict=%s frames=%d complete_bytes=%d reason=%q", rep.Verdict, rep.Frames, rep.CompleteBytes, rep.Reason)
	t.Logf("repair: kept frames=%d dropped_offset=%d problem=%v", res.Frames, res.DroppedOffset, res.Problem)
	if rep.Frames != res.Frames || rep.CompleteBytes != res.DroppedOffset {
		t.Errorf("Scan says %d complete frames ending at %d, but Repair keeps %d frames ending at %d",
			rep.Frames, rep.CompleteBytes, res.Frames, res.DroppedOffset)
	}
}
