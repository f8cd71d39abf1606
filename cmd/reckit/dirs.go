package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// defaultRecordingsDir is where recordings live when no directory is given:
// $RECKIT_DIR; else the user's videos folder plus /reckit, the videos
// folder being $XDG_VIDEOS_DIR, else XDG_VIDEOS_DIR from
// $XDG_CONFIG_HOME/user-dirs.dirs (as xdg-user-dirs writes it), else
// ~/Videos. RealVNC saves to the same OS media folder by default.
func defaultRecordingsDir() (string, error) {
	if d := os.Getenv("RECKIT_DIR"); d != "" {
		return d, nil
	}
	home, herr := os.UserHomeDir()
	if d := os.Getenv("XDG_VIDEOS_DIR"); d != "" {
		return filepath.Join(d, "reckit"), nil
	}
	if herr != nil {
		return "", errors.New("no recordings directory: set RECKIT_DIR or HOME")
	}
	if d := xdgUserDir(home, "XDG_VIDEOS_DIR"); d != "" {
		return filepath.Join(d, "reckit"), nil
	}
	return filepath.Join(home, "Videos", "reckit"), nil
}

// xdgUserDir reads one entry of user-dirs.dirs (lines like
// XDG_VIDEOS_DIR="$HOME/Videos"); "" when absent.
func xdgUserDir(home, key string) string {
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		cfg = filepath.Join(home, ".config")
	}
	f, err := os.Open(filepath.Join(cfg, "user-dirs.dirs"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || k != key {
			continue
		}
		v = strings.Trim(v, `"`)
		v = strings.Replace(v, "$HOME", home, 1)
		if filepath.IsAbs(v) {
			return v
		}
	}
	return ""
}
