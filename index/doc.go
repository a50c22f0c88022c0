// Package index makes recordings searchable: the command lines and screen text of text sessions
// (and, later, OCR text of graphical ones) in a Bleve scorch index under <data>/index.
//
// # How data enters and leaves
//
// Text enters through an Extractor, which runs a terminal emulator over a session's events and
// emits Lines: a command when Enter is typed (the cursor's line as the target echoed it, prompt cut
// off; redacted input is never read, and a no-echo prompt shows nothing), and screen lines when
// output pauses (settle) or before they could scroll off, each once. Two paths feed it:
//   - live: Index.Feed returns a Feed whose Event never blocks; a bounded queue (MaxQueueBytes)
//     feeds a worker goroutine. When the queue is full the feed drops the rest of the session and
//     marks it for catch-up (Index.CatchUp, kept in <index>/catchup across restarts).
//   - stored: Index.IndexRecording reads a recording's records (encode.Records) and replaces the
//     session's documents; `vigil reindex` and the catch-up use it.
//
// Text leaves through Index.Search (a Query: Bleve query-string text with every clause required,
// filters on user, target, session, kind and time) as Hits: one matching line each, with session,
// wall time, offset in the recording and match ranges; and through Index.Handler, the JSON API.
//
// # Documents
//
// Bleve's cost is per document, so a document is a chunk of up to 128 lines of one session and one
// kind within five minutes, joined by '\n', with each line's offset stored compactly (uvarint
// millisecond deltas, base64). At query time a match's byte location names its line, and so its
// offset. The text analyzer turns `_ . : '` into spaces before word segmentation and lower-cases.
//
// index imports capture and encode/eventlog only (deps_test.go).
package index
