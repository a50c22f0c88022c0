// Package nodekeys makes and loads the node's own keys in <data>/keys: the SSH host key of the
// gateway, the Ed25519 key that signs recording manifests, and the age identity recordings are
// encrypted to. They are made on first start, 0600 in a 0700 directory; a key file that group or
// others can read is refused rather than used.
//
// Rotate replaces the signing key and the age identity, moving the old ones to old/<time>/: old
// recordings still decrypt (Identities tries every age identity) and still verify (every signing
// key, current and old, is listed in allowed_signers, the file `ssh-keygen -Y verify -f` reads).
// The host key is not rotated: users' known_hosts pin it.
package nodekeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// File names inside the keys directory.
const (
	HostKeyFile = "ssh_host_ed25519_key"
	SignKeyFile = "signing_ed25519_key"
	AgeKeyFile  = "age_identity"
	// OldDir holds rotated keys, one sub-directory per rotation named by its UTC time.
	OldDir = "old"
	// AllowedSignersFile lists every signing key, current and old, in ssh-keygen's
	// allowed_signers format under the principal SignerPrincipal.
	AllowedSignersFile = "allowed_signers"
	// SignerPrincipal is the principal of the node's keys in allowed_signers
	// (`ssh-keygen -Y verify -I vigil-node`).
	SignerPrincipal = "vigil-node"
	// SignNamespace is the SSHSIG namespace the signing key is trusted for.
	SignNamespace = "vigil-recording"
)

// ErrLoosePermissions is returned for a key file or directory that others may read.
var ErrLoosePermissions = errors.New("key file readable by group or others")

// Keys are the node's keys.
type Keys struct {
	Dir     string
	Host    ssh.Signer         // the gateway's SSH host key
	Sign    ed25519.PrivateKey // signs manifests (SSHSIG)
	Age     *age.X25519Identity
	Created []string // files made by this call, for the log

	OldSign []ssh.PublicKey       // signing keys of earlier rotations, oldest first
	OldAge  []*age.X25519Identity // age identities of earlier rotations, oldest first
}

// SignPublic returns the current signing key's public half.
func (k *Keys) SignPublic() ssh.PublicKey {
	p, _ := ssh.NewPublicKey(k.Sign.Public())
	return p
}

// Identities returns every age identity, current first: what decrypts any recording this node
// ever made.
func (k *Keys) Identities() []age.Identity {
	ids := []age.Identity{k.Age}
	for i := len(k.OldAge) - 1; i >= 0; i-- {
		ids = append(ids, k.OldAge[i])
	}
	return ids
}

// TrustedSigners returns every signing key, current first: what verifies any manifest this node
// ever signed.
func (k *Keys) TrustedSigners() []ssh.PublicKey {
	keys := []ssh.PublicKey{k.SignPublic()}
	for i := len(k.OldSign) - 1; i >= 0; i-- {
		keys = append(keys, k.OldSign[i])
	}
	return keys
}

// Ensure loads the keys in dir, making any that are missing.
func Ensure(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := checkPerm(dir, 0o077); err != nil {
		return nil, err
	}
	k := &Keys{Dir: dir}
	var err error
	if k.Host, err = loadOrMakeSSH(k, HostKeyFile); err != nil {
		return nil, err
	}
	if _, err := loadOrMakeSSH(k, SignKeyFile); err != nil {
		return nil, err
	}
	raw, err := rawEd25519(filepath.Join(dir, SignKeyFile))
	if err != nil {
		return nil, err
	}
	k.Sign = raw
	if k.Age, err = loadOrMakeAge(k); err != nil {
		return nil, err
	}
	if err := loadOld(k); err != nil {
		return nil, err
	}
	if err := writeAllowedSigners(k); err != nil {
		return nil, err
	}
	return k, nil
}

func checkPerm(path string, forbidden fs.FileMode) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if st.Mode().Perm()&forbidden != 0 {
		return fmt.Errorf("keys: %s (mode %v): %w", path, st.Mode().Perm(), ErrLoosePermissions)
	}
	return nil
}

func loadOrMakeSSH(k *Keys, name string) (ssh.Signer, error) {
	path := filepath.Join(k.Dir, name)
	b, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, fmt.Errorf("keys: generate %s: %w", name, gerr)
		}
		block, merr := ssh.MarshalPrivateKey(priv, "vigil "+name)
		if merr != nil {
			return nil, fmt.Errorf("keys: marshal %s: %w", name, merr)
		}
		b = pem.EncodeToMemory(block)
		if err := writeKey(path, b); err != nil {
			return nil, err
		}
		pub, _ := ssh.NewPublicKey(priv.Public())
		if err := writeFileAtomic(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
			return nil, err
		}
		k.Created = append(k.Created, path)
	} else if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("keys: parse %s: %w", path, err)
	}
	return s, nil
}

func rawEd25519(path string) (ed25519.PrivateKey, error) {
	b, err := readKey(path)
	if err != nil {
		return nil, err
	}
	k, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("keys: parse %s: %w", path, err)
	}
	switch p := k.(type) {
	case *ed25519.PrivateKey:
		return *p, nil
	case ed25519.PrivateKey:
		return p, nil
	}
	return nil, fmt.Errorf("keys: %s is not an Ed25519 key", path)
}

func loadOrMakeAge(k *Keys) (*age.X25519Identity, error) {
	path := filepath.Join(k.Dir, AgeKeyFile)
	b, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, gerr := age.GenerateX25519Identity()
		if gerr != nil {
			return nil, fmt.Errorf("keys: generate age identity: %w", gerr)
		}
		content := fmt.Sprintf("# public key: %s\n%s\n", id.Recipient(), id)
		if err := writeKey(path, []byte(content)); err != nil {
			return nil, err
		}
		k.Created = append(k.Created, path)
		return id, nil
	} else if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			return nil, fmt.Errorf("keys: parse %s: %w", path, err)
		}
		return id, nil
	}
	return nil, fmt.Errorf("keys: %s holds no age identity", path)
}

func readKey(path string) ([]byte, error) {
	if err := checkPerm(path, 0o077); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return b, nil
}

func writeKey(path string, b []byte) error { return writeFileAtomic(path, b, 0o600) }

func writeFileAtomic(path string, b []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
