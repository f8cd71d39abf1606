package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/reckit/reckit/inspect"
	"github.com/reckit/reckit/record/layout"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// annotateOptions are the flags shared by lock, unlock and note.
type annotateOptions struct {
	dir    string // where a session id is looked up
	author string
	reason string // lock only
}

func (o *annotateOptions) addFlags(fs *pflag.FlagSet, withReason bool) {
	fs.StringVar(&o.dir, "dir", "", "look a session id up under this folder (default: the recordings folder)")
	fs.StringVar(&o.author, "author", "", "who does it (default: $USER)")
	if withReason {
		fs.StringVar(&o.reason, "reason", "", "why: a ticket or case number")
	}
}

const recArgHelp = `REC is a recording directory, a part file inside one, a plain WebM
file (a sidecar manifest FILE.webm.reckit.json is created beside it, so
that nothing is moved), or a session id (or its 8-digit token) looked
up under --dir (default: $RECKIT_DIR, else $XDG_VIDEOS_DIR/reckit, else
~/Videos/reckit).

The manifest is updated atomically under its update lock; notes are
append-only. The author is $USER unless --author is given. With --json
the updated recording is printed as reckit ls --json prints it.`

func newLockCommand(g *globals) *cobra.Command {
	opts := &annotateOptions{}
	cmd := &cobra.Command{
		Use:   "lock REC",
		Short: "Put a recording under legal hold: purge never deletes it",
		Long: longHelp(`Lock a recording (legal hold): reckit purge never deletes a locked
recording. Locking again replaces the lock. A note records the event
for the audit trail. A recording being purged cannot be locked.

` + recArgHelp),
		Example: `  reckit lock /srv/recordings/20261122T055913Z-ws-042-3f2a9c1e --reason "case 4711"
  reckit lock --dir /srv/recordings sess-7f3a --reason "HR-2291"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnnotate(cmd.Context(), "lock", opts, g, args[0], "")
		},
	}
	opts.addFlags(cmd.Flags(), true)
	return cmd
}

func newUnlockCommand(g *globals) *cobra.Command {
	opts := &annotateOptions{}
	cmd := &cobra.Command{
		Use:   "unlock REC",
		Short: "Lift the legal hold of a recording",
		Long: longHelp(`Unlock a recording: lift its legal hold, so that a retention policy
may delete it again. A note records the event. Unlocking a recording
that is not locked changes nothing.

` + recArgHelp),
		Example: `  reckit unlock /srv/recordings/20261122T055913Z-ws-042-3f2a9c1e`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnnotate(cmd.Context(), "unlock", opts, g, args[0], "")
		},
	}
	opts.addFlags(cmd.Flags(), false)
	return cmd
}

func newNoteCommand(g *globals) *cobra.Command {
	opts := &annotateOptions{}
	cmd := &cobra.Command{
		Use:   "note REC TEXT",
		Short: "Add a note to a recording",
		Long: longHelp(`Append a note to a recording's manifest. Notes are append-only:
existing notes are never changed; reckit ls counts them.

` + recArgHelp),
		Example: `  reckit note session.webm "reviewed, nothing found"`,
		Args:    cobra.ExactArgs(2),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(args[1]) == "" {
				return usageErrorf(cmd, "the note is empty")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnnotate(cmd.Context(), "note", opts, g, args[0], args[1])
		},
	}
	opts.addFlags(cmd.Flags(), false)
	return cmd
}

// errNotRecording: REC names nothing reckit can annotate.
var errNotRecording = errors.New("not a recording")

// runAnnotate carries out lock, unlock or note on REC.
func runAnnotate(ctx context.Context, op string, opts *annotateOptions, g *globals, rec, text string) error {
	author := opts.author
	if author == "" {
		author = currentUser()
	}
	target, plain, err := resolveRec(ctx, opts, rec)
	if err != nil {
		return err
	}
	now := g.now()
	changed := true
	fn := func(m *layout.Manifest) error {
		switch op {
		case "lock":
			if m.State == layout.StatePurging {
				return fmt.Errorf("%s: %w", target, layout.ErrPurging)
			}
			m.SetLock(author, opts.reason, now)
			msg := "locked"
			if opts.reason != "" {
				msg += ": " + opts.reason
			}
			m.AddNote(author, msg, now)
		case "unlock":
			if !m.Locked() {
				changed = false
				return errUnchanged
			}
			m.ClearLock()
			m.AddNote(author, "unlocked", now)
		case "note":
			m.AddNote(author, text, now)
		}
		return nil
	}
	if plain {
		err = layout.UpdateSidecar(target, fn)
	} else {
		err = layout.Update(target, fn)
	}
	if err != nil && !errors.Is(err, errUnchanged) {
		return err
	}
	var r *inspect.Recording
	if plain {
		sidecar := ""
		if _, err := os.Stat(layout.SidecarPath(target)); err == nil {
			sidecar = layout.SidecarPath(target)
		}
		r = inspect.CatalogFile(target, sidecar, inspect.CatalogOptions{Probe: true, Now: now})
	} else {
		r = inspect.CatalogDir(target, inspect.CatalogOptions{Probe: true, Now: now})
	}
	if g.json {
		return newJSONL(g.io.Out).encode(r)
	}
	switch {
	case !changed:
		g.notef("%s was not locked", target)
	case op == "lock":
		g.notef("locked %s", target)
	case op == "unlock":
		g.notef("unlocked %s", target)
	default:
		g.notef("noted %s (%s)", target, plural(r.Notes, "note"))
	}
	return nil
}

var errUnchanged = errors.New("unchanged")

// resolveRec finds what REC names: a recording directory (plain false) or
// a plain WebM file (plain true).
func resolveRec(ctx context.Context, opts *annotateOptions, rec string) (string, bool, error) {
	st, err := os.Stat(rec)
	switch {
	case err == nil && st.IsDir():
		if _, err := os.Stat(layout.ManifestPath(rec)); err != nil {
			return "", false, withHint(fmt.Errorf("%s: %w: no %s", rec, errNotRecording, layout.ManifestName),
				"name a recording directory, a part or a WebM file")
		}
		return rec, false, nil
	case err == nil:
		parent := filepath.Dir(rec)
		if _, err := os.Stat(layout.ManifestPath(parent)); err == nil {
			return parent, false, nil // a part of a recording directory
		}
		if !layout.IsWebMName(filepath.Base(rec)) {
			return "", false, fmt.Errorf("%s: %w: not a .webm file", rec, errNotRecording)
		}
		return rec, true, nil
	case !errors.Is(err, fs.ErrNotExist) || strings.ContainsRune(rec, filepath.Separator):
		return "", false, err
	}
	// A session id under --dir.
	var roots []string
	if opts.dir != "" {
		roots = []string{opts.dir}
	}
	roots, err = rootsOrDefault(roots)
	if err != nil {
		return "", false, err
	}
	var found []*inspect.Recording
	err = inspect.Catalog(ctx, roots, inspect.CatalogOptions{}, func(r *inspect.Recording) error {
		if r.SessionID != "" && (r.SessionID == rec || layout.ShortSession(r.SessionID) == strings.ToLower(rec)) {
			r.Files, r.Manifest = nil, nil
			found = append(found, r)
		}
		return nil
	}, nil)
	if err != nil {
		return "", false, err
	}
	switch len(found) {
	case 0:
		return "", false, withHint(fmt.Errorf("%s: no such file, directory or session id under %s", rec, strings.Join(roots, ", ")),
			"reckit ls --json shows each recording's session_id")
	case 1:
		return found[0].Path, found[0].Kind == "file", nil
	}
	paths := make([]string, len(found))
	for i, r := range found {
		paths[i] = r.Path
	}
	return "", false, withHint(fmt.Errorf("session id %s matches %d recordings", rec, len(found)),
		"name one: "+strings.Join(paths, " "))
}
