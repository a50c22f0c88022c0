package nodekeys

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

func TestRotateKeepsOldKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	w, _ := age.Encrypt(&sealed, k1.Age.Recipient())
	io.WriteString(w, "recorded before the rotation")
	w.Close()

	k2, err := Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	k3, err := Rotate(dir) // twice in one second: a second old/ directory, not a clash
	if err != nil {
		t.Fatal(err)
	}
	if k3.Sign.Equal(k2.Sign) || k2.Sign.Equal(k1.Sign) || k3.Age.String() == k1.Age.String() {
		t.Fatal("Rotate kept the same keys")
	}
	if !bytes.Equal(k3.Host.PublicKey().Marshal(), k1.Host.PublicKey().Marshal()) {
		t.Error("Rotate changed the host key")
	}
	if len(k2.Created) != 2 {
		t.Errorf("Rotate made %v, want the signing key and the age identity", k2.Created)
	}
	loaded, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Created) != 0 || !loaded.Sign.Equal(k3.Sign) {
		t.Fatal("Ensure after Rotate did not load the rotated keys")
	}
	if len(loaded.OldSign) != 2 || len(loaded.OldAge) != 2 || len(loaded.Identities()) != 3 {
		t.Fatalf("old keys: %d signing, %d age, want 2 each", len(loaded.OldSign), len(loaded.OldAge))
	}
	// Oldest first in Old*, newest first in what decrypts and verifies.
	if !bytes.Equal(loaded.OldSign[0].Marshal(), pub(t, k1).Marshal()) {
		t.Error("OldSign[0] is not the first generation's key")
	}
	r, err := age.Decrypt(bytes.NewReader(sealed.Bytes()), loaded.Identities()...)
	if err != nil {
		t.Fatalf("a segment sealed before the rotation does not decrypt: %v", err)
	}
	if b, _ := io.ReadAll(r); string(b) != "recorded before the rotation" {
		t.Errorf("decrypted %q", b)
	}
	trusted, err := ReadAllowedSigners(filepath.Join(dir, AllowedSignersFile), SignNamespace)
	if err != nil {
		t.Fatal(err)
	}
	want := []ssh.PublicKey{pub(t, k3), pub(t, k2), pub(t, k1)}
	if len(trusted) != len(want) {
		t.Fatalf("allowed_signers holds %d keys, want %d", len(trusted), len(want))
	}
	for i := range want {
		if !bytes.Equal(trusted[i].Marshal(), want[i].Marshal()) {
			t.Errorf("allowed_signers key %d differs", i)
		}
	}
}

func pub(t *testing.T, k *Keys) ssh.PublicKey {
	t.Helper()
	return k.SignPublic()
}

func TestReadAllowedSigners(t *testing.T) {
	k, err := Ensure(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	line := string(ssh.MarshalAuthorizedKey(k.SignPublic()))
	tests := []struct {
		name, text string
		want       int
		fail       bool
	}{
		{"ours", string(AllowedSigners([]ssh.PublicKey{k.SignPublic()})), 1, false},
		{"no options", "vigil-node " + line, 1, false},
		{"other namespace", `vigil-node namespaces="git" ` + line, 0, false},
		{"namespace list", `a,b namespaces="git,vigil-recording",valid-after="20200101" ` + line, 1, false},
		{"comments and blanks", "# trusted\n\nvigil-node " + line, 1, false},
		{"garbage", "vigil-node not-a-key", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "allowed")
			os.WriteFile(p, []byte(tt.text), 0o600)
			got, err := ReadAllowedSigners(p, SignNamespace)
			if (err != nil) != tt.fail || len(got) != tt.want {
				t.Errorf("ReadAllowedSigners = %d keys, %v; want %d, fail=%v", len(got), err, tt.want, tt.fail)
			}
		})
	}
}
