package spool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
)

// counting counts the remote requests Put makes to enforce write-once.
type counting struct {
	*remote
	stats, lists atomic.Int64
}

func (c *counting) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	c.stats.Add(1)
	return c.remote.Stat(ctx, key)
}

func (c *counting) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	c.lists.Add(1)
	return c.remote.List(ctx, prefix)
}

func newCounting(t *testing.T) (*counting, storage.Backend) {
	under := fileBackend(t, t.TempDir())
	return &counting{remote: &remote{Backend: under}}, under
}

func putString(s *Spool, key, v string) error {
	return s.Put(context.Background(), key, strings.NewReader(v), int64(len(v)))
}

// TestRecordChecks: write-once is enforced with one remote List per directory, not a request per
// Put, and sees what the remote held before, what the spool put (uploaded or not) and what was
// deleted through it.
func TestRecordChecks(t *testing.T) {
	tests := []struct {
		name       string
		before     []string // objects the remote holds before the spool starts
		puts       []string // spool Puts, in order; a key prefixed "!" must fail with ErrExist
		deletes    []string // spool Deletes after the Puts were uploaded
		after      []string // spool Puts after the deletes, same convention
		wantLists  int64
		wantStats  int64
		uploadedOK int // objects the remote holds at the end
	}{
		{"one directory, one list", nil, []string{"d/0", "d/1", "d/2", "d/3"}, nil, nil, 1, 0, 4},
		{"two directories", nil, []string{"a/0", "b/0", "a/1", "b/1"}, nil, nil, 2, 0, 4},
		{"remote object seen", []string{"d/x", "d/sub/y"}, []string{"!d/x", "d/y", "!d/sub/y", "d/sub/z"}, nil, nil, 2, 0, 4},
		{"own object seen after upload", nil, []string{"d/x"}, nil, []string{"!d/x", "d/z"}, 1, 0, 2},
		{"put after delete", nil, []string{"d/x", "d/y"}, []string{"d/x"}, []string{"d/x", "!d/y"}, 1, 0, 2},
		{"top-level keys are stat'ed", []string{"top"}, []string{"!top", "other"}, nil, nil, 0, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rem, under := newCounting(t)
			for _, k := range tt.before {
				if err := under.Put(context.Background(), k, strings.NewReader("old"), 3); err != nil {
					t.Fatal(err)
				}
			}
			s := newSpool(t, fileBackend(t, t.TempDir()), rem, fastRetry)
			putAll := func(keys []string) {
				t.Helper()
				for _, k := range keys {
					key, dup := strings.CutPrefix(k, "!")
					err := putString(s, key, "new "+key)
					switch {
					case dup && !errors.Is(err, storage.ErrExist):
						t.Fatalf("Put %s: %v, want ErrExist", key, err)
					case !dup && err != nil:
						t.Fatalf("Put %s: %v", key, err)
					}
				}
			}
			putAll(tt.puts)
			flush(t, s, 10e9)
			for _, k := range tt.deletes {
				if err := s.Delete(context.Background(), k); err != nil {
					t.Fatalf("Delete %s: %v", k, err)
				}
			}
			putAll(tt.after)
			flush(t, s, 10e9)
			if got := rem.lists.Load(); got != tt.wantLists {
				t.Errorf("%d remote Lists, want %d", got, tt.wantLists)
			}
			if got := rem.stats.Load(); got != tt.wantStats {
				t.Errorf("%d remote Stats, want %d", got, tt.wantStats)
			}
			all, err := under.List(context.Background(), "")
			if err != nil || len(all) != tt.uploadedOK {
				t.Errorf("remote holds %v, %v; want %d objects", all, err, tt.uploadedOK)
			}
		})
	}
}

// TestRecordEviction: a directory dropped from a full record is listed again at its next Put,
// and the listing still shows what the spool uploaded there.
func TestRecordEviction(t *testing.T) {
	rem, _ := newCounting(t)
	s := newSpool(t, fileBackend(t, t.TempDir()), rem, fastRetry)
	s.maxDirs = 2
	for _, d := range []string{"a", "b", "c"} {
		if err := putString(s, d+"/0", "x"); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, s, 10e9)
	if err := putString(s, "b/1", "x"); err != nil { // b is still recorded
		t.Fatal(err)
	}
	if got := rem.lists.Load(); got != 3 {
		t.Fatalf("%d Lists before the evicted directory's Put, want 3", got)
	}
	if err := putString(s, "a/0", "again"); !errors.Is(err, storage.ErrExist) {
		t.Fatalf("Put of an uploaded key in an evicted directory: %v, want ErrExist", err)
	}
	if got := rem.lists.Load(); got != 4 {
		t.Errorf("%d Lists, want 4: the evicted directory is listed again", got)
	}
	if len(s.dirs) > 2 {
		t.Errorf("record holds %d directories, max 2", len(s.dirs))
	}
}

// TestRecordUncheckedDirectory: a directory whose listing failed is not taken as listed; the
// next Put with the remote reachable lists it and sees the objects it holds.
func TestRecordUncheckedDirectory(t *testing.T) {
	rem, under := newCounting(t)
	rem.down.Store(true)
	s := newSpool(t, fileBackend(t, t.TempDir()), rem, Options{RetryMin: 1e6, RetryMax: 1e7})
	if err := putString(s, "d/0", "x"); err != nil {
		t.Fatalf("Put while the remote is down: %v", err)
	}
	if err := under.Put(context.Background(), "d/1", strings.NewReader("other"), 5); err != nil {
		t.Fatal(err)
	}
	rem.down.Store(false)
	flush(t, s, 10e9)
	if err := putString(s, "d/1", "x"); !errors.Is(err, storage.ErrExist) {
		t.Fatalf("Put of a key the remote holds: %v, want ErrExist", err)
	}
	if err := putString(s, "d/0", "x"); !errors.Is(err, storage.ErrExist) {
		t.Fatalf("Put of a key the spool uploaded: %v, want ErrExist", err)
	}
	if got := rem.lists.Load(); got != 2 {
		t.Errorf("%d Lists, want 2 (one failed, one after the remote came back)", got)
	}
}

func BenchmarkRecordCheck(b *testing.B) {
	// What Put pays per object in a directory it has listed: map lookups under the lock.
	s := &Spool{dirs: make(map[string]*dirRecord), maxDirs: defaultMaxDirs}
	s.dirs["d"] = &dirRecord{listed: true, keys: map[string]struct{}{}}
	for i := range 10000 {
		s.remember(fmt.Sprintf("d/%d", i))
	}
	for b.Loop() {
		if err := s.checkRemote(context.Background(), "d/new", true); err != nil {
			b.Fatal(err)
		}
	}
}
