package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
)

// payload returns n deterministic pseudo-random bytes: incompressible, and different per seed so
// that a mixed-up object is caught.
func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// onlyReader hides every method but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func put(t *testing.T, b storage.Backend, key string, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func get(t *testing.T, b storage.Backend, key string) []byte {
	t.Helper()
	r, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("Get(%s): read: %v", key, err)
	}
	return data
}

func listKeys(t *testing.T, b storage.Backend, prefix string) []string {
	t.Helper()
	infos, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	var keys []string
	for _, info := range infos {
		keys = append(keys, info.Key)
	}
	return keys
}

// assertAbsent checks that Get and Stat report key absent and List does not show it.
func assertAbsent(t *testing.T, b storage.Backend, key string) {
	t.Helper()
	ctx := context.Background()
	if r, err := b.Get(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Get(%s) = %v, want fs.ErrNotExist", key, err)
	}
	if info, err := b.Stat(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s) = %+v, %v; want fs.ErrNotExist", key, info, err)
	}
	for _, k := range listKeys(t, b, key) {
		if k == key {
			t.Errorf("List(%q) shows absent key %s", key, key)
		}
	}
}

func assertEmpty(t *testing.T, b storage.Backend) {
	t.Helper()
	if keys := listKeys(t, b, ""); len(keys) != 0 {
		t.Errorf("List() = %q, want an empty store", keys)
	}
}
