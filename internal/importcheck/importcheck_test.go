package importcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/reckit/reckit"

// rule says what one package of the module may import. Paths in allow and
// testAllow are module-relative ("mux", "record/...") when their first
// element has no dot, else full import paths; a path matches itself and
// the packages below it, "x/..." only the packages below x. The standard
// library is always allowed, except the packages in libraryForbidden.
type rule struct {
	pkg       string   // module-relative import path
	allow     []string // non-standard imports allowed in non-test files
	testAllow []string // extra imports allowed in _test.go files
	cli       bool     // the command: may import anything, may print and exit
	testOnly  bool     // a test helper: only _test.go files may import it
}

// rules has one row per package. A new package needs a new row.
var rules = []rule{
	{pkg: "cmd/reckit", cli: true},
	{pkg: "inspect", allow: []string{"mux", "record/layout"}},
	{pkg: "internal/gentree", cli: true}, // benchmark tree generator (scripts/bench-catalog.sh)
	{pkg: "internal/importcheck"},
	{pkg: "internal/testmedia", testOnly: true},
	{pkg: "internal/testx", testOnly: true},
	{pkg: "mux", allow: []string{"github.com/at-wat/ebml-go"}},
	{pkg: "record", allow: []string{"mux", "record/...", "github.com/jezek/xgb", "golang.org/x/sys/unix"}},
	{pkg: "record/layout"},
	// record/libvpx imports "C" only behind the libvpx build tag, which a
	// default go list never sees.
	{pkg: "record/libvpx", allow: []string{"record", "record/vp8enc"}},
	{pkg: "record/rfb"},
	{pkg: "record/vp8bench", allow: []string{"record", "record/vp8enc"}},
	{pkg: "record/vp8bench/cmd/vp8bench", cli: true},
	{pkg: "record/vp8enc"},
	{pkg: "retention", allow: []string{"record/layout"}},
}

// defaultTestAllow is what every library's tests may import besides its own
// allow list: the module's library packages (for fixtures) and x/image (for
// decoding what the encoder wrote).
var defaultTestAllow = []string{"golang.org/x/image"}

// cliOnly may be imported by cmd/reckit only, by tests too.
var cliOnly = []string{
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"github.com/schollz/progressbar",
	"github.com/olekukonko/tablewriter",
	"golang.org/x/term",
}

// libraryForbidden are standard packages a library's non-test files must not
// import: libraries take flags as arguments, log nothing and leave signals
// to the command.
var libraryForbidden = []string{"flag", "log", "os/signal"}

// forbiddenEverywhere: reckit is one static binary built with CGO_ENABLED=0.
var forbiddenEverywhere = []string{"C"}

// listPackage is the part of `go list -json` output the checks use.
type listPackage struct {
	ImportPath     string
	Dir            string
	Name           string
	GoFiles        []string
	IgnoredGoFiles []string
	Imports        []string
	TestImports    []string
	XTestImports   []string
	Deps           []string
}

func TestImportRules(t *testing.T) {
	pkgs := goList(t)
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d packages, want the whole module", len(pkgs))
	}
	for _, v := range checkImports(pkgs, rules) {
		t.Error(v)
	}
}

func TestLibrariesDoNotPrintExitOrReadEnv(t *testing.T) {
	pkgs := goList(t)
	for _, p := range pkgs {
		r, ok := ruleFor(p.ImportPath, rules)
		if !ok || r.cli || r.testOnly {
			continue
		}
		files := append(slices.Clone(p.GoFiles), p.IgnoredGoFiles...)
		for _, f := range files {
			if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") {
				continue
			}
			path := filepath.Join(p.Dir, f)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range scanSource(path, src) {
				t.Error(v)
			}
		}
	}
}

// goList returns the module's packages, listed once per test binary.
func goList(t *testing.T) []listPackage {
	t.Helper()
	pkgs, err := listModule()
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// listModule runs `go list -e -json ./...` at the module root.
var listModule = sync.OnceValues(func() ([]listPackage, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %w (is the go command on PATH?)", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,Name,GoFiles,IgnoredGoFiles,Imports,TestImports,XTestImports,Deps", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.String())
	}
	var pkgs []listPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
})

// ruleFor finds the rule for a full import path.
func ruleFor(importPath string, rules []rule) (rule, bool) {
	rel, ok := relPath(importPath)
	if !ok {
		return rule{}, false
	}
	for _, r := range rules {
		if r.pkg == rel {
			return r, true
		}
	}
	return rule{}, false
}

// relPath returns importPath relative to the module, "." for the module
// root, and false for paths outside the module.
func relPath(importPath string) (string, bool) {
	if importPath == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(importPath, module+"/")
	return rel, ok
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && path != "C"
}

// matches reports whether import path imp is covered by pattern (see rule).
func matches(imp, pattern string) bool {
	first, _, _ := strings.Cut(pattern, "/")
	if !strings.Contains(first, ".") {
		pattern = module + "/" + pattern
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return strings.HasPrefix(imp, base+"/")
	}
	return imp == pattern || strings.HasPrefix(imp, pattern+"/")
}

func matchesAny(imp string, patterns []string) bool {
	for _, p := range patterns {
		if matches(imp, p) {
			return true
		}
	}
	return false
}

// checkImports returns one message per broken rule, sorted.
func checkImports(pkgs []listPackage, rules []rule) []string {
	var out []string
	testOnly := map[string]bool{}
	for _, r := range rules {
		if r.testOnly {
			testOnly[module+"/"+r.pkg] = true
		}
	}
	for _, p := range pkgs {
		rel, inModule := relPath(p.ImportPath)
		if !inModule {
			continue
		}
		r, ok := ruleFor(p.ImportPath, rules)
		if !ok {
			out = append(out, fmt.Sprintf("%s: no import rule: add a rule for %s in internal/importcheck", p.ImportPath, rel))
			continue
		}
		for _, imp := range p.Imports {
			if v := checkOne(r, imp, false, testOnly); v != "" {
				out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, imp, v))
			}
		}
		for _, imp := range append(slices.Clone(p.TestImports), p.XTestImports...) {
			if imp == p.ImportPath {
				continue // the external test package imports the package under test
			}
			if v := checkOne(r, imp, true, testOnly); v != "" {
				out = append(out, fmt.Sprintf("%s (test) imports %s: %s", p.ImportPath, imp, v))
			}
		}
		if !r.cli {
			for _, dep := range p.Deps {
				if matchesAny(dep, cliOnly) {
					out = append(out, fmt.Sprintf("%s depends on %s: only cmd/reckit may use the CLI libraries", p.ImportPath, dep))
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkOne returns why r's package may not import imp, or "".
func checkOne(r rule, imp string, test bool, testOnly map[string]bool) string {
	switch {
	case slices.Contains(forbiddenEverywhere, imp):
		return "cgo is not allowed: reckit is built with CGO_ENABLED=0"
	case testOnly[imp] && !test:
		return "a test helper may only be imported by _test.go files"
	case r.cli:
		return ""
	case matchesAny(imp, cliOnly):
		return "only cmd/reckit may use the CLI libraries"
	case isStd(imp):
		if !test && slices.Contains(libraryForbidden, imp) {
			return "libraries must not parse flags, log or handle signals"
		}
		return ""
	case matchesAny(imp, r.allow):
		return ""
	case test && (matchesAny(imp, r.testAllow) || matchesAny(imp, defaultTestAllow)):
		return ""
	case test && strings.HasPrefix(imp, module+"/") && !strings.HasPrefix(imp, module+"/cmd/"):
		return ""
	default:
		return "not allowed by its rule in internal/importcheck"
	}
}

// forbiddenCalls are the os and fmt identifiers a library must not use:
// writing to the process's streams, exiting, reading the environment.
var forbiddenCalls = map[string][]string{
	"os":      {"Exit", "Stdout", "Stderr", "Stdin", "Getenv", "LookupEnv", "Environ", "Setenv", "Unsetenv", "Args"},
	"fmt":     {"Print", "Printf", "Println", "Scan", "Scanf", "Scanln"},
	"syscall": {"Exit", "Getenv", "Environ"},
}

// scanSource returns one message per forbidden use in a non-test file.
func scanSource(path string, src []byte) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	local := map[string]string{} // local package name → import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = p
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			pkg, ok := local[id.Name]
			if ok && slices.Contains(forbiddenCalls[pkg], n.Sel.Name) {
				out = append(out, fmt.Sprintf("%s: %s.%s: only cmd/reckit may print, exit or read the environment", fset.Position(n.Pos()), pkg, n.Sel.Name))
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") {
				out = append(out, fmt.Sprintf("%s: %s: libraries must not print", fset.Position(n.Pos()), id.Name))
			}
		}
		return true
	})
	return out
}

func TestCheckImportsCatchesViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	pkgs := []listPackage{
		{ImportPath: m("mux"), Imports: []string{"io", "github.com/at-wat/ebml-go/webm"}, XTestImports: []string{m("mux"), m("internal/testmedia")}},
		{ImportPath: m("inspect"), Imports: []string{m("mux"), m("record")}},
		{ImportPath: m("record/layout"), Imports: []string{"flag", "os"}, TestImports: []string{"flag"}},
		{ImportPath: m("retention"), Imports: []string{m("record/layout"), "github.com/spf13/pflag"}, Deps: []string{"github.com/spf13/pflag"}},
		{ImportPath: m("record"), Imports: []string{m("record/vp8enc"), m("internal/testmedia"), "C"}},
		{ImportPath: m("record/vp8enc"), TestImports: []string{"golang.org/x/image/vp8", m("cmd/reckit")}},
		{ImportPath: m("newpkg")},
		{ImportPath: m("cmd/reckit"), Imports: []string{"github.com/spf13/cobra", "os/signal", m("inspect")}},
		{ImportPath: "example.com/other", Imports: []string{"github.com/spf13/cobra"}},
	}
	want := []string{
		m("inspect") + " imports " + m("record") + ": not allowed by its rule in internal/importcheck",
		m("newpkg") + ": no import rule: add a rule for newpkg in internal/importcheck",
		m("record") + " imports C: cgo is not allowed: reckit is built with CGO_ENABLED=0",
		m("record") + " imports " + m("internal/testmedia") + ": a test helper may only be imported by _test.go files",
		m("record/layout") + " imports flag: libraries must not parse flags, log or handle signals",
		m("record/vp8enc") + " (test) imports " + m("cmd/reckit") + ": not allowed by its rule in internal/importcheck",
		m("retention") + " depends on github.com/spf13/pflag: only cmd/reckit may use the CLI libraries",
		m("retention") + " imports github.com/spf13/pflag: only cmd/reckit may use the CLI libraries",
	}
	got := checkImports(pkgs, rules)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("checkImports() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScanSourceCatchesViolations(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, one per expected message, in order
	}{
		{"clean", `package p
import ("fmt"; "os"; "io")
func F(w io.Writer) error { fmt.Fprintf(w, "x"); _, err := os.Open("f"); _ = fmt.Sprintln("a"); return err }`, nil},
		{"exit and stdout", `package p
import "os"
func F() { os.Stdout.WriteString("x"); os.Exit(1) }`, []string{"os.Stdout", "os.Exit"}},
		{"env", `package p
import "os"
var home = os.Getenv("HOME")
func F() { _, _ = os.LookupEnv("X") }`, []string{"os.Getenv", "os.LookupEnv"}},
		{"renamed import", `package p
import stdos "os"
func F() { stdos.Exit(2) }`, []string{"os.Exit"}},
		{"fmt print", `package p
import "fmt"
func F() { fmt.Println("hi"); fmt.Printf("%d", 1) }`, []string{"fmt.Println", "fmt.Printf"}},
		{"builtin print", `package p
func F() { println("x") }`, []string{"println"}},
		{"local var named os is not the package", `package p
type T struct{ Exit int }
func F() int { os := T{}; return os.Exit }`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scanSource("p.go", []byte(tc.src))
			if len(got) != len(tc.want) {
				t.Fatalf("scanSource() = %q, want %d messages matching %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("scanSource()[%d] = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}
