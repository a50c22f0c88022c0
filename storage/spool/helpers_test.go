package spool

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/file"
)

var errDown = errors.New("remote unreachable (test)")

// remote wraps a backend: it can be taken down (every call fails with errDown) and it records
// the keys of successful Puts in order.
type remote struct {
	storage.Backend
	down atomic.Bool
	mu   sync.Mutex
	puts []string
}

func (r *remote) Put(ctx context.Context, key string, rd io.Reader, size int64) error {
	if r.down.Load() {
		return errDown
	}
	err := r.Backend.Put(ctx, key, rd, size)
	if err == nil {
		r.mu.Lock()
		r.puts = append(r.puts, key)
		r.mu.Unlock()
	}
	return err
}

func (r *remote) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if r.down.Load() {
		return nil, errDown
	}
	return r.Backend.Get(ctx, key)
}

func (r *remote) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if r.down.Load() {
		return storage.ObjectInfo{}, errDown
	}
	return r.Backend.Stat(ctx, key)
}

func (r *remote) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	if r.down.Load() {
		return nil, errDown
	}
	return r.Backend.List(ctx, prefix)
}

func (r *remote) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.puts...)
}

func fileBackend(t testing.TB, dir string) *file.Backend {
	t.Helper()
	b, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var fastRetry = Options{RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}

func newSpool(t testing.TB, local, rem storage.Backend, opts Options) *Spool {
	t.Helper()
	s, err := New(local, rem, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func flush(t testing.TB, s *Spool, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// syncWriter serializes writes from the uploader goroutine and the test.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
