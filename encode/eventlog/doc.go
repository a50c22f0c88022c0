// Package eventlog writes and reads Vigil's event log: the recording format of text sessions and
// of the input side of graphical ones. FORMAT.md beside this file is the specification.
//
// Data enters as Records (the events of a session's capture ring) through a Writer, which
// compresses them into CRC-checked zstd blocks on any io.Writer (a sealing writer, a spool file).
// It leaves through a Reader, which returns the same Records from one segment, and through
// ExportAsciicast, which turns a run of segments into an asciicast v2 file for asciinema.
//
// A segment is self-contained: a header with the session metadata, then a keyframe (the whole
// screen, from package encode/term), then records. The recorder cuts a new segment by size
// (Writer.Size) or time; a player seeks by opening the segment at or before the wanted time.
package eventlog
