// Package storage keeps recordings: the Backend interface every store implements (put, get, stat,
// list and delete of immutable, write-once objects), the key rules every backend shares, and the
// object layout of DESIGN.md ("recordings/YYYY/MM/DD/<session>/" holding segments, manifest and
// signature). Later it will also hold sealing and manifests.
//
// Data enters as whole objects through Backend.Put (a sealed segment, a manifest) under keys built
// by RecordingPrefix and SegmentKey, and leaves through Get. The backends live in sub-packages named
// for what they talk to (storage/file, later storage/s3); storagetest holds the contract suite each
// of them must pass.
//
// storage imports nothing else of Vigil's.
package storage
