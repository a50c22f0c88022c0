package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the size of the vault key in bytes (AES-256).
const KeySize = 32

// A KeySource yields the key that seals the vault's entries. Key returns exactly KeySize bytes or
// an error; it is called once, by Open. Implementations other than FileKey (a KMS that unwraps a
// data key, a passphrase run through a KDF) plug in through OpenWithKey.
type KeySource interface {
	Key() ([]byte, error)
}

// FileKey is the default KeySource: a file of KeySize random bytes, created with mode 0600 (and
// its directory 0700) when absent. A key file that group or others may read or write is refused
// with ErrKeyPermissions, because a key anyone can read protects nothing.
type FileKey string

// Key implements KeySource.
func (p FileKey) Key() ([]byte, error) {
	path := string(p)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("vault: key dir: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("vault: new key: %w", err)
	}
	// O_EXCL makes creation race-free between two processes opening a fresh vault: the loser
	// reads the winner's key below.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.Write(key)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("vault: write key %s: %w", path, err)
		}
		return key, nil
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("vault: create key %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("vault: key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("vault: key %s has mode %04o: %w", path, fi.Mode().Perm(), ErrKeyPermissions)
	}
	key, err = os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: read key %s: %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key %s is %d bytes, want %d: %w", path, len(key), KeySize, ErrBadKey)
	}
	return key, nil
}
