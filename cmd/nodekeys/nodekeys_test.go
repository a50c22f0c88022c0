package nodekeys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureMakesKeysOnceWithTightPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1.Created) != 3 {
		t.Fatalf("first start made %v, want 3 key files", k1.Created)
	}
	for _, name := range []string{HostKeyFile, SignKeyFile, AgeKeyFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", st.Mode().Perm())
	}
	k2, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k2.Created) != 0 {
		t.Errorf("second start made %v, want none", k2.Created)
	}
	if !bytes.Equal(k1.Host.PublicKey().Marshal(), k2.Host.PublicKey().Marshal()) ||
		!k1.Sign.Equal(k2.Sign) || k1.Age.String() != k2.Age.String() {
		t.Error("keys changed between starts")
	}
}

func TestEnsureRefusesLoosePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, SignKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir); !errors.Is(err, ErrLoosePermissions) {
		t.Fatalf("Ensure with a 0644 key = %v, want ErrLoosePermissions", err)
	}
}

func TestEnsureRejectsCorruptKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, HostKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir); err == nil {
		t.Fatal("Ensure accepted a corrupt host key")
	}
}
