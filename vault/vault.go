package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

var (
	// ErrNotFound: the vault holds no secret for that target and account.
	ErrNotFound = errors.New("vault: no such credential")
	// ErrWrongKey: the entry was sealed under a different key than the one the vault was opened with.
	ErrWrongKey = errors.New("vault: entry was sealed under a different key (wrong key file?)")
	// ErrTampered: the entry does not open under this key for this target and account: it was
	// damaged, edited, or copied from another entry.
	ErrTampered = errors.New("vault: entry failed authentication (damaged or moved)")
	// ErrKeyPermissions: the key file may be read or written by group or others.
	ErrKeyPermissions = errors.New("vault: key file is accessible by group or others; chmod 600 it")
	// ErrBadKey: the key is not KeySize bytes.
	ErrBadKey = errors.New("vault: key has the wrong size")
	// ErrEmpty: Set was given a secret with neither password nor key.
	ErrEmpty = errors.New("vault: empty secret")
	// ErrBadName: a target or account name is empty or holds a control character.
	ErrBadName = errors.New("vault: bad name")
)

const formatVersion = 1

// Vault is a directory of sealed credentials. It is safe for concurrent use by goroutines of one
// process; writes from several processes are atomic per entry (last writer wins).
type Vault struct {
	dir   string
	aead  cipher.AEAD
	keyID string
	mu    sync.RWMutex
}

// entry is the on-disk form of one credential.
type entry struct {
	V       int    `json:"v"`
	Target  string `json:"target"`
	Account string `json:"account"`
	KeyID   string `json:"key_id"`
	Nonce   []byte `json:"nonce"`
	Sealed  []byte `json:"sealed"`
}

// Open opens the vault in dir (normally <data>/vault) with the key file dir/key, creating both on
// first use. It fails with ErrKeyPermissions when the key file is open to group or others.
func Open(dir string) (*Vault, error) {
	return OpenWithKey(dir, FileKey(filepath.Join(dir, "key")))
}

// OpenWithKey opens the vault in dir with the key from ks.
func OpenWithKey(dir string, ks KeySource) (*Vault, error) {
	if err := os.MkdirAll(filepath.Join(dir, "entries"), 0o700); err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	key, err := ks.Key()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key is %d bytes, want %d: %w", len(key), KeySize, ErrBadKey)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: cipher: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("vigil vault key id"))
	return &Vault{dir: dir, aead: aead, keyID: hex.EncodeToString(mac.Sum(nil)[:8])}, nil
}

// Set stores s for account on target, replacing any previous secret.
func (v *Vault) Set(target, account string, s Secret) error {
	if err := checkNames(target, account); err != nil {
		return err
	}
	if s.IsZero() {
		return fmt.Errorf("vault: set %s@%s: %w", account, target, ErrEmpty)
	}
	plain := encodeSecret(s)
	defer clear(plain)
	e := entry{V: formatVersion, Target: target, Account: account, KeyID: v.keyID,
		Nonce: make([]byte, v.aead.NonceSize())}
	if _, err := rand.Read(e.Nonce); err != nil {
		return fmt.Errorf("vault: nonce: %w", err)
	}
	e.Sealed = v.aead.Seal(nil, e.Nonce, plain, additionalData(target, account))
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("vault: set %s@%s: %w", account, target, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := writeAtomic(v.path(target, account), b); err != nil {
		return fmt.Errorf("vault: set %s@%s: %w", account, target, err)
	}
	return nil
}

// Get returns the secret for account on target: ErrNotFound when there is none, ErrWrongKey when
// the vault was opened with another key, ErrTampered when the entry does not authenticate.
func (v *Vault) Get(target, account string) (Secret, error) {
	if err := checkNames(target, account); err != nil {
		return Secret{}, err
	}
	v.mu.RLock()
	b, err := os.ReadFile(v.path(target, account))
	v.mu.RUnlock()
	if errors.Is(err, fs.ErrNotExist) {
		return Secret{}, fmt.Errorf("vault: get %s@%s: %w", account, target, ErrNotFound)
	}
	if err != nil {
		return Secret{}, fmt.Errorf("vault: get %s@%s: %w", account, target, err)
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil || e.V != formatVersion {
		return Secret{}, fmt.Errorf("vault: get %s@%s: unreadable entry: %w", account, target, ErrTampered)
	}
	if e.KeyID != v.keyID {
		return Secret{}, fmt.Errorf("vault: get %s@%s: %w", account, target, ErrWrongKey)
	}
	if len(e.Nonce) != v.aead.NonceSize() {
		return Secret{}, fmt.Errorf("vault: get %s@%s: %w", account, target, ErrTampered)
	}
	// The additional data is built from the names asked for, not the names in the file: an
	// entry moved under another id fails here even if its clear-text names were edited to match.
	plain, err := v.aead.Open(nil, e.Nonce, e.Sealed, additionalData(target, account))
	if err != nil {
		return Secret{}, fmt.Errorf("vault: get %s@%s: %w", account, target, ErrTampered)
	}
	defer clear(plain)
	s, err := decodeSecret(plain)
	if err != nil {
		return Secret{}, fmt.Errorf("vault: get %s@%s: %w", account, target, err)
	}
	return s, nil
}

// Delete removes the secret for account on target; ErrNotFound when there is none.
func (v *Vault) Delete(target, account string) error {
	if err := checkNames(target, account); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	err := os.Remove(v.path(target, account))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vault: delete %s@%s: %w", account, target, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("vault: delete %s@%s: %w", account, target, err)
	}
	return syncDir(filepath.Dir(v.path(target, account)))
}

// List returns the names of every entry, sorted by target then account. It never opens a seal.
// Entries whose file name does not match their names (moved files) are left out, since Get
// would refuse them anyway.
func (v *Vault) List() ([]Ref, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	des, err := os.ReadDir(filepath.Join(v.dir, "entries"))
	if err != nil {
		return nil, fmt.Errorf("vault: list: %w", err)
	}
	var refs []Ref
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue // temp files of an interrupted write
		}
		b, err := os.ReadFile(filepath.Join(v.dir, "entries", de.Name()))
		if err != nil {
			return nil, fmt.Errorf("vault: list: %w", err)
		}
		var e entry
		if json.Unmarshal(b, &e) != nil || entryID(e.Target, e.Account)+".json" != de.Name() {
			continue
		}
		refs = append(refs, Ref{Target: e.Target, Account: e.Account})
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Target != refs[j].Target {
			return refs[i].Target < refs[j].Target
		}
		return refs[i].Account < refs[j].Account
	})
	return refs, nil
}

func (v *Vault) path(target, account string) string {
	return filepath.Join(v.dir, "entries", entryID(target, account)+".json")
}

func checkNames(target, account string) error {
	for _, n := range []string{target, account} {
		if n == "" || len(n) > 256 || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%w %q", ErrBadName, n)
		}
	}
	return nil
}

// lengthPrefixed joins fields so that no two different (target, account) pairs give the same bytes.
func lengthPrefixed(prefix string, fields ...string) []byte {
	b := []byte(prefix)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

func additionalData(target, account string) []byte {
	return lengthPrefixed("vigil-vault/1\x00", target, account)
}

func entryID(target, account string) string {
	sum := sha256.Sum256(lengthPrefixed("vigil-vault-id\x00", target, account))
	return hex.EncodeToString(sum[:])
}
