package file

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/storagetest"
)

func newBackend(t testing.TB, root string) *Backend {
	t.Helper()
	b, err := New(root)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestContract(t *testing.T) {
	storagetest.RunBackendTests(t, func(t *testing.T) storage.Backend {
		root := t.TempDir()
		b := newBackend(t, root)
		// Every subtest must also leave no temporary file behind, whatever it did.
		t.Cleanup(func() { assertNoTempFiles(t, root) })
		return b
	})
}

func put(t *testing.T, b *Backend, key, data string) {
	t.Helper()
	if err := b.Put(context.Background(), key, strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

// assertNoTempFiles walks root on the real file system and fails on any name no key can have.
func assertNoTempFiles(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		if strings.HasSuffix(d.Name(), tempSuffix) || strings.Contains(d.Name(), "~") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPermissions(t *testing.T) {
	root := filepath.Join(t.TempDir(), "new", "store")
	b := newBackend(t, root)
	put(t, b, "x/y/z", "data")
	for _, tt := range []struct {
		path string
		want fs.FileMode
	}{
		{root, fs.ModeDir | 0o700},
		{filepath.Join(root, "x"), fs.ModeDir | 0o700},
		{filepath.Join(root, "x", "y"), fs.ModeDir | 0o700},
		{filepath.Join(root, "x", "y", "z"), 0o600},
	} {
		fi, err := os.Lstat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tt.want {
			t.Errorf("%s: mode %v, want %v", tt.path, fi.Mode(), tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(f); err == nil {
		t.Error("New on a regular file succeeded")
	}
	if _, err := New(filepath.Join(f, "sub")); err == nil {
		t.Error("New under a regular file succeeded")
	}
}

// TestNoTempFilesLeft drives every failure path of Put and checks the tree holds only objects.
func TestNoTempFilesLeft(t *testing.T) {
	root := t.TempDir()
	b := newBackend(t, root)
	ctx := context.Background()
	put(t, b, "keep/a", "a")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	fails := []struct {
		name string
		put  func() error
	}{
		{"exists", func() error { return b.Put(ctx, "keep/a", strings.NewReader("b"), 1) }},
		{"short", func() error { return b.Put(ctx, "keep/b", strings.NewReader("b"), 2) }},
		{"long", func() error { return b.Put(ctx, "keep/b", strings.NewReader("bbb"), 2) }},
		{"reader fails", func() error {
			return b.Put(ctx, "keep/b", io.MultiReader(strings.NewReader("xx"), iotestErrReader{}), -1)
		}},
		{"cancelled", func() error { return b.Put(cancelled, "keep/b", strings.NewReader("b"), 1) }},
		{"object in the way of a directory", func() error { return b.Put(ctx, "keep/a/b", strings.NewReader("b"), 1) }},
		{"directory in the way of an object", func() error { return b.Put(ctx, "keep", strings.NewReader("b"), 1) }},
	}
	for _, f := range fails {
		if err := f.put(); err == nil {
			t.Errorf("%s: Put succeeded", f.name)
		}
	}
	assertNoTempFiles(t, root)
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if want := []string{filepath.Join(root, "keep", "a")}; !slices.Equal(files, want) {
		t.Errorf("files = %q, want %q", files, want)
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }

func TestPutConflicts(t *testing.T) {
	b := newBackend(t, t.TempDir())
	put(t, b, "a/b", "x")
	if err := b.Put(context.Background(), "a", strings.NewReader("y"), 1); !errors.Is(err, errConflict) {
		t.Errorf("Put over a directory = %v, want errConflict", err)
	}
	if err := b.Put(context.Background(), "a/b/c", strings.NewReader("y"), 1); !errors.Is(err, errNotDir) {
		t.Errorf("Put under an object = %v, want errNotDir", err)
	}
}

func TestGetReaderStopsOnCancel(t *testing.T) {
	b := newBackend(t, t.TempDir())
	put(t, b, "obj", strings.Repeat("x", 1<<20))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := b.Get(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel = %v, want context.Canceled", err)
	}
}

// TestSymlinks plants symlinks inside the root, to the outside and to the inside, and checks that
// no operation follows them.
func TestSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	const secret = "outside secret"
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, root)
	put(t, b, "real/obj", "inside")
	links := map[string]string{
		"abs":       outside,
		"rel":       filepath.Join("..", filepath.Base(outside)),
		"file":      filepath.Join(outside, "secret"),
		"real/deep": outside,
		"in":        "real",     // a directory inside the root
		"infile":    "real/obj", // a file inside the root
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	keys := []string{"abs/secret", "rel/secret", "file", "real/deep/secret", "in/obj", "infile", "abs/new/x"}
	for _, key := range keys {
		if r, err := b.Get(ctx, key); err == nil {
			data, _ := io.ReadAll(r)
			r.Close()
			t.Errorf("Get(%s) followed a symlink and read %q", key, data)
		}
		if info, err := b.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%s) followed a symlink: %+v", key, info)
		}
		if err := b.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%s) succeeded through a symlink", key)
		}
		if err := b.Put(ctx, key, strings.NewReader("planted"), 7); err == nil {
			t.Errorf("Put(%s) wrote through a symlink", key)
		}
	}
	for _, prefix := range []string{"", "abs/", "rel/", "real/", "real/deep/", "in/"} {
		infos, _ := b.List(ctx, prefix) // an error is fine; a listed outside or linked file is not
		for _, info := range infos {
			if info.Key != "real/obj" {
				t.Errorf("List(%q) shows %s through a symlink", prefix, info.Key)
			}
		}
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "secret" {
		t.Errorf("outside directory changed: %v", entries)
	}
	if data, _ := os.ReadFile(filepath.Join(outside, "secret")); string(data) != secret {
		t.Errorf("outside file changed to %q", data)
	}
	for name := range links {
		if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(name))); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("symlink %s was removed or replaced", name)
		}
	}
}

// FuzzKeyResolve checks, on a real store with a symlink to the outside planted in it, that Put
// refuses every invalid key with ErrInvalidKey, that every object it stores lands at the key's own
// path inside the root, and that nothing ever appears outside.
func FuzzKeyResolve(f *testing.F) {
	base := f.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		f.Fatal(err)
	}
	b := newBackend(f, root)
	if err := os.Symlink(outside, filepath.Join(root, "evil")); err != nil {
		f.Fatal(err)
	}
	for _, k := range storagetest.InvalidKeys {
		f.Add(k)
	}
	for _, k := range []string{"a", "a/b/c", "evil/x", "evil", "../outside/x", "..", "a/../../outside/x", ".x~", "..."} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		ctx := context.Background()
		err := b.Put(ctx, key, bytes.NewReader([]byte("x")), 1)
		valid := storage.ValidateKey(key) == nil
		if !valid && !errors.Is(err, storage.ErrInvalidKey) {
			t.Fatalf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err == nil {
			p := filepath.Join(root, filepath.FromSlash(key))
			rel, rerr := filepath.Rel(root, p)
			if rerr != nil || rel == ".." || strings.HasPrefix(rel, "../") || rel != filepath.FromSlash(key) {
				t.Fatalf("key %q resolves to %s, not inside the root as itself", key, p)
			}
			if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("stored %q but %s is not a regular file: %v", key, p, err)
			}
			if err := b.Delete(ctx, key); err != nil {
				t.Fatalf("Delete(%q): %v", key, err)
			}
		}
		if entries, err := os.ReadDir(outside); err != nil || len(entries) != 0 {
			t.Fatalf("after Put(%q) the outside directory holds %v (%v)", key, entries, err)
		}
	})
}

// countingReader gives limit zero bytes and cancels its context after the first cancelAfter.
type countingReader struct {
	n, limit, cancelAfter int64
	cancel                context.CancelFunc
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, io.EOF
	}
	m := min(int64(len(p)), c.limit-c.n)
	clear(p[:m])
	c.n += m
	if c.n >= c.cancelAfter {
		c.cancel()
	}
	return int(m), nil
}

// TestPutStopsCopyingOnCancel checks that cancellation ends a long copy promptly rather than after
// the whole reader: the contract suite only sees the result, which a late check would also give.
func TestPutStopsCopyingOnCancel(t *testing.T) {
	b := newBackend(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &countingReader{limit: 256 << 20, cancelAfter: 1 << 20, cancel: cancel}
	if err := b.Put(ctx, "big", r, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if r.n > 1<<20+copyBufSize {
		t.Errorf("Put read %d bytes after cancellation at 1 MiB", r.n)
	}
}
