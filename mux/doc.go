// Package mux is reckit's streaming WebM/EBML core: an element scanner, a
// demuxer that iterates blocks and VP8 frame headers without decoding pixels,
// a muxer that writes seekable or live WebM (one VP8 video track and
// optionally one audio track), and the remuxers behind split, join and
// repair, which carry a VP8 track and one Opus or Vorbis track byte for byte.
//
// Everything here streams: memory is bounded by constants (the largest header
// element accepted, one Cluster being written), never by the file size. Sizes
// read from a file are checked against a cap and against what is left of the
// parent element before anything is allocated.
//
// References: the EBML RFC 8794 (variable-size integers, unknown sizes),
// the Matroska element specification (IDs, hierarchy), the WebM container
// guidelines (allowed elements), and RFC 6386 section 9.1 (VP8 frame tag and
// key-frame header).
package mux
