package seal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/storage"
)

// TestMediaInterleaved writes a graphical recording (video and event-log segments interleaved over
// the same time ranges), verifies it, reads each segment back, and checks that relabelling a
// segment's media in the final manifest is caught even when the manifest is re-signed.
func TestMediaInterleaved(t *testing.T) {
	b := newBackend(t)
	id := newIdentity(t)
	key := testKey(1)
	meta := testMeta("gfx1")
	meta.Protocol = "vnc"
	prefix, err := storage.RecordingPrefix(meta.Start, meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(b, prefix, meta, Keys{Signer: key, Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		media := MediaMP4
		if i%2 == 1 {
			media = MediaEventLog
		}
		start := time.Duration(i/2) * 5 * time.Second
		if err := w.PutSegmentMedia(ctx, i, media, start, start+5*time.Second, plaintext(i)); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	if err := w.PutSegmentMedia(ctx, 6, "webm", 0, 1, nil); err == nil {
		t.Fatal("unknown media accepted")
	}
	if err := w.Finish(ctx, "user exit", nil); err != nil {
		t.Fatal(err)
	}
	trusted := []ssh.PublicKey{sshPub(t, key)}
	rep, err := Verify(ctx, b, prefix, trusted)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep.Err())
	}
	if _, err := b.Stat(ctx, prefix+"seg-00000000.mp4.age"); err != nil {
		t.Fatalf("video segment key: %v", err)
	}
	if _, err := b.Stat(ctx, prefix+"seg-00000001.vlog.age"); err != nil {
		t.Fatalf("event-log segment key: %v", err)
	}
	for i := 0; i < 6; i++ {
		rc, err := OpenSegment(ctx, b, prefix, i, []age.Identity{id})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, plaintext(i)) {
			t.Fatalf("segment %d differs", i)
		}
	}

	// Relabel segment 0 as an event log (key and media changed together, re-signed with the node's
	// own key): the chain no longer recomputes.
	r := rec{b: b, prefix: prefix, id: id, key: key}
	body := r.get(t, FinalName)
	relabelled := strings.Replace(string(body), `"key": "seg-00000000.mp4.age"`, `"key": "seg-00000000.vlog.age"`, 1)
	relabelled = strings.Replace(relabelled, `"media": "mp4"`, `"media": ""`, 1)
	if relabelled == string(body) {
		t.Fatal("test did not change the manifest")
	}
	if _, err := ParseManifest([]byte(relabelled)); !errors.Is(err, ErrTampered) {
		t.Fatalf("relabelled manifest: %v, want ErrTampered", err)
	}
	// A key that does not match the media is a broken rule.
	wrongKey := strings.Replace(string(body), `"key": "seg-00000000.mp4.age"`, `"key": "seg-00000000.vlog.age"`, 1)
	if _, err := ParseManifest([]byte(wrongKey)); !errors.Is(err, ErrBadManifest) {
		t.Fatalf("key/media mismatch: %v, want ErrBadManifest", err)
	}
}
