package spool

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
)

// FuzzDecodeHeader: any input decodes to a valid key or an error, never a panic; a header made
// by encodeHeader decodes back to its key with the object's bytes intact after it.
func FuzzDecodeHeader(f *testing.F) {
	f.Add([]byte(magic+"a/b\nbody"), "a/b", []byte("body"))
	f.Add([]byte(magic+"\n"), "x", []byte{})
	f.Add([]byte("VSPOOL2\nk\n"), "recordings/2025/01/01/s/seg-00000001.vlog", []byte{0, 1, '\n'})
	f.Fuzz(func(t *testing.T, raw []byte, key string, body []byte) {
		if k, err := decodeHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
			if storage.ValidateKey(k) != nil {
				t.Fatalf("decoded invalid key %q", k)
			}
		}
		if storage.ValidateKey(key) != nil {
			return
		}
		br := bufio.NewReader(io.MultiReader(bytes.NewReader(encodeHeader(key)), bytes.NewReader(body)))
		got, err := decodeHeader(br)
		if err != nil || got != key {
			t.Fatalf("round trip of %q = %q, %v", key, got, err)
		}
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, body) {
			t.Fatalf("body after header changed")
		}
	})
}
