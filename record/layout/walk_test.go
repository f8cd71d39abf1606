package layout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mkTree creates files (content irrelevant to Walk), directories (names
// ending in "/") and symlinks ("name -> target") under root.
func mkTree(t testing.TB, root string, items ...string) {
	t.Helper()
	for _, it := range items {
		var name, target string
		if n, tg, ok := strings.Cut(it, " -> "); ok {
			name, target = n, tg
		} else {
			name = it
		}
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case target != "":
			err = os.Symlink(target, p)
		case name[len(name)-1] == '/':
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func walkList(t *testing.T, root string) []string {
	t.Helper()
	var got []string
	err := Walk(context.Background(), root, func(e Entry) error {
		rel, _ := filepath.Rel(root, e.Path)
		s := e.Kind.String() + " " + filepath.ToSlash(rel)
		if e.Sidecar != "" {
			s += " +sidecar"
		}
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%s) error %v", root, err)
	}
	return got
}

func TestWalk(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root,
		TreeLockName,
		"notes.txt",
		"rec1/manifest.json",
		"rec1/20261122T055913.250Z-m0-001.webm",
		"rec1/"+RecordingLockName,
		"rec1/nested/stray.webm", // inside a recording: not reported
		"sub/rec2/manifest.json",
		"sub/plain.webm",
		"sub/plain.webm.reckit.json",
		"sub/plain.webm.reckit.json.tmp-42",
		"sub/Upper.WEBM",
		"sub/orphan.webm.reckit.json",
		"sub/x.webm.partial",
		"sub/y.txt.partial",
		"sub/"+SidecarLockName,
		"sub/manifest.json.tmp-7",
		"empty/",
		"link -> rec1",
		"linkfile.webm -> sub/plain.webm",
		"dangling -> nowhere",
	)
	got := walkList(t, root)
	want := []string{
		"symlink dangling",
		"symlink link",
		"symlink linkfile.webm",
		"unknown notes.txt",
		"recording-dir rec1",
		"plain-file sub/Upper.WEBM",
		"unknown sub/orphan.webm.reckit.json",
		"plain-file sub/plain.webm +sidecar",
		"recording-dir sub/rec2",
		"partial sub/x.webm.partial",
		"unknown sub/y.txt.partial",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Walk =\n%q\nwant\n%q", got, want)
	}
}

func TestWalkRoots(t *testing.T) {
	base := t.TempDir()
	mkTree(t, base, "rec/manifest.json", "f.webm", "g.bin", "tree/a.webm", "tolink -> tree")
	tests := []struct {
		name, root string
		want       []string
	}{
		{"recording dir root", "rec", []string{"recording-dir ."}},
		{"webm file root", "f.webm", []string{"plain-file ."}},
		{"other file root", "g.bin", []string{"unknown ."}},
		{"symlinked root is followed", "tolink", []string{"plain-file a.webm"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := walkList(t, filepath.Join(base, tc.root)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Walk(%s) = %q, want %q", tc.root, got, tc.want)
			}
		})
	}
	if err := Walk(context.Background(), filepath.Join(base, "missing"), func(Entry) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Walk(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestWalkStops(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "a.webm", "b.webm", "c.webm")
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		ret   error
		want  error
		wantN int
	}{
		{"skip all", context.Background(), fs.SkipAll, nil, 1},
		{"error", context.Background(), boom, boom, 1},
		{"canceled", canceled, nil, context.Canceled, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := Walk(tc.ctx, root, func(Entry) error { n++; return tc.ret })
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) || n != tc.wantN {
				t.Errorf("Walk = %v after %d calls, want %v after %d", err, n, tc.want, tc.wantN)
			}
		})
	}
}

func TestEntryManifest(t *testing.T) {
	dir, _ := newRecording(t)
	var e Entry
	Walk(context.Background(), filepath.Dir(dir), func(x Entry) error { e = x; return nil })
	m, err := e.ReadManifest()
	if err != nil || m.SessionID != "sess-7f3a" {
		t.Errorf("Entry.ReadManifest() = %v, %v, want session sess-7f3a", m, err)
	}
	if fi, err := e.Info(); err != nil || !fi.IsDir() {
		t.Errorf("Entry.Info() = %v, %v, want a directory", fi, err)
	}
	if _, err := (Entry{Kind: KindUnknown, Path: dir}).ReadManifest(); !errors.Is(err, ErrNoManifest) {
		t.Errorf("ReadManifest(unknown entry) = %v, want ErrNoManifest", err)
	}
}

func BenchmarkWalk10k(b *testing.B) {
	root := b.TempDir()
	man := encode(b, fullManifest(b))
	for i := 0; i < 10000; i++ {
		name := fmt.Sprintf("20261122T%06dZ-ws-%03d-%08x", i%240000, i%100, i)
		dir := filepath.Join(root, fmt.Sprintf("%02d", i%50), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, ManifestName), man, 0o644)
		os.WriteFile(filepath.Join(dir, "20261122T055913.250Z-m0-001.webm"), nil, 0o644)
	}
	for _, read := range []bool{false, true} {
		b.Run(map[bool]string{false: "walk", true: "walk+read"}[read], func(b *testing.B) {
			for b.Loop() {
				n := 0
				err := Walk(context.Background(), root, func(e Entry) error {
					if e.Kind != KindRecordingDir {
						return nil
					}
					n++
					if read {
						_, err := e.ReadManifest()
						return err
					}
					return nil
				})
				if err != nil || n != 10000 {
					b.Fatalf("Walk found %d recordings, %v, want 10000", n, err)
				}
			}
		})
	}
}
