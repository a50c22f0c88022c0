package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/storagetest"
)

// TestContract: the spool is a storage.Backend like any other, whether the uploads have
// happened yet or not.
func TestContract(t *testing.T) {
	storagetest.RunBackendTests(t, func(t *testing.T) storage.Backend {
		return newSpool(t, fileBackend(t, t.TempDir()), fileBackend(t, t.TempDir()), fastRetry)
	})
}

func data(i int) []byte { return []byte(strings.Repeat(fmt.Sprintf("object %d;", i), 50+i)) }

func segKey(i int) string { return storage.SegmentKey("recordings/2025/01/02/s1/", i) }

func putN(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		d := data(i)
		if err := s.Put(context.Background(), segKey(i), bytes.NewReader(d), int64(len(d))); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
}

func wantKeys(from, to int) []string {
	var keys []string
	for i := from; i < to; i++ {
		keys = append(keys, segKey(i))
	}
	return keys
}

func assertRemoteHas(t *testing.T, b storage.Backend, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		rc, err := b.Get(context.Background(), segKey(i))
		if err != nil {
			t.Fatalf("remote Get %d: %v", i, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data(i)) {
			t.Fatalf("remote object %d: %d bytes, %v; differs from what was put", i, len(got), err)
		}
	}
}

func assertSpoolEmpty(t *testing.T, local storage.Backend) {
	t.Helper()
	infos, err := local.List(context.Background(), queuePrefix)
	if err != nil || len(infos) != 0 {
		t.Fatalf("spool after flush: %v, %v; want empty", infos, err)
	}
}

// TestOutage: objects put while the remote is down wait in the spool, are readable from there,
// and all arrive, in order, once it is back.
func TestOutage(t *testing.T) {
	local := fileBackend(t, t.TempDir())
	rem := &remote{Backend: fileBackend(t, t.TempDir())}
	s := newSpool(t, local, rem, fastRetry)
	putN(t, s, 0, 3)
	flush(t, s, 10*time.Second)
	rem.down.Store(true)
	putN(t, s, 3, 10)
	// Served from the spool while the remote is down.
	if info, err := s.Stat(context.Background(), segKey(5)); err != nil || info.Size != int64(len(data(5))) {
		t.Fatalf("Stat of a spooled object = %+v, %v", info, err)
	}
	rc, err := s.Get(context.Background(), segKey(7))
	if err != nil {
		t.Fatalf("Get of a spooled object: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data(7)) {
		t.Fatal("Get of a spooled object differs from what was put")
	}
	if err := s.Put(context.Background(), segKey(4), strings.NewReader("again"), 5); !errors.Is(err, storage.ErrExist) {
		t.Errorf("Put of a spooled key = %v, want ErrExist", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if err := s.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "7 objects pending") {
		t.Errorf("Flush while down = %v, want a deadline error naming the 7 pending", err)
	}
	cancel()
	rem.down.Store(false)
	flush(t, s, 10*time.Second)
	if got := rem.order(); !slices.Equal(got, wantKeys(0, 10)) {
		t.Fatalf("upload order %q, want %q", got, wantKeys(0, 10))
	}
	assertRemoteHas(t, rem, 0, 10)
	assertSpoolEmpty(t, local)
}

// TestRestart: objects left in the spool by a closed (or crashed) Spool are uploaded, in their
// order, by the next one, before newer objects.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	local := fileBackend(t, dir)
	rem := &remote{Backend: fileBackend(t, t.TempDir())}
	rem.down.Store(true)
	s1 := newSpool(t, local, rem, fastRetry)
	putN(t, s1, 0, 6)
	s1.Close()
	if err := s1.Put(context.Background(), "late", strings.NewReader("x"), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	rem.down.Store(false)
	s2 := newSpool(t, fileBackend(t, dir), rem, fastRetry)
	putN(t, s2, 6, 8)
	flush(t, s2, 10*time.Second)
	if got := rem.order(); !slices.Equal(got, wantKeys(0, 8)) {
		t.Fatalf("upload order after restart %q, want %q", got, wantKeys(0, 8))
	}
	assertRemoteHas(t, rem, 0, 8)
	assertSpoolEmpty(t, local)
}

func TestSpoolFull(t *testing.T) {
	local := fileBackend(t, t.TempDir())
	rem := &remote{Backend: fileBackend(t, t.TempDir())}
	rem.down.Store(true)
	s := newSpool(t, local, rem, Options{MaxBytes: 1000, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	ctx := context.Background()
	if err := s.Put(ctx, "a", bytes.NewReader(make([]byte, 600)), 600); err != nil {
		t.Fatalf("first Put: %v", err)
	}
	tests := []struct {
		name string
		n    int
		size int64
	}{
		{"known size", 401, 401},
		{"unknown size", 401, -1},
		{"unknown size, far over", 10000, -1},
	}
	for _, tt := range tests {
		err := s.Put(ctx, "b", bytes.NewReader(make([]byte, tt.n)), tt.size)
		if !errors.Is(err, ErrSpoolFull) {
			t.Errorf("%s: Put over MaxBytes = %v, want ErrSpoolFull", tt.name, err)
		}
		if _, err := s.Stat(ctx, "b"); !errors.Is(err, errDown) {
			t.Errorf("%s: refused object visible: Stat = %v", tt.name, err)
		}
	}
	// Exactly full is not over.
	if err := s.Put(ctx, "c", bytes.NewReader(make([]byte, 400)), -1); err != nil {
		t.Fatalf("Put filling the spool exactly: %v", err)
	}
	if infos, _ := local.List(ctx, queuePrefix); len(infos) != 2 {
		t.Errorf("spool holds %d files, want the 2 accepted", len(infos))
	}
	rem.down.Store(false)
	flush(t, s, 10*time.Second)
	if err := s.Put(ctx, "b", bytes.NewReader(make([]byte, 1000)), 1000); err != nil {
		t.Errorf("Put after the spool drained: %v", err)
	}
}

// failingDisk fails every Put as a full disk would.
type failingDisk struct{ storage.Backend }

func (failingDisk) Put(context.Context, string, io.Reader, int64) error {
	return fmt.Errorf("file: put: write: %w", syscall.ENOSPC)
}

func TestDiskFailure(t *testing.T) {
	rem := &remote{Backend: fileBackend(t, t.TempDir())}
	s := newSpool(t, failingDisk{fileBackend(t, t.TempDir())}, rem, fastRetry)
	err := s.Put(context.Background(), "k", strings.NewReader("x"), 1)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a failing disk = %v, want the disk's error", err)
	}
	if _, err := s.Stat(context.Background(), "k"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after a failed Put = %v, want fs.ErrNotExist", err)
	}
	if got := rem.order(); len(got) != 0 {
		t.Errorf("remote got %q after a failed Put", got)
	}
}

// TestExistingAtUpload: the remote already holds a key the spool took while it could not check
// (down). Identical bytes (a re-upload after a crash) count as uploaded; different bytes are kept
// aside in the spool, never dropped and never written over the remote's.
func TestExistingAtUpload(t *testing.T) {
	local := fileBackend(t, t.TempDir())
	under := fileBackend(t, t.TempDir())
	rem := &remote{Backend: under}
	rem.down.Store(true)
	s := newSpool(t, local, rem, fastRetry)
	ctx := context.Background()
	for _, k := range []string{"same", "differs"} {
		if err := s.Put(ctx, k, strings.NewReader("spooled"), -1); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"same": "spooled", "differs": "already there"} {
		if err := under.Put(ctx, k, strings.NewReader(v), -1); err != nil {
			t.Fatal(err)
		}
	}
	rem.down.Store(false)
	flush(t, s, 10*time.Second)
	assertSpoolEmpty(t, local)
	kept, err := local.List(ctx, conflictPrefix)
	if err != nil || len(kept) != 1 {
		t.Fatalf("conflict/ holds %v, %v; want the one differing object", kept, err)
	}
	rc, err := under.Get(ctx, "differs")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "already there" {
		t.Errorf("remote object overwritten: %q", got)
	}
}

// TestDeletePending: deleting an object still in the spool drops it there; it never reaches
// the remote.
func TestDeletePending(t *testing.T) {
	local := fileBackend(t, t.TempDir())
	rem := &remote{Backend: fileBackend(t, t.TempDir())}
	rem.down.Store(true)
	s := newSpool(t, local, rem, fastRetry)
	putN(t, s, 0, 3)
	if err := s.Delete(context.Background(), segKey(1)); err != nil {
		t.Fatalf("Delete of a spooled object: %v", err)
	}
	rem.down.Store(false)
	flush(t, s, 10*time.Second)
	if got, want := rem.order(), []string{segKey(0), segKey(2)}; !slices.Equal(got, want) {
		t.Fatalf("uploaded %q, want %q", got, want)
	}
}
