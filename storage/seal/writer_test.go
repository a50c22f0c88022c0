package seal

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"filippo.io/age"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestWriterRefusals(t *testing.T) {
	b := newBackend(t)
	id := newIdentity(t)
	keys := Keys{Signer: testKey(1), Recipients: []age.Recipient{id.Recipient()}}
	meta := testMeta("s1")
	good := "recordings/2025/06/01/s1/"
	tests := []struct {
		name   string
		prefix string
		keys   Keys
	}{
		{"wrong prefix", "recordings/2025/06/02/s1/", keys},
		{"no signer", good, Keys{Recipients: keys.Recipients}},
		{"no recipients", good, Keys{Signer: keys.Signer}},
	}
	for _, tt := range tests {
		if _, err := NewWriter(b, tt.prefix, meta, tt.keys); err == nil {
			t.Errorf("%s: NewWriter succeeded", tt.name)
		}
	}
	w, err := NewWriter(b, good, meta, keys)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.PutSegment(ctx, 1, 0, time.Second, []byte("x")); !errors.Is(err, ErrOrder) {
		t.Errorf("PutSegment(1) first = %v, want ErrOrder", err)
	}
	if err := w.PutSegment(ctx, 0, 0, time.Second, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx, "timeout", nil); err != nil {
		t.Fatal(err)
	}
	if err := w.PutSegment(ctx, 1, time.Second, 2*time.Second, []byte("y")); !errors.Is(err, ErrClosed) {
		t.Errorf("PutSegment after Finish = %v, want ErrClosed", err)
	}
	if err := w.Finish(ctx, "again", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("second Finish = %v, want ErrClosed", err)
	}
}

// TestWriterFailsClosed checks that a failed put stops the recording and Finish still seals what
// was stored, so the end cause is signed.
func TestWriterFailsClosed(t *testing.T) {
	b := newBackend(t)
	id := newIdentity(t)
	w, err := NewWriter(b, "recordings/2025/06/01/s1/", testMeta("s1"), Keys{Signer: testKey(1), Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.PutSegment(ctx, 0, 0, time.Second, []byte("a")); err != nil {
		t.Fatal(err)
	}
	// Segment 1's key already taken: write-once storage refuses the put.
	r := rec{b: b, prefix: w.Prefix()}
	r.put(t, SegmentObject(1), []byte("squatter"))
	if err := w.PutSegment(ctx, 1, time.Second, 2*time.Second, []byte("b")); err == nil {
		t.Fatal("PutSegment over an existing object succeeded")
	}
	if err := w.PutSegment(ctx, 2, 2*time.Second, 3*time.Second, []byte("c")); !errors.Is(err, ErrClosed) {
		t.Errorf("PutSegment after a failure = %v, want ErrClosed", err)
	}
	if err := w.Finish(ctx, "recording failure", nil); err != nil {
		t.Fatalf("Finish after a failure: %v", err)
	}
	m, err := ReadManifest(ctx, b, w.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) != 1 || m.End.Cause != "recording failure" {
		t.Errorf("final manifest lists %d segments, cause %q", len(m.Segments), m.End.Cause)
	}
}
