package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// sealedRecording writes a recording of n segments with the node keys of dataDir, as the gateway
// will, and returns its prefix.
func sealedRecording(t *testing.T, dataDir, id string, n int, finish bool) string {
	t.Helper()
	keys, err := nodekeys.Ensure(filepath.Join(dataDir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := file.New(filepath.Join(dataDir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	meta := seal.Meta{ID: id, Start: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), User: "alice", Target: "web01", Protocol: "ssh"}
	prefix, _ := storage.RecordingPrefix(meta.Start, meta.ID)
	w, err := seal.NewWriter(b, prefix, meta, seal.Keys{Signer: keys.Sign, Recipients: []age.Recipient{keys.Age.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		if err := w.PutSegment(ctx, i, time.Duration(i)*time.Second, time.Duration(i+1)*time.Second, fmt.Appendf(nil, "segment %d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	if finish {
		if err := w.Finish(ctx, "user exit", nil); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dataDir, "store", filepath.FromSlash(prefix))
}

func TestVerifyCommand(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		finish bool
		want   []string // in the output
	}{
		{"intact", func(*testing.T, string) {}, true, []string{"OK", "ended      user exit", "3 listed, 3 verified"}},
		{"flipped byte", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seal.SegmentObject(1))
			b, _ := os.ReadFile(p)
			b[len(b)-5] ^= 1
			os.WriteFile(p, b, 0o600)
		}, true, []string{"PROBLEM    " + seal.SegmentObject(1), "tampered", "failed verification"}},
		{"dropped segment", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, seal.SegmentObject(0))) },
			true, []string{"missing segment", "failed verification"}},
		{"crash", func(*testing.T, string) {}, false, []string{"BY CRASH", "ended by crash", "3 verified"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			id := fmt.Sprintf("sess%d-abc", i)
			tt.damage(t, sealedRecording(t, data, id, 3, tt.finish))
			out, err := vigil(t, data, "", "verify", id[:5]) // a unique prefix of the id
			t.Logf("vigil verify:\n%s", out)
			if (err == nil) != (tt.name == "intact") {
				t.Errorf("verify: err %v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestVerifyCommandDecryptsAndNamesUntrustedKeys(t *testing.T) {
	data := t.TempDir()
	sealedRecording(t, data, "s1", 2, true)
	out := mustVigil(t, data, "", "verify", "--decrypt", "s1")
	if !strings.Contains(out, "2 verified (sealed and plaintext hash)") {
		t.Errorf("verify --decrypt:\n%s", out)
	}
	other := filepath.Join(t.TempDir(), "allowed")
	os.WriteFile(other, []byte(""), 0o600)
	out, err := vigil(t, data, "", "verify", "--allowed-signers", other, "s1")
	if err == nil || !strings.Contains(out, "untrusted key") {
		t.Errorf("verify with no trusted key: err %v\n%s", err, out)
	}
	out, err = vigil(t, data, "", "verify", "nosuch")
	if err == nil || !strings.Contains(out, "no such recording") {
		t.Errorf("verify of an unknown session: err %v\n%s", err, out)
	}
}

// TestKeysRotateKeepsOldRecordingsValid rotates the node keys and checks a recording sealed
// before still verifies and decrypts, one sealed after too, and stock ssh-keygen accepts the
// allowed_signers file for both.
func TestKeysRotateKeepsOldRecordingsValid(t *testing.T) {
	data := t.TempDir()
	before := mustVigil(t, data, "", "keys")
	for _, w := range []string{"age1", "ssh-ed25519 AAAA", "vigil-node", "host       SHA256:"} {
		if !strings.Contains(before, w) {
			t.Errorf("vigil keys lacks %q:\n%s", w, before)
		}
	}
	if strings.Contains(before, "AGE-SECRET-KEY") || strings.Contains(before, "PRIVATE KEY") {
		t.Fatal("vigil keys printed a private key")
	}
	oldDir := sealedRecording(t, data, "old1", 2, true)
	rotated := mustVigil(t, data, "", "keys", "rotate")
	if !strings.Contains(rotated, "rotated") || !strings.Contains(rotated, "2 signing key(s)") {
		t.Errorf("vigil keys rotate:\n%s", rotated)
	}
	if ageLine(before) == ageLine(rotated) {
		t.Error("rotate kept the age recipient")
	}
	newDir := sealedRecording(t, data, "new1", 2, true)
	for _, id := range []string{"old1", "new1"} {
		out := mustVigil(t, data, "", "verify", "--decrypt", id)
		if !strings.Contains(out, "2 verified") {
			t.Errorf("verify %s after rotation:\n%s", id, out)
		}
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (Debian openssh-client)")
	}
	for _, dir := range []string{oldDir, newDir} {
		body, _ := os.ReadFile(filepath.Join(dir, seal.FinalName))
		cmd := exec.Command(keygen, "-Y", "verify", "-f", filepath.Join(data, "keys", nodekeys.AllowedSignersFile),
			"-I", nodekeys.SignerPrincipal, "-n", seal.Namespace, "-s", filepath.Join(dir, seal.FinalName+seal.SigSuffix))
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("ssh-keygen -Y verify %s: %v\n%s", dir, err, out)
		}
	}
}

func ageLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "age ") {
			return l
		}
	}
	return ""
}
