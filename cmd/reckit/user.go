package main

import (
	"os"
	"os/user"
)

// currentUser is who runs reckit, for manifests, notes, locks and the
// purge log: $USER, else the account name of the process (cron and
// systemd often leave USER unset), else "unknown".
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
