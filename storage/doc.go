// Package storage keeps recordings: the Backend interface every store implements (put, get, stat,
// list, delete of write-once objects, with its error contract), the recording layout
// (RecordingPrefix, SegmentKey), and, in sub-packages, the backends (storage/file, storage/s3),
// the local spool that stands between the recorder and a remote store (storage/spool), and sealing
// (storage/seal: age encryption, hash-chained manifests signed in SSHSIG; FORMAT.md).
//
// Data enters as segment bytes keyed by the recording layout and leaves through Get. storage
// imports nothing else of Vigil's.
package storage
