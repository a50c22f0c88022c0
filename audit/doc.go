// Package audit is Vigil's security event log: logins and failures, sessions started and ended with
// their cause, refused requests, key rotations, legal holds, failed verifications. It is one file of
// JSON lines in the data directory, append-only and hash-chained: each line carries the SHA-256 of
// the line before it, so a deleted, reordered or edited line breaks the chain at a point Verify names.
//
// Events enter through Log.Append (the gateway's audit callback) and leave through Verify and
// `vigil audit`. audit imports nothing else of Vigil's.
package audit
