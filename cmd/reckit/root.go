package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version string

// commands lists the subcommands. To add one, write cmd_<name>.go with
// new<Name>Command and add it here: keep the list sorted.
var commands = []func(*globals) *cobra.Command{
	newInfoCommand,
	newJoinCommand,
	newLockCommand,
	newLsCommand,
	newNoteCommand,
	newProxyCommand,
	newPurgeCommand,
	newRecordCommand,
	newRepairCommand,
	newSplitCommand,
	newUnlockCommand,
	newVerifyCommand,
}

// versionString returns the -ldflags version, else the module version from
// the build info, else the VCS revision, else "dev".
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "dev-" + rev + dirty
	}
	return "dev"
}

// newRootCommand builds the whole command tree for g.
func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "reckit COMMAND",
		Short: "Record remote-desktop sessions as WebM and manage the recordings",
		Long: longHelp(`reckit records remote-desktop sessions as VP8/WebM and manages
recordings, its own or any other WebM: split, join, repair, inspect,
verify, list, lock and purge by retention policy.

stdout carries the product only (a table, JSON Lines or WebM bytes);
progress, notes, warnings and errors go to stderr. With --json every
command writes one JSON object per line, each with a "type" field.`),
		Version:                    versionString(),
		Args:                       cobra.ArbitraryArgs,
		SilenceErrors:              true,
		SilenceUsage:               true,
		DisableAutoGenTag:          true,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{err: errors.New("missing command"), cmd: cmd}
			}
			err := &usageError{err: fmt.Errorf("unknown command %q", args[0]), cmd: cmd}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				return withHint(err, "did you mean "+strings.Join(s, " or ")+"?")
			}
			return err
		},
	}
	root.SetVersionTemplate("reckit version {{.Version}}\n")
	root.SetIn(g.io.In)
	root.SetOut(g.io.Out)
	root.SetErr(g.io.Err)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, cmd: cmd}
	})

	pf := root.PersistentFlags()
	pf.BoolVar(&g.json, "json", false, "write JSON Lines to stdout (and errors as JSON to stderr)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "no progress, notes or warnings on stderr")
	// Our own --version flag: cobra's default would also take -v.
	root.Flags().Bool("version", false, "print the version and exit")

	for _, newCmd := range commands {
		root.AddCommand(newCmd(g))
	}
	// Hidden; not in commands because it builds a tree itself.
	root.AddCommand(newGendocsCommand(g))
	root.SetHelpCommand(newHelpCommand())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	finishTree(root)
	return root
}

// newHelpCommand replaces cobra's help command, which prints the root's
// help and exits 0 for an unknown topic; this one makes that a usage error.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]...",
		Short: "Help about any command",
		Long:  longHelp("Show the help of a command, e.g. reckit help info, or of reckit."),
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			target, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return &usageError{err: fmt.Errorf("unknown help topic %q", strings.Join(args, " ")), cmd: c}
			}
			return target.Help()
		},
	}
}

// finishTree applies the tree-wide rules to every command below root: arg
// validator errors become usage errors, enum flags complete their values,
// and cobra's built-in commands get the EXIT STATUS section.
func finishTree(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		if c != root && c.Args != nil {
			c.Args = usageArgs(c.Args)
		}
		registerEnumCompletions(c)
		if c.Name() == "completion" || (c.HasParent() && c.Parent().Name() == "completion") {
			if !strings.Contains(c.Long, exitStatusHeading) {
				c.Long = longHelp(c.Long)
			}
		}
	})
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// usageArgs turns an arg validator's error into a usageError.
func usageArgs(validate cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := validate(cmd, args)
		if err == nil {
			return nil
		}
		var u *usageError
		if errors.As(err, &u) {
			return err
		}
		return &usageError{err: err, cmd: cmd}
	}
}

// registerEnumCompletions offers an enumValue's allowed words as shell
// completions for its flag.
func registerEnumCompletions(c *cobra.Command) {
	seen := map[*pflag.Flag]bool{}
	register := func(f *pflag.Flag) {
		if seen[f] {
			return
		}
		seen[f] = true
		e, ok := f.Value.(*enumValue)
		if !ok {
			return
		}
		allowed := e.allowed
		_ = c.RegisterFlagCompletionFunc(f.Name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return allowed, cobra.ShellCompDirectiveNoFileComp
		})
	}
	c.Flags().VisitAll(register)
	c.PersistentFlags().VisitAll(register)
}
