// Package layout is the recording-directory contract of reckit: how a
// recording directory and its parts are named, the manifest.json schema
// (read, written and updated only through this package), the atomic-write
// protocol for manifests and parts, the hash chain over the parts, the
// advisory locks (in-progress recording, manifest update, purge tree), and a
// streaming walk over a tree of recordings.
//
// docs/layout.md is the specification; this package implements it. The
// package imports only the standard library, never prints, exits or reads
// the environment, and takes the current time as a parameter wherever the
// logic needs one.
//
// Locks are flock(2) advisory locks. They are implemented on Linux and the
// BSDs (including macOS); on other systems every lock operation returns an
// error wrapping errors.ErrUnsupported.
package layout
