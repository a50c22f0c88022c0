package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
)

// RunBackendTests runs the contract suite. newBackend is called once per subtest and must return
// an empty backend that is cleaned up through t.Cleanup.
func RunBackendTests(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, storage.Backend)
	}{
		{"RoundTrip", testRoundTrip},
		{"SizeMismatch", testSizeMismatch},
		{"Absent", testAbsent},
		{"Delete", testDelete},
		{"List", testList},
		{"InvalidKeys", testInvalidKeys},
		{"ConcurrentPuts", testConcurrentPuts},
		{"WriteOnce", testWriteOnce},
		{"WriteOnceRace", testWriteOnceRace},
		{"FailingReader", testFailingReader},
		{"NotVisibleUntilDone", testNotVisibleUntilDone},
		{"ContextCancelled", testContextCancelled},
		{"ContextCancelledMidway", testContextCancelledMidway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newBackend(t))
		})
	}
}

const mib = 1 << 20

func testRoundTrip(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	sizes := []int{0, 1, 100, 64<<10 - 1, 64 << 10, 64<<10 + 1, 3*mib + 17}
	var want []string
	for i, n := range sizes {
		for _, known := range []bool{true, false} {
			key := "rt/" + strings.Repeat("x", i+1) + map[bool]string{true: "/known", false: "/unknown"}[known]
			data := payload(uint64(i), n)
			size := int64(n)
			if !known {
				size = -1
			}
			before := time.Now()
			// A reader without WriteTo or Len, so no backend can learn the size another way.
			if err := b.Put(ctx, key, onlyReader{bytes.NewReader(data)}, size); err != nil {
				t.Fatalf("Put(%s, %d bytes, size %d): %v", key, n, size, err)
			}
			if got := get(t, b, key); !bytes.Equal(got, data) {
				t.Fatalf("Get(%s) returned %d bytes differing from the %d put", key, len(got), n)
			}
			info, err := b.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat(%s): %v", key, err)
			}
			if info.Key != key || info.Size != int64(n) {
				t.Errorf("Stat(%s) = %+v, want key %s size %d", key, info, key, n)
			}
			// Clocks of a remote store may differ a little; an hour is wide enough for any sane one.
			if d := info.ModTime.Sub(before); d < -time.Hour || d > time.Hour {
				t.Errorf("Stat(%s).ModTime = %v, far from the time of Put %v", key, info.ModTime, before)
			}
			want = append(want, key)
		}
	}
	slices.Sort(want)
	if got := listKeys(t, b, "rt/"); !slices.Equal(got, want) {
		t.Errorf("List(rt/) = %q, want %q", got, want)
	}
}

func testSizeMismatch(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	data := payload(1, 1000)
	for _, size := range []int64{0, 999, 1001, 5000} {
		err := b.Put(ctx, "mismatch", bytes.NewReader(data), size)
		if !errors.Is(err, storage.ErrSizeMismatch) {
			t.Errorf("Put of 1000 bytes declared %d = %v, want ErrSizeMismatch", size, err)
		}
		assertAbsent(t, b, "mismatch")
	}
	assertEmpty(t, b)
}

func testAbsent(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	put(t, b, "obj", []byte("x"))
	put(t, b, "dir/inner", []byte("y"))
	// "obj/child": a path through an object; "dir": a prefix of objects, not an object.
	for _, key := range []string{"nope", "a/b/c", "obj/child", "dir", "di", "dir/inner/x", "Obj"} {
		assertAbsent(t, b, key)
		if err := b.Delete(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Delete(%s) = %v, want fs.ErrNotExist", key, err)
		}
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"dir/inner", "obj"}) {
		t.Errorf("List() = %q, want the two objects untouched", got)
	}
}

func testDelete(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	put(t, b, "a/b", []byte("one"))
	put(t, b, "a/c", []byte("two"))
	if err := b.Delete(ctx, "a/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertAbsent(t, b, "a/b")
	if err := b.Delete(ctx, "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Delete = %v, want fs.ErrNotExist", err)
	}
	if got := get(t, b, "a/c"); string(got) != "two" {
		t.Errorf("neighbour after Delete = %q, want %q", got, "two")
	}
	// Write-once holds for a key's lifetime; after a Delete the key is free again.
	put(t, b, "a/b", []byte("three"))
	if got := get(t, b, "a/b"); string(got) != "three" {
		t.Errorf("Get after Delete and Put = %q, want %q", got, "three")
	}
}

func testList(t *testing.T, b storage.Backend) {
	keys := []string{"b", "ab", "a.b", "a-b", "a/bc", "a/b/d", "a/b/c", "a/b/c.d/e", "a/b_", "z/y/x/w/v"}
	for i, k := range keys {
		put(t, b, k, payload(uint64(i), i))
	}
	all := slices.Clone(keys)
	slices.Sort(all)
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"a", []string{"a-b", "a.b", "a/b/c", "a/b/c.d/e", "a/b/d", "a/b_", "a/bc", "ab"}},
		{"a/", []string{"a/b/c", "a/b/c.d/e", "a/b/d", "a/b_", "a/bc"}},
		{"a/b", []string{"a/b/c", "a/b/c.d/e", "a/b/d", "a/b_", "a/bc"}},
		{"a/b/", []string{"a/b/c", "a/b/c.d/e", "a/b/d"}},
		{"a/b/c", []string{"a/b/c", "a/b/c.d/e"}},
		{"a/b/c.", []string{"a/b/c.d/e"}},
		{"a/b/c/", nil},
		{"a/b/c.d/e", []string{"a/b/c.d/e"}},
		{"a.", []string{"a.b"}},
		{"z/y/", []string{"z/y/x/w/v"}},
		{"zz", nil},
		{"q/r/", nil},
		{"A", nil},
	}
	for _, tt := range tests {
		infos, err := b.List(context.Background(), tt.prefix)
		if err != nil {
			t.Errorf("List(%q): %v", tt.prefix, err)
			continue
		}
		var got []string
		for _, info := range infos {
			got = append(got, info.Key)
			if i := slices.Index(keys, info.Key); i >= 0 && info.Size != int64(i) {
				t.Errorf("List(%q): %s has size %d, want %d", tt.prefix, info.Key, info.Size, i)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

// InvalidKeys are keys every backend must refuse with ErrInvalidKey.
var InvalidKeys = map[string]string{
	"empty":            "",
	"dot":              ".",
	"dotdot":           "..",
	"dotdot segment":   "a/../b",
	"dot segment":      "a/./b",
	"leading dotdot":   "../x",
	"absolute":         "/etc/passwd",
	"trailing slash":   "a/",
	"empty segment":    "a//b",
	"backslash":        `a\b`,
	"backslash dotdot": `..\x`,
	"nul":              "a\x00b",
	"space":            "a b",
	"unicode":          "caf\u00e9",
	"invalid utf8":     "a\xff",
	"too long":         strings.Repeat("a/", storage.MaxKeyLen/2) + "a",
	"segment too long": strings.Repeat("a", storage.MaxSegmentLen+1),
}

func testInvalidKeys(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	for name, key := range InvalidKeys {
		if err := b.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("%s: Put = %v, want ErrInvalidKey", name, err)
		}
		if r, err := b.Get(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			if err == nil {
				r.Close()
			}
			t.Errorf("%s: Get = %v, want ErrInvalidKey", name, err)
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("%s: Stat = %v, want ErrInvalidKey", name, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("%s: Delete = %v, want ErrInvalidKey", name, err)
		}
	}
	for _, prefix := range []string{"/", "/a", "../", "a/../", "a//", `a\`, "a\x00", "caf\u00e9", strings.Repeat("a", storage.MaxKeyLen+1)} {
		if _, err := b.List(ctx, prefix); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("List(%.20q) = %v, want ErrInvalidKey", prefix, err)
		}
	}
	assertEmpty(t, b)
}
