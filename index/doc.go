// Package index makes recordings searchable: command lines and screen text of text sessions, and
// (later) OCR text of graphical ones, in a Bleve index under the data directory.
//
// Data enters from encode (live, through a bounded queue, or from stored recordings on reindex)
// and leaves as search hits with session, time and offset. Not built yet.
package index
