package mux

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them, usually
// inside a *FormatError that carries the byte offset.
var (
	// ErrNotWebM: the input does not start with an EBML header of doctype
	// webm or matroska.
	ErrNotWebM = errors.New("mux: not a WebM file")
	// ErrTruncated: the input ends inside an element or a block.
	ErrTruncated = errors.New("mux: truncated")
	// ErrCorrupt: the structure is invalid (bad size, overrun, garbage).
	ErrCorrupt = errors.New("mux: corrupt")
	// ErrTooLarge: an element is larger than the cap for its kind.
	ErrTooLarge = errors.New("mux: element too large")
	// ErrClosed: a Writer was used after Close or after a sticky error.
	ErrClosed = errors.New("mux: writer closed")
)

// FormatError describes a structural problem at a byte offset of the input.
type FormatError struct {
	Offset int64  // absolute byte offset of the problem
	Kind   error  // ErrNotWebM, ErrTruncated, ErrCorrupt or ErrTooLarge
	Reason string // what was wrong, lowercase
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s at byte %d: %s", e.Kind.Error(), e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Kind }

func formatErr(kind error, off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Kind: kind, Reason: fmt.Sprintf(format, args...)}
}
