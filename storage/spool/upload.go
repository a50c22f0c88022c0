package spool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
)

// uploader uploads the queue head first, so objects reach the remote in the order their Puts
// completed (a recording's segments before its manifest). A failure blocks the queue and is
// retried with backoff: skipping ahead would break that order.
func (s *Spool) uploader(ctx context.Context) {
	defer close(s.done)
	backoff := s.opts.RetryMin
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		e := s.queue[0]
		e.inflight = true
		s.mu.Unlock()

		err := s.upload(ctx, e)

		s.mu.Lock()
		e.inflight = false
		wasDown := s.remoteDown
		if err == nil {
			s.queue = s.queue[1:]
			delete(s.byKey, e.key)
			s.used -= e.size
			s.release(e)
			s.remoteDown, s.lastErr = false, nil
		} else {
			s.remoteDown, s.lastErr = true, err
		}
		pending := len(s.queue)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()

		if err == nil {
			if wasDown {
				s.log.Info("spool: remote reachable again", "pending", pending)
			}
			backoff = s.opts.RetryMin
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("spool: upload failed; retrying", "key", e.key, "pending", pending, "retry_in", backoff, "err", err)
		// Up to a quarter of jitter keeps many nodes from retrying a recovering store in step.
		t := time.NewTimer(backoff + rand.N(backoff/4+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.opts.RetryMax)
	}
}

// upload copies one spooled object to the remote and removes it from the spool.
func (s *Spool) upload(ctx context.Context, e *entry) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.UploadTimeout)
	defer cancel()
	lk := localKey(e.seq)
	var err error
	// e.data is not changed while e is in flight.
	if e.data != nil {
		err = s.remote.Put(ctx, e.key, bytes.NewReader(e.data), e.size)
	} else {
		err = s.withObject(ctx, lk, func(r io.Reader) error {
			return s.remote.Put(ctx, e.key, r, e.size)
		})
	}
	if errors.Is(err, storage.ErrExist) {
		// Most often our own upload whose spool file a crash kept; else a real conflict.
		err = s.resolveExisting(ctx, e)
	}
	if err != nil {
		return err
	}
	if err := s.local.Delete(ctx, lk); err != nil {
		// The remote has it; a leftover file is uploaded again after a restart, found
		// identical and removed then.
		s.log.Error("spool: uploaded, but cannot remove the spool file", "key", e.key, "err", err)
	}
	return nil
}

// withObject opens a spool file and hands fn a reader of the object past its header.
func (s *Spool) withObject(ctx context.Context, lk string, fn func(io.Reader) error) error {
	rc, err := s.local.Get(ctx, lk)
	if err != nil {
		return fmt.Errorf("open spool file: %w", err)
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if _, err := decodeHeader(br); err != nil {
		return fmt.Errorf("spool file %s: %w", lk, err)
	}
	return fn(br)
}

// resolveExisting handles a remote that already holds e.key: identical bytes mean the object is
// uploaded; different bytes are a conflict, and the spooled object is moved aside under
// conflict/ (never dropped, never uploaded over the other) for an operator to judge.
func (s *Spool) resolveExisting(ctx context.Context, e *entry) error {
	rc, err := s.remote.Get(ctx, e.key)
	if err != nil {
		return fmt.Errorf("compare with the existing remote object: %w", err)
	}
	remote, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("compare with the existing remote object: %w", err)
	}
	var local []byte
	if err := s.withObject(ctx, localKey(e.seq), func(r io.Reader) (err error) {
		local, err = io.ReadAll(r)
		return err
	}); err != nil {
		return err
	}
	if bytes.Equal(local, remote) {
		return nil
	}
	ck := conflictPrefix + localKey(e.seq)[len(queuePrefix):]
	hdr := encodeHeader(e.key)
	if err := s.local.Put(ctx, ck, io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(local)), int64(len(hdr)+len(local))); err != nil && !errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("keep conflicting object: %w", err)
	}
	s.log.Error("spool: the remote holds a different object under this key; the spooled one is kept aside",
		"key", e.key, "kept_as", ck)
	return nil
}

// Flush waits until every object spooled so far has been uploaded, or ctx is done; then its
// error names how many objects still wait and the last upload error.
func (s *Spool) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, last, ch, closed := len(s.queue), s.lastErr, s.changed, s.closed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		if closed {
			return fmt.Errorf("spool: flush: %w with %d objects pending", ErrClosed, n)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("spool: flush: %d objects pending, last upload error: %v: %w", n, last, ctx.Err())
			}
			return fmt.Errorf("spool: flush: %d objects pending: %w", n, ctx.Err())
		}
	}
}

// Close stops the uploader, waiting for an upload in flight to end. Objects not uploaded stay in
// the spool for the next New. Close does not close local or remote.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.cancel()
	<-s.done
	return nil
}
