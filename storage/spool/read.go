package spool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/seed18fc72c3/vigil/storage"
)

// pending returns the queued entry for key, copied, if the object waits in the spool.
func (s *Spool) pending(key string) (entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byKey[key]
	if e == nil || !e.ready {
		return entry{}, false
	}
	return *e, true
}

// Get implements storage.Backend: an object still waiting in the spool is read from there
// (the remote does not have it yet), any other from the remote.
func (s *Spool) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("spool: get %s: %w", key, err)
	}
	return rc, nil
}

func (s *Spool) get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidateKey(key); err != nil {
		return nil, err
	}
	if e, ok := s.pending(key); ok {
		rc, err := s.local.Get(ctx, localKey(e.seq))
		switch {
		case err == nil:
			br := bufio.NewReader(rc)
			if _, err := decodeHeader(br); err != nil {
				rc.Close()
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{br, rc}, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		// Uploaded and removed since we looked: the remote has it now.
	}
	return s.remote.Get(ctx, key)
}

// Stat implements storage.Backend, as Get.
func (s *Spool) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("spool: stat %s: %w", key, err)
	}
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("spool: stat %s: %w", key, err)
	}
	if e, ok := s.pending(key); ok {
		return storage.ObjectInfo{Key: key, Size: e.size, ModTime: e.modTime}, nil
	}
	info, err := s.remote.Stat(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("spool: stat %s: %w", key, err)
	}
	return info, nil
}

// List implements storage.Backend: the remote's objects and those waiting in the spool. If the
// remote cannot be listed List fails: a list of only the spooled objects would look complete.
func (s *Spool) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	infos, err := s.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("spool: list %s: %w", prefix, err)
	}
	return infos, nil
}

func (s *Spool) list(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	// The spool is read before the remote: an object uploaded in between then shows in both
	// (and is listed once), never in neither.
	var spooled []storage.ObjectInfo
	s.mu.Lock()
	for _, e := range s.queue {
		if strings.HasPrefix(e.key, prefix) {
			spooled = append(spooled, storage.ObjectInfo{Key: e.key, Size: e.size, ModTime: e.modTime})
		}
	}
	s.mu.Unlock()
	infos, err := s.remote.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(infos))
	for _, info := range infos {
		seen[info.Key] = true
	}
	for _, info := range spooled {
		if !seen[info.Key] {
			infos = append(infos, info)
		}
	}
	slices.SortFunc(infos, func(a, b storage.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return infos, nil
}

// Delete implements storage.Backend. An object still waiting in the spool is dropped from it;
// one being uploaded is waited for and then deleted from the remote.
func (s *Spool) Delete(ctx context.Context, key string) error {
	if err := s.delete(ctx, key); err != nil {
		return fmt.Errorf("spool: delete %s: %w", key, err)
	}
	return nil
}

func (s *Spool) delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		e := s.byKey[key]
		if e == nil || !e.ready {
			s.mu.Unlock()
			err := s.remote.Delete(ctx, key)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				s.mu.Lock()
				s.forget(key)
				s.mu.Unlock()
			}
			return err
		}
		if e.inflight {
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
			continue
		}
		i := slices.Index(s.queue, e)
		s.queue = slices.Delete(s.queue, i, i+1)
		delete(s.byKey, key)
		s.forget(key)
		s.used -= e.size
		s.release(e)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		if err := s.local.Delete(context.WithoutCancel(ctx), localKey(e.seq)); err != nil {
			return fmt.Errorf("remove spool file: %w", err)
		}
		return nil
	}
}
