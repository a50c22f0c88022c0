package seal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// testKey is a fixed Ed25519 key, so golden signatures are reproducible (Ed25519 is deterministic).
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func sshPub(t testing.TB, k ed25519.PrivateKey) ssh.PublicKey {
	t.Helper()
	p, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var testStart = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)

func testMeta(id string) Meta {
	return Meta{ID: id, Start: testStart, User: "alice", Target: "web01", Protocol: "ssh"}
}

// plaintext is the deterministic content of segment i.
func plaintext(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("segment %d of a recording\n", i)), 100+i*37)
}

type rec struct {
	b      *file.Backend
	prefix string
	id     *age.X25519Identity
	key    ed25519.PrivateKey
}

// record writes a recording of n segments, finished unless finish is false.
func record(t testing.TB, b *file.Backend, sessionID string, n int, finish bool, key ed25519.PrivateKey, id *age.X25519Identity) rec {
	t.Helper()
	meta := testMeta(sessionID)
	prefix, err := storage.RecordingPrefix(meta.Start, meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(b, prefix, meta, Keys{Signer: key, Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < n; i++ {
		start := time.Duration(i) * 5 * time.Second
		if err := w.PutSegment(ctx, i, start, start+5*time.Second, plaintext(i)); err != nil {
			t.Fatal(err)
		}
	}
	if finish {
		if err := w.Finish(ctx, "user exit", map[string]any{"output_bytes": 1234}); err != nil {
			t.Fatal(err)
		}
	}
	return rec{b: b, prefix: prefix, id: id, key: key}
}

func newBackend(t testing.TB) *file.Backend {
	t.Helper()
	b, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (r rec) get(t testing.TB, name string) []byte {
	t.Helper()
	rc, err := r.b.Get(context.Background(), r.prefix+name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// replace overwrites an object: tampering with write-once storage means Delete then Put.
func (r rec) replace(t testing.TB, name string, data []byte) {
	t.Helper()
	r.del(t, name)
	r.put(t, name, data)
}

func (r rec) put(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := r.b.Put(context.Background(), r.prefix+name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func (r rec) del(t testing.TB, name string) {
	t.Helper()
	if err := r.b.Delete(context.Background(), r.prefix+name); err != nil {
		t.Fatal(err)
	}
}

// resign signs a manifest's bytes with key, as a forger holding that key would.
func resign(t testing.TB, key ed25519.PrivateKey, body []byte) []byte {
	t.Helper()
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signSSHSIG(s, Namespace, body)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
