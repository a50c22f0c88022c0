// Package spool puts a local disk queue in front of a remote storage.Backend (S3), so that a
// recording never waits on the network and survives a store outage.
//
// Put writes the object durably to the local spool (a storage/file directory) and returns; one
// goroutine uploads spooled objects to the remote in the order their Puts completed, retrying
// with exponential backoff while the remote is unreachable, and removes each from the spool once
// the remote holds it. A Spool opened on a directory that still holds objects (after a crash or
// an outage across a restart) uploads them first, in their original order. Get, Stat and List
// serve from the remote and fill in objects still waiting in the spool.
//
// Write-once costs no remote request per Put: the spool lists a directory of the remote once, at
// its first Put there, and from then on keeps its own record of the keys in it (record.go). A
// recording is one directory with one writer, so the record is exact for recordings; an object
// another writer puts into a recorded directory is refused at upload by the remote's conditional
// PUT (If-None-Match), and a differing spooled object is kept aside under conflict/. Objects up to
// 1 MiB are uploaded from a copy Put kept in memory (memory.go); the spool file stays the durable
// record that a restart uploads.
//
// When the spool cannot take an object (MaxBytes reached, or the local disk fails) Put returns
// the error, wrapping ErrSpoolFull or the disk's error: the recorder must then fail the session
// closed, never drop the segment.
//
// On disk, each spooled object is one file named by its sequence number ("q/<20 digits>"),
// holding a header (the magic line "VSPOOL1\n", then the object's key and "\n") followed by the
// object's bytes. The key lives in the file so that any valid key, up to storage.MaxKeyLen, can
// be spooled; the file backend's atomic Put makes the header and the bytes appear together.
package spool
