package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

var exitLineRE = regexp.MustCompile(`^    (\d+) +\S`)

// TestEveryLongEndsWithExitStatus walks the real tree, including the hidden
// and cobra-provided commands, and checks that each Long ends with an
// EXIT STATUS section listing at least 0, 1, 2 and 130.
func TestEveryLongEndsWithExitStatus(t *testing.T) {
	ios, _, _ := fakeIO(false)
	root := newRootCommand(&globals{io: ios, now: time.Now})
	var names []string
	walk(root, func(c *cobra.Command) {
		if c.Name() == "help" {
			return // cobra's help topic command
		}
		names = append(names, c.CommandPath())
		t.Run(c.CommandPath(), func(t *testing.T) {
			i := strings.LastIndex(c.Long, "\n"+exitStatusHeading+"\n")
			if i < 0 {
				t.Fatalf("%s: Long = %q, want it to end with an EXIT STATUS section", c.CommandPath(), c.Long)
			}
			var codes []string
			for _, line := range strings.Split(strings.Trim(c.Long[i+len(exitStatusHeading)+2:], "\n"), "\n") {
				m := exitLineRE.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("%s: line %q after EXIT STATUS, want only \"    N  meaning\" lines", c.CommandPath(), line)
				}
				codes = append(codes, m[1])
			}
			for _, want := range []string{"0", "1", "2", "130"} {
				if !slices.Contains(codes, want) {
					t.Errorf("%s: EXIT STATUS lists %q, want it to include %s", c.CommandPath(), codes, want)
				}
			}
		})
	})
	for _, want := range []string{"reckit", "reckit completion", "reckit completion bash", "reckit __gendocs"} {
		if !slices.Contains(names, want) {
			t.Errorf("tree = %q, want it to contain %q", names, want)
		}
	}
}

func TestEnumFlagCompletion(t *testing.T) {
	var format string
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	cmd.Flags().Var(newEnumValue("format", []string{"table", "json"}, "table", &format), "format", "output format")
	cmd.Flags().String("name", "", "not an enum")
	registerEnumCompletions(cmd)

	f, ok := cmd.GetFlagCompletionFunc("format")
	if !ok {
		t.Fatalf("GetFlagCompletionFunc(format) = _, false, want a completion func")
	}
	got, dir := f(cmd, nil, "")
	if !slices.Equal(got, []string{"table", "json"}) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Fatalf("completions = %q, %v, want [table json], NoFileComp", got, dir)
	}
	if _, ok := cmd.GetFlagCompletionFunc("name"); ok {
		t.Fatalf("GetFlagCompletionFunc(name) = _, true, want no completion for a plain string flag")
	}
}

func TestVersionFlag(t *testing.T) {
	for _, tc := range []struct {
		name, set, want string
	}{
		{"ldflags", "1.2.3", "reckit version 1.2.3\n"},
		{"fallback", "", "reckit version " + versionString() + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := version
			version = tc.set
			defer func() { version = old }()
			ios, out, errb := fakeIO(false)
			code := run(context.Background(), &globals{io: ios, now: time.Now}, []string{"--version"})
			if code != 0 || out.String() != tc.want || errb.Len() != 0 {
				t.Fatalf("reckit --version = %d, %q, %q; want 0, %q, \"\"", code, out.String(), errb.String(), tc.want)
			}
		})
	}
	if v := versionString(); v == "" || strings.ContainsAny(v, " \n") {
		t.Fatalf("versionString() = %q, want one non-empty word", v)
	}
}

func TestManPagesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := genManPages(dir); err != nil {
		t.Fatalf("genManPages(%s) = %v, want nil", dir, err)
	}
	committed := filepath.Join("..", "..", "docs", "man")
	want := readDir(t, dir)
	got := readDir(t, committed)
	for name, content := range want {
		c, ok := got[name]
		switch {
		case !ok:
			t.Errorf("docs/man/%s is missing: run make docs", name)
		case !bytes.Equal(c, content):
			t.Errorf("docs/man/%s is stale: run make docs", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/man/%s belongs to no command: run make docs", name)
		}
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = b
	}
	return m
}
