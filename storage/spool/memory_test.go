package spool

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
)

// readCounting counts the spool files read back.
type readCounting struct {
	storage.Backend
	gets atomic.Int64
}

func (r *readCounting) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r.gets.Add(1)
	return r.Backend.Get(ctx, key)
}

// TestUploadFromMemory: objects up to memObjectMax go up from the copy Put kept, larger ones and
// those recovered after a restart from their spool files; every one arrives intact.
func TestUploadFromMemory(t *testing.T) {
	tests := []struct {
		name      string
		sizes     []int
		restart   bool  // the objects are spooled by one Spool and uploaded by the next
		wantReads int64 // spool files read (Get) after the first New
	}{
		{"small", []int{0, 1, 2 << 10}, false, 0},
		{"at the limit", []int{memObjectMax}, false, 0},
		{"over the limit", []int{memObjectMax + 1}, false, 1},
		{"size unknown", []int{-3}, false, 0}, // -n: n bytes put with size -1
		{"mixed", []int{100, memObjectMax + 1, 100}, false, 1},
		{"after a restart", []int{100, 200}, true, 4}, // each header at recovery, then each object
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := &readCounting{Backend: fileBackend(t, t.TempDir())}
			under := fileBackend(t, t.TempDir())
			rem := &remote{Backend: under}
			if tt.restart {
				rem.down.Store(true)
			}
			s := newSpool(t, local, rem, fastRetry)
			reads0 := local.gets.Load()
			var want [][]byte
			for i, n := range tt.sizes {
				size := int64(n)
				if n < 0 {
					n, size = -n, -1
				}
				d := bytes.Repeat([]byte{byte('a' + i)}, n)
				want = append(want, d)
				if err := s.Put(context.Background(), segKey(i), bytes.NewReader(d), size); err != nil {
					t.Fatalf("Put %d: %v", i, err)
				}
			}
			if tt.restart {
				s.Close()
				rem.down.Store(false)
				s = newSpool(t, local, rem, fastRetry)
			}
			flush(t, s, 10e9)
			if got := local.gets.Load() - reads0; got != tt.wantReads {
				t.Errorf("%d spool files read back for the upload, want %d", got, tt.wantReads)
			}
			for i, d := range want {
				rc, err := under.Get(context.Background(), segKey(i))
				if err != nil {
					t.Fatalf("remote Get %d: %v", i, err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if !bytes.Equal(got, d) {
					t.Errorf("remote object %d: %d bytes, differs from the %d put", i, len(got), len(d))
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.memUsed != 0 {
				t.Errorf("%d bytes still held in memory after the queue drained", s.memUsed)
			}
		})
	}
}
