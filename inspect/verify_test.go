package inspect_test

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/internal/testmedia"
	"github.com/reckit/reckit/mux"
	"github.com/reckit/reckit/record/layout"
)

// verifyResult collects what Verify emits.
type verifyResult struct {
	parts   []*inspect.PartResult
	recs    []*inspect.RecordingResult
	unknown []*inspect.Unknown
	sum     *inspect.VerifySummary
}

func runVerify(t testing.TB, roots []string, opts inspect.VerifyOptions) verifyResult {
	t.Helper()
	var res verifyResult
	sum, err := inspect.Verify(context.Background(), roots, opts, func(v any) error {
		switch x := v.(type) {
		case *inspect.PartResult:
			res.parts = append(res.parts, x)
		case *inspect.RecordingResult:
			res.recs = append(res.recs, x)
		default:
			t.Fatalf("Verify emitted %T", v)
		}
		return nil
	}, func(u *inspect.Unknown) error {
		res.unknown = append(res.unknown, u)
		return nil
	})
	if err != nil {
		t.Fatalf("Verify(%v) = %v", roots, err)
	}
	res.sum = sum
	return res
}

// TestVerifyDefects makes each defect for real and checks the verdict of the
// damaged part and of its recording.
func TestVerifyDefects(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string, parts []string) // dir: the recording
		part     int                                            // index of the part to check, in output order
		partWant inspect.Verdict
		recWant  inspect.Verdict
		offset   bool // the part's verdict carries an offset
	}{
		{"intact", func(*testing.T, string, []string) {}, 1, inspect.OK, inspect.OK, false},
		{"part deleted", func(t *testing.T, _ string, parts []string) {
			if err := os.Remove(parts[1]); err != nil {
				t.Fatal(err)
			}
		}, 1, inspect.Missing, inspect.Missing, false},
		{"byte flipped in a frame payload", func(t *testing.T, _ string, parts []string) {
			off, n := frameOffset(t, parts[1], 7)
			b := []byte{0}
			f, _ := os.ReadFile(parts[1])
			b[0] = f[off+n/2] ^ 0x40
			patch(t, parts[1], off+n/2, b)
		}, 1, inspect.ChecksumMismatch, inspect.ChecksumMismatch, false},
		{"file cut short", func(t *testing.T, _ string, parts []string) {
			st, _ := os.Stat(parts[1])
			if err := os.Truncate(parts[1], st.Size()*6/10); err != nil {
				t.Fatal(err)
			}
		}, 1, inspect.SizeMismatch, inspect.SizeMismatch, false},
		{"size field overrun", func(t *testing.T, _ string, parts []string) {
			// Frame 5s SimpleBlock: a first size byte of 0x01 makes an
			// becomes 8 bytes of all-but-one ones: far past its Cluster.
			off := blockOffset(t, parts[1], 5)
			patch(t, parts[1], off+1, []byte{0x01})
		}, 1, inspect.Corrupt, inspect.Corrupt, true},
		{"zeroed range", func(t *testing.T, _ string, parts []string) {
			off := blockOffset(t, parts[1], 12)
			patch(t, parts[1], off, make([]byte, 64))
		}, 1, inspect.Corrupt, inspect.Corrupt, true},
		{"orphan part", func(t *testing.T, dir string, parts []string) {
			b, _ := os.ReadFile(parts[0])
			if err := os.WriteFile(filepath.Join(dir, "20261122T060500.000Z-m0-009.webm"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, 2, inspect.Orphan, inspect.Orphan, false},
		{"parts reordered in the manifest", func(t *testing.T, dir string, _ []string) {
			err := layout.Update(dir, func(m *layout.Manifest) error {
				m.Parts[0], m.Parts[1] = m.Parts[1], m.Parts[0]
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}, 1, inspect.OK, inspect.ChecksumMismatch, false},
		{"stale partial of a crashed recorder", func(t *testing.T, dir string, parts []string) {
			b, _ := os.ReadFile(parts[0])
			if err := os.WriteFile(filepath.Join(dir, "20261122T060500.000Z-m0-003.webm.partial"), b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, 2, inspect.Incomplete, inspect.Incomplete, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := genRecording(t, root, recSpec{device: "ws-1", user: "alice", session: "s1", parts: 2})
			m, err := layout.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			parts := []string{filepath.Join(dir, m.Parts[0].Name), filepath.Join(dir, m.Parts[1].Name)}
			tc.damage(t, dir, parts)
			res := runVerify(t, []string{root}, inspect.VerifyOptions{Jobs: 2})
			if len(res.recs) != 1 {
				t.Fatalf("Verify: %d recordings, want 1", len(res.recs))
			}
			if tc.part >= len(res.parts) {
				t.Fatalf("Verify: %d parts, want at least %d", len(res.parts), tc.part+1)
			}
			p := res.parts[tc.part]
			if p.Verdict != tc.partWant {
				t.Errorf("part %s verdict = %s (%s), want %s", p.Path, p.Verdict, p.Reason, tc.partWant)
			}
			if (p.Offset != nil) != tc.offset {
				t.Errorf("part %s offset = %v, want offset %v", p.Path, p.Offset, tc.offset)
			}
			if r := res.recs[0]; r.Verdict != tc.recWant {
				t.Errorf("recording verdict = %s (%s), want %s", r.Verdict, r.Reason, tc.recWant)
			}
			wantInvalid := 0
			if tc.recWant != inspect.OK {
				wantInvalid = 1
			}
			if res.sum.Invalid != wantInvalid || res.sum.Recordings != 1 {
				t.Errorf("summary = %+v, want 1 recording, %d invalid", res.sum, wantInvalid)
			}
			if tc.partWant == inspect.OK && p.SHA256 != m.Parts[1].SHA256 && tc.name == "intact" {
				t.Errorf("part sha256 = %s, want %s", p.SHA256, m.Parts[1].SHA256)
			}
		})
	}
}

// blockOffset returns the offset of frame n's block element.
func blockOffset(t testing.TB, path string, n int) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := mux.NewReader(f, mux.ReaderOptions{})
	if _, err := rd.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		b, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if i == n {
			return b.Offset
		}
	}
}

// TestVerifyPlainFiles covers files outside recording directories.
func TestVerifyPlainFiles(t *testing.T) {
	root := t.TempDir()
	genWebM(t, filepath.Join(root, "a-ok.webm"), webmSpec{frames: 30})
	genWebM(t, filepath.Join(root, "b-live.webm"), webmSpec{frames: 30, live: true})
	data := genWebM(t, "", webmSpec{frames: 30})
	if err := os.WriteFile(filepath.Join(root, "c-cut.webm"), data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "d-text.webm"), []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "notes.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		strict  bool
		want    []inspect.Verdict
		invalid int
	}{
		{false, []inspect.Verdict{inspect.OK, inspect.Unseekable, inspect.Incomplete, inspect.NotWebM}, 2},
		{true, []inspect.Verdict{inspect.OK, inspect.Unseekable, inspect.Incomplete, inspect.NotWebM}, 3},
	}
	for _, tc := range tests {
		res := runVerify(t, []string{root}, inspect.VerifyOptions{Jobs: 3, Strict: tc.strict})
		if len(res.recs) != len(tc.want) {
			t.Fatalf("Verify: %d recordings, want %d", len(res.recs), len(tc.want))
		}
		for i, r := range res.recs {
			if r.Verdict != tc.want[i] {
				t.Errorf("Verify(%s) = %s (%s), want %s", filepath.Base(r.Path), r.Verdict, r.Reason, tc.want[i])
			}
		}
		if res.sum.Invalid != tc.invalid {
			t.Errorf("Verify(strict=%v) invalid = %d, want %d", tc.strict, res.sum.Invalid, tc.invalid)
		}
		if len(res.unknown) != 1 || filepath.Base(res.unknown[0].Path) != "notes.txt" {
			t.Errorf("unknown = %v, want notes.txt", res.unknown)
		}
	}
}

// TestVerifyChrome checks a real Chrome MediaRecorder file: no Cues, so
// unseekable, a failure only with Strict.
func TestVerifyChrome(t *testing.T) {
	dir := t.TempDir()
	path := testmedia.ChromeMediaRecorder(t, dir, 1.5, 160, 120)
	for _, strict := range []bool{false, true} {
		res := runVerify(t, []string{path}, inspect.VerifyOptions{Strict: strict})
		if len(res.recs) != 1 || res.recs[0].Verdict != inspect.Unseekable {
			t.Fatalf("Verify(chrome) = %+v, want one unseekable recording", res.recs)
		}
		want := 0
		if strict {
			want = 1
		}
		if res.sum.Invalid != want {
			t.Errorf("Verify(chrome, strict=%v) invalid = %d, want %d", strict, res.sum.Invalid, want)
		}
	}
}

// TestVerifyInterrupted: a manifest in state recording whose lock nobody
// holds was interrupted.
func TestVerifyInterrupted(t *testing.T) {
	root := t.TempDir()
	genRecording(t, root, recSpec{device: "ws-2", session: "s2", state: layout.StateRecording})
	res := runVerify(t, []string{root}, inspect.VerifyOptions{})
	if got := res.recs[0]; got.Verdict != inspect.Incomplete || got.State != layout.StateInterrupted {
		t.Errorf("Verify(unlocked recording) = %s/%s (%s), want incomplete/interrupted", got.Verdict, got.State, got.Reason)
	}
}

// TestVerifyWhileRecording runs Verify while a real writer appends Clusters
// to the part being recorded, with the recording lock held: the part and
// the recording are "recording", never corrupt.
func TestVerifyWhileRecording(t *testing.T) {
	root := t.TempDir()
	dir := genRecording(t, root, recSpec{device: "ws-3", session: "s3", parts: 1, state: layout.StateRecording})
	lock, err := layout.AcquireRecordingLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	f, err := os.Create(filepath.Join(dir, "20261122T060200.000Z-m0-002.webm.partial"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mw, err := mux.NewWriter(f, mux.WriterOptions{Width: 160, Height: 120, FrameDuration: 100 * time.Millisecond, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	written := make(chan int)
	go func() {
		rng := rand.New(rand.NewSource(9))
		i := 0
		defer func() { written <- i }()
		for ; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := i%5 == 0 // a Cluster every 5 frames, each fsynced
			if err := mw.WriteFrame(time.Duration(i)*100*time.Millisecond, key, testmedia.SynthVP8(rng, key, 160, 120, 2000)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 20 {
		res := runVerify(t, []string{root}, inspect.VerifyOptions{Jobs: 2})
		if len(res.parts) != 2 || len(res.recs) != 1 {
			t.Fatalf("Verify: %d parts, %d recordings, want 2 and 1", len(res.parts), len(res.recs))
		}
		if v := res.parts[1].Verdict; v != inspect.InProgress {
			t.Errorf("Verify(part being written) = %s (%s), want recording", v, res.parts[1].Reason)
		}
		if v := res.recs[0].Verdict; v != inspect.InProgress {
			t.Errorf("Verify(recording in progress) = %s (%s), want recording", v, res.recs[0].Reason)
		}
		if res.sum.Invalid != 0 {
			t.Errorf("Verify(recording in progress) invalid = %d, want 0", res.sum.Invalid)
		}
	}
	close(stop)
	if n := <-written; n < 10 {
		t.Errorf("the writer wrote %d frames while Verify ran, want at least 10", n)
	}
}

// TestVerifyDeep: a frame whose timestamp goes back is invisible to the
// structure walk and corrupt under Deep; a gap is reported, not failed.
func TestVerifyDeep(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "back.webm")
	genWebM(t, path, webmSpec{frames: 30})
	off := blockOffset(t, path, 5) // in the first Cluster, 500 ms
	b, _ := os.ReadFile(path)
	sizeLen := 1
	for m := byte(0x80); b[off+1]&m == 0; m >>= 1 {
		sizeLen++
	}
	// SimpleBlock data: track number (1 byte here), then the 16-bit
	// timestamp relative to the Cluster (Matroska, SimpleBlock structure).
	patch(t, path, off+1+int64(sizeLen)+1, []byte{0, 0})
	tests := []struct {
		name   string
		opts   inspect.VerifyOptions
		want   inspect.Verdict
		substr string
	}{
		{"structure", inspect.VerifyOptions{}, inspect.OK, ""},
		{"deep", inspect.VerifyOptions{Deep: true}, inspect.Corrupt, "timestamp goes back from 400 ms to 0 ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runVerify(t, []string{path}, tc.opts)
			p := res.parts[0]
			if p.Verdict != tc.want || !strings.Contains(p.Reason, tc.substr) {
				t.Errorf("Verify(%s) = %s (%s), want %s (%s)", tc.name, p.Verdict, p.Reason, tc.want, tc.substr)
			}
		})
	}
}
