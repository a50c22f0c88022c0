package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
)

func testConcurrentPuts(t *testing.T, b storage.Backend) {
	const writers, perWriter = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	var want []string
	for w := range writers {
		for i := range perWriter {
			want = append(want, key(w, i))
		}
		wg.Go(func() {
			for i := range perWriter {
				data := payload(uint64(w*perWriter+i), 1000*(w+i))
				// Writers share directories, so racing directory creation is exercised too.
				if err := b.Put(context.Background(), key(w, i), bytes.NewReader(data), int64(len(data))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Put: %v", err)
	}
	slices.Sort(want)
	if got := listKeys(t, b, "c/"); !slices.Equal(got, want) {
		t.Fatalf("List after concurrent Puts = %q, want %q", got, want)
	}
	for w := range writers {
		for i := range perWriter {
			if got := get(t, b, key(w, i)); !bytes.Equal(got, payload(uint64(w*perWriter+i), 1000*(w+i))) {
				t.Errorf("Get(%s) differs from what was put", key(w, i))
			}
		}
	}
}

func key(w, i int) string { return fmt.Sprintf("c/%d/w%d-%d", i%2, w, i) }

func testWriteOnce(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	put(t, b, "once/k", []byte("first"))
	for _, size := range []int64{6, -1} {
		err := b.Put(ctx, "once/k", bytes.NewReader([]byte("second")), size)
		if !errors.Is(err, storage.ErrExist) || !errors.Is(err, fs.ErrExist) {
			t.Errorf("second Put (size %d) = %v, want ErrExist", size, err)
		}
	}
	if got := get(t, b, "once/k"); string(got) != "first" {
		t.Errorf("after refused overwrite Get = %q, want %q", got, "first")
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"once/k"}) {
		t.Errorf("List() = %q, want only once/k", got)
	}
}

func testWriteOnceRace(t *testing.T, b storage.Backend) {
	const racers = 6
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			data := payload(uint64(100+i), 256<<10)
			errs[i] = b.Put(context.Background(), "race", bytes.NewReader(data), int64(len(data)))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Puts %d and %d of one key both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, storage.ErrExist):
			t.Errorf("losing Put %d = %v, want ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no Put of the raced key succeeded")
	}
	if got := get(t, b, "race"); !bytes.Equal(got, payload(uint64(100+winner), 256<<10)) {
		t.Error("stored object is not the winning Put's bytes")
	}
}

var errBoom = errors.New("boom: reader failed")

// failingReader gives n bytes, then fails.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func testFailingReader(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	for _, tt := range []struct {
		key  string
		n    int
		size int64
	}{
		{"fail", 0, -1},
		{"fail", 2 * mib, -1},
		{"fail", 2 * mib, 4 * mib},
		{"deep/new/dirs/fail", mib, -1},
	} {
		r := &failingReader{r: bytes.NewReader(payload(7, tt.n)), err: errBoom}
		if err := b.Put(ctx, tt.key, r, tt.size); !errors.Is(err, errBoom) {
			t.Errorf("Put(%s) from a reader failing after %d bytes = %v, want the reader's error", tt.key, tt.n, err)
		}
		assertAbsent(t, b, tt.key)
	}
	assertEmpty(t, b)
}

// testNotVisibleUntilDone holds a Put halfway through its reader and checks that nobody sees the
// object until the reader ends.
func testNotVisibleUntilDone(t *testing.T, b storage.Backend) {
	pr, pw := io.Pipe()
	data := payload(3, 3*mib)
	done := make(chan error, 1)
	go func() { done <- b.Put(context.Background(), "slow/obj", pr, -1) }()
	// A write to a pipe returns once the reader (the Put) has taken all of it.
	if _, err := pw.Write(data[:2*mib]); err != nil {
		t.Fatalf("feeding Put: %v", err)
	}
	assertAbsent(t, b, "slow/obj")
	assertEmpty(t, b)
	if _, err := pw.Write(data[2*mib:]); err != nil {
		t.Fatalf("feeding Put: %v", err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := get(t, b, "slow/obj"); !bytes.Equal(got, data) {
		t.Error("object differs from what was put")
	}
}

func testContextCancelled(t *testing.T, b storage.Backend) {
	put(t, b, "there", []byte("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Put(ctx, "new", bytes.NewReader([]byte("x")), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Put = %v, want context.Canceled", err)
	}
	if r, err := b.Get(ctx, "there"); !errors.Is(err, context.Canceled) {
		if err == nil {
			// A lazy Get may defer the check to the first Read; that must fail then.
			_, err = io.ReadAll(r)
			r.Close()
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Get and read = %v, want context.Canceled", err)
		}
	}
	if _, err := b.Stat(ctx, "there"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat = %v, want context.Canceled", err)
	}
	if _, err := b.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List = %v, want context.Canceled", err)
	}
	if err := b.Delete(ctx, "there"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete = %v, want context.Canceled", err)
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"there"}) {
		t.Errorf("after cancelled calls List() = %q, want only [there]", got)
	}
}

// cancellingReader cancels its context once it has given after bytes, and goes on giving data, so
// only the backend's own check of ctx can stop the Put.
type cancellingReader struct {
	r      io.Reader
	after  int
	n      int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

func testContextCancelledMidway(t *testing.T, b storage.Backend) {
	for _, size := range []int64{8 * mib, -1} {
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancellingReader{r: bytes.NewReader(payload(9, 8*mib)), after: mib, cancel: cancel}
		err := b.Put(ctx, "cancelled/obj", r, size)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put (size %d) cancelled midway = %v, want context.Canceled", size, err)
		}
		assertAbsent(t, b, "cancelled/obj")
	}
	assertEmpty(t, b)
}
