package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/seed18fc72c3/vigil/storage"
)

// defaultMaxDirs bounds how many directories the spool remembers the keys of. A recording is one
// directory, so this is the number of recent recordings whose Puts need no remote check; a
// directory dropped from the record costs one more List at its next Put, nothing else.
const defaultMaxDirs = 1024

// dirRecord is the spool's own record of which keys exist in a directory ("a/b" for key
// "a/b/c"): every key the remote listed when the spool first put into the directory, plus every
// key the spool has taken since, minus those deleted through it. It is what lets Put enforce
// write-once without a remote request per object (a HEAD costs the store as much CPU as a third
// of a small PUT, and the recorder stores three objects per segment).
//
// The record is exact as long as the spool is the only writer of the directory, which is true of
// recordings (one writer per session, named by a fresh session id). An object another writer
// puts into a recorded directory is not seen by Put; the conditional PUT at upload still refuses
// to overwrite it, and the spool keeps a differing object of its own aside (resolveExisting).
type dirRecord struct {
	listed bool                // keys holds the remote's listing, not only the spool's own Puts
	keys   map[string]struct{} // full keys
	used   uint64              // s.dirClock when last used, for eviction
}

// recordDirOf returns the record of key's directory, creating it (and evicting the least
// recently used one if the record is full). Callers hold s.mu.
func (s *Spool) recordDirOf(key string) *dirRecord {
	dir := path.Dir(key)
	s.dirClock++
	if d := s.dirs[dir]; d != nil {
		d.used = s.dirClock
		return d
	}
	if len(s.dirs) >= s.maxDirs {
		oldest, at := "", uint64(0)
		for k, d := range s.dirs {
			if oldest == "" || d.used < at {
				oldest, at = k, d.used
			}
		}
		delete(s.dirs, oldest)
	}
	d := &dirRecord{keys: make(map[string]struct{}), used: s.dirClock}
	s.dirs[dir] = d
	return d
}

// remember notes that key now exists (spooled or uploaded). Callers hold s.mu.
func (s *Spool) remember(key string) {
	s.recordDirOf(key).keys[key] = struct{}{}
}

// forget notes that key was deleted. Callers hold s.mu.
func (s *Spool) forget(key string) {
	if d := s.dirs[path.Dir(key)]; d != nil {
		delete(d.keys, key)
	}
}

// checkRemote enforces write-once against the remote for a key the spool does not hold queued:
// from the directory's record if the directory has been listed, else by listing it once (or, for
// a key at the top level, whose "directory" is the whole store, by a Stat). If the remote cannot
// be asked, the object is spooled anyway and a duplicate is caught at upload.
func (s *Spool) checkRemote(ctx context.Context, key string, remoteUp bool) error {
	s.mu.Lock()
	d := s.dirs[path.Dir(key)]
	if d != nil && d.listed {
		_, exists := d.keys[key]
		s.recordDirOf(key) // counts as a use
		s.mu.Unlock()
		if exists {
			return storage.ErrExist
		}
		return nil
	}
	s.mu.Unlock()
	if !remoteUp {
		// The last upload failed: the remote is likely down and asking would only stall the
		// recorder.
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
	defer cancel()
	dir := path.Dir(key)
	if dir == "." {
		_, err := s.remote.Stat(cctx, key)
		return s.checkAnswer(ctx, key, err == nil, err, fs.ErrNotExist)
	}
	infos, err := s.remote.List(cctx, dir+"/")
	if err != nil {
		return s.checkAnswer(ctx, key, false, err, nil)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d = s.recordDirOf(key)
	for _, info := range infos {
		if path.Dir(info.Key) == dir {
			d.keys[info.Key] = struct{}{}
		}
	}
	d.listed = true
	if _, exists := d.keys[key]; exists {
		return storage.ErrExist
	}
	return nil
}

// checkAnswer turns the remote's answer to a check into Put's: ErrExist, ctx's error, or nil
// (absent, or the check failed and a duplicate is left to the upload, logged).
func (s *Spool) checkAnswer(ctx context.Context, key string, exists bool, err, absent error) error {
	switch {
	case exists:
		return storage.ErrExist
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case absent != nil && errors.Is(err, absent):
		return nil
	}
	s.log.Warn("spool: cannot check the remote for an existing object; spooling anyway", "key", key, "err", fmt.Sprint(err))
	return nil
}
