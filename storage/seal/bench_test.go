package seal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/storage"
)

// memBackend keeps objects in memory, so benchmarks measure sealing and not the disk.
type memBackend struct {
	mu   sync.Mutex
	objs map[string][]byte
}

var _ storage.Backend = (*memBackend)(nil)

func (m *memBackend) Put(_ context.Context, key string, r io.Reader, _ int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[key]; ok {
		return storage.ErrExist
	}
	m.objs[key] = b
	return nil
}

func (m *memBackend) Get(_ context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memBackend) Stat(_ context.Context, key string) (storage.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return storage.ObjectInfo{}, fs.ErrNotExist
	}
	return storage.ObjectInfo{Key: key, Size: int64(len(b))}, nil
}

func (m *memBackend) List(_ context.Context, prefix string) ([]storage.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.ObjectInfo
	for k, b := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, storage.ObjectInfo{Key: k, Size: int64(len(b))})
		}
	}
	sortInfos(out)
	return out, nil
}

func (m *memBackend) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

func sortInfos(s []storage.ObjectInfo) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Key < s[j-1].Key; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// BenchmarkPutSegment: sealing one segment (age encryption, two SHA-256, a signed checkpoint)
// into memory, by segment size.
func BenchmarkPutSegment(b *testing.B) {
	id := newIdentity(b)
	for _, size := range []int{16 << 10, 256 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
			mem := &memBackend{objs: map[string][]byte{}}
			w, err := NewWriter(mem, "recordings/2025/06/01/bench/", testMeta("bench"), Keys{Signer: testKey(1), Recipients: []age.Recipient{id.Recipient()}})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if err := w.PutSegment(ctx, i, time.Duration(i), time.Duration(i+1), data); err != nil {
					b.Fatal(err)
				}
				// Drop stored objects so memory stays flat over long runs.
				mem.objs = map[string][]byte{}
				i++
			}
		})
	}
}

// BenchmarkVerify: verifying a finished recording of 100 segments of 64 KiB in memory.
func BenchmarkVerify(b *testing.B) {
	id := newIdentity(b)
	mem := &memBackend{objs: map[string][]byte{}}
	prefix := "recordings/2025/06/01/bench/"
	w, _ := NewWriter(mem, prefix, testMeta("bench"), Keys{Signer: testKey(1), Recipients: []age.Recipient{id.Recipient()}})
	data := bytes.Repeat([]byte("x"), 64<<10)
	ctx := context.Background()
	const n = 100
	for i := range n {
		if err := w.PutSegment(ctx, i, time.Duration(i), time.Duration(i+1), data); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Finish(ctx, "user exit", nil); err != nil {
		b.Fatal(err)
	}
	trusted := []ssh.PublicKey{sshPub(b, testKey(1))}
	b.SetBytes(n * int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(ctx, mem, prefix, trusted); err != nil {
			b.Fatal(err)
		}
	}
}
