package inspect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/reckit/reckit/inspect"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenTree builds, in the current directory, a tree with one recording
// per kind of result, every file's mtime pinned to t0.
func goldenTree(t *testing.T) {
	t.Helper()
	genRecording(t, "recs", recSpec{device: "WS-042", user: "alice", session: "good", parts: 2})
	flipped := genRecording(t, "recs", recSpec{device: "ws-7", user: "bob", session: "flipped", parts: 2, start: t0.Add(1e12)})
	parts, _ := filepath.Glob(filepath.Join(flipped, "*.webm"))
	off, n := frameOffset(t, parts[1], 7)
	b, _ := os.ReadFile(parts[1])
	patch(t, parts[1], off+n/2, []byte{b[off+n/2] ^ 0x40})
	deleted := genRecording(t, "recs", recSpec{device: "ws-7", user: "bob", session: "deleted", parts: 2, start: t0.Add(2e12)})
	parts, _ = filepath.Glob(filepath.Join(deleted, "*.webm"))
	if err := os.Remove(parts[0]); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("recs/plain", 0o755)
	genWebM(t, "recs/plain/live.webm", webmSpec{frames: 25, live: true})
	data := genWebM(t, "", webmSpec{frames: 30})
	os.WriteFile("recs/plain/cut.webm", data[:len(data)*6/10], 0o644)
	filepath.Walk("recs", func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Chtimes(p, t0, t0)
		}
		return err
	})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("JSON differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestGoldenJSON pins the JSON of verify (parts, recordings, summary) and
// of the catalogue (ls) on a generated tree.
func TestGoldenJSON(t *testing.T) {
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	goldenTree(t)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	sum, err := inspect.Verify(context.Background(), []string{"recs"}, inspect.VerifyOptions{Jobs: 3}, func(v any) error { return enc.Encode(v) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc.Encode(sum)
	verifyJSON := out.Bytes()

	var ls bytes.Buffer
	enc = json.NewEncoder(&ls)
	err = inspect.Catalog(context.Background(), []string{"recs"}, inspect.CatalogOptions{Probe: true, Now: t0},
		func(r *inspect.Recording) error { return enc.Encode(r) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	checkGolden(t, "verify.golden", verifyJSON)
	checkGolden(t, "catalog.golden", ls.Bytes())
}
