package vault

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeSecret: the plaintext decoder never panics, and whatever it accepts re-encodes to the
// same bytes (one encoding per secret).
func FuzzDecodeSecret(f *testing.F) {
	f.Add(encodeSecret(Secret{Password: []byte("pw")}))
	f.Add(encodeSecret(Secret{Password: []byte("pw"), PrivateKey: testKey}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSecret(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeSecret(s), b) {
			t.Fatalf("decode/encode changed %x", b)
		}
	})
}

// FuzzEntry: Get on an arbitrary entry file never panics and never returns a secret: the fuzzer
// cannot forge a seal, and the one genuine seal it starts from is bound to another account.
func FuzzEntry(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "v")
	v, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	if err := v.Set("t", "a", Secret{Password: []byte("pw")}); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(v.path("t", "a"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":1,"key_id":"00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Written under another account's id: even the genuine entry for "a" must not open.
		if err := writeAtomic(v.path("t", "x"), b); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Get("t", "x"); err == nil {
			t.Fatalf("Get accepted a forged entry %q", b)
		}
	})
}
