package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// gendocsOptions are the flags of the hidden __gendocs command.
type gendocsOptions struct{}

func (o *gendocsOptions) addFlags(*pflag.FlagSet) {}

// newGendocsCommand returns the hidden "reckit __gendocs DIR" command that
// `make docs` runs to regenerate docs/man.
func newGendocsCommand(g *globals) *cobra.Command {
	opts := &gendocsOptions{}
	cmd := &cobra.Command{
		Use:    "__gendocs DIR",
		Short:  "Write the man pages into DIR",
		Long:   longHelp("Write reckit's man pages into DIR, replacing the *.1 files there."),
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGendocs(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runGendocs(_ context.Context, _ *gendocsOptions, g *globals, args []string) error {
	dir := args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := genManPages(dir); err != nil {
		return err
	}
	g.notef("wrote man pages to %s", dir)
	return nil
}

// manDate is the fixed date in the man pages' header, so that regenerating
// them changes nothing unless the commands changed.
var manDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// genManPages writes one man page per visible command into dir. It builds
// its own command tree with neutral globals, so the pages do not depend on
// the flags or terminal of the process that runs it.
func genManPages(dir string) error {
	g := &globals{io: IO{
		IsTerminalOut: func() bool { return false },
		IsTerminalErr: func() bool { return false },
	}, now: func() time.Time { return manDate }}
	root := newRootCommand(g)
	root.Version = "dev" // not printed in the pages; keep it constant anyway
	date := manDate
	header := &doc.GenManHeader{
		Title:   "RECKIT",
		Section: "1",
		Date:    &date,
		Source:  "reckit",
		Manual:  "reckit manual",
	}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("generating man pages: %w", err)
	}
	return nil
}
