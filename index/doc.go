// Package index makes recordings searchable: the command lines and screen text of text sessions,
// and the OCR text and typed lines of graphical ones, in a Bleve scorch index under <data>/index.
//
// # How data enters and leaves
//
// Text enters through an Extractor, which runs a terminal emulator over a session's events and
// emits Lines: a command when Enter is typed (the cursor's line as the target echoed it, prompt cut
// off; redacted input is never read, and a no-echo prompt shows nothing), and screen lines when
// output pauses (settle) or before they could scroll off, each once. Three paths feed the index:
//   - live: Index.Feed returns a Feed whose Event never blocks; a bounded queue (MaxQueueBytes)
//     feeds a worker goroutine. When the queue is full the feed drops the rest of the session and
//     marks it for catch-up (Index.CatchUp, kept in <index>/catchup across restarts).
//   - stored: Index.IndexRecording reads a recording's records (encode.Records) and replaces the
//     session's documents; `vigil reindex` and the catch-up use it.
//   - graphical sessions: Index.AddOCR takes text read from screen regions (kind screen-ocr,
//     each line keeps its region: Hit.Region, "region":[x,y,w,h] in JSON), and Index.AddLines
//     takes the lines typed (kind command).
//
// Text leaves through Index.Search (a Query: Bleve query-string text with every clause required,
// filters on user, target, session, kind and time) as Hits: one matching line each, with session,
// wall time, offset in the recording and match ranges; and through Index.Handler, the JSON API.
// Hits are exactly the first Limit matching lines in time or relevance order; Search reads
// chunks a page at a time and stops when no later chunk can hold a better line (plan.go). A
// phrase in time order first finds the chunks holding its words, without positions, and checks
// the phrase only on those it needs (rewrite.go): over 1M lines of common words, 26 ms at p50
// where Bleve's own phrase plan took 75 ms. A phrase much rarer than its words falls back to
// Bleve's plan after a short probe; relevance order always uses Bleve's plan.
//
// # Documents
//
// Bleve's cost is per document, so a document is a chunk of up to 128 lines of one session and one
// kind within five minutes, joined by '\n', with each line's offset stored compactly (uvarint
// millisecond deltas, base64). At query time a match's byte location names its line, and so its
// offset. The text analyzer turns `_ . : '` into spaces before word segmentation and lower-cases.
// OCR chunks also store each line's screen region (four varints a line, base64).
//
// The on-disk layout is unchanged by OCR and the search plans: older indexes (whose mapping names
// Bleve's regexp char filter) open and answer the same; `vigil reindex` is not needed.
//
// index imports capture and encode/eventlog only (deps_test.go).
package index
