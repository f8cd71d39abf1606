// Package importcheck holds the test that enforces reckit's layering rules
// (STYLE.md, "Layout and import rules"): which packages each package may
// import, that only cmd/reckit uses the CLI libraries, and that libraries
// never print, exit, read the environment or parse flags. It has no API;
// its test runs with go test ./... .
package importcheck
