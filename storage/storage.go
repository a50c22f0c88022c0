package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Sentinel errors. Backends wrap them with the operation and the key, so callers test them with
// errors.Is. An absent object is reported with fs.ErrNotExist, as the standard library does.
var (
	// ErrInvalidKey means a key or a List prefix breaks the key rules (see ValidateKey). No
	// backend touches its store for such a key.
	ErrInvalidKey = errors.New("invalid key")

	// ErrExist means Put was given a key that already holds an object. Recordings are write-once:
	// a sealed segment is never replaced in place. It is fs.ErrExist itself, so either name works
	// with errors.Is.
	ErrExist = fs.ErrExist

	// ErrSizeMismatch means Put was told a size and the reader gave more or fewer bytes.
	ErrSizeMismatch = errors.New("size mismatch")
)

// Backend stores immutable objects by key.
//
// Keys follow ValidateKey; any method given another key returns an error wrapping ErrInvalidKey.
// Every method returns ctx's error (wrapped) if ctx is done before it completes; a Put or Delete
// that fails so has not changed which objects exist. Implementations are safe for concurrent use.
//
// Keys form a flat namespace, as in S3: "a/b" names an object, not a directory, and List matches
// plain string prefixes. One restriction keeps the file backend possible: a key may not be both an
// object and a proper prefix of another object's key followed by "/" (not both "a" and "a/b").
type Backend interface {
	// Put stores the bytes of r under key. size is the number of bytes r will give, or negative if
	// unknown; a known size that r does not match fails with ErrSizeMismatch.
	//
	// Put is atomic: Get, Stat and List report the object absent until it is complete (at the
	// latest when Put returns nil), never part of it; and a Put that fails (r fails, ctx is done,
	// the disk is full) leaves no object and no partial data behind.
	// Objects are write-once: Put fails with ErrExist if key already holds an object; of several
	// concurrent Puts of one key exactly one succeeds. To replace an object, Delete it first.
	Put(ctx context.Context, key string, r io.Reader, size int64) error

	// Get opens the object for reading; the caller closes it. It returns fs.ErrNotExist if the
	// object is absent. Reads from the returned reader fail once ctx is done.
	Get(ctx context.Context, key string) (io.ReadCloser, error)

	// Stat describes the object, or returns fs.ErrNotExist if it is absent.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// List describes every object whose key starts with prefix (a plain string prefix: "a/b"
	// matches "a/b/c" and "a/bc"), sorted by key. The empty prefix lists everything; no match is
	// an empty result, not an error. A prefix must satisfy ValidatePrefix.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)

	// Delete removes the object, or returns fs.ErrNotExist if it is absent.
	Delete(ctx context.Context, key string) error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}
