package nodekeys

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// rotated are the files Rotate moves aside; the host key stays.
var rotated = []string{SignKeyFile, SignKeyFile + ".pub", AgeKeyFile}

// Rotate makes a new signing key and age identity in dir and keeps the old ones in
// dir/old/<UTC time>/, so that recordings made before still decrypt and verify. It returns the new
// keys; Keys.Created names the new files. Missing keys are made first (as Ensure does), so
// rotating a fresh directory keeps a first generation too.
//
// A crash midway leaves the old keys moved and the new ones not yet made: the next Ensure makes
// them, and nothing is lost.
func Rotate(dir string) (*Keys, error) {
	if _, err := Ensure(dir); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var dest string
	for i := 0; ; i++ {
		dest = filepath.Join(dir, OldDir, now.Format("20060102T150405Z"))
		if i > 0 {
			dest += fmt.Sprintf("-%d", i)
		}
		if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
			return nil, fmt.Errorf("keys: rotate: %w", err)
		}
		err := os.Mkdir(dest, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("keys: rotate: %w", err)
		}
	}
	for _, name := range rotated {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(dest, name)); err != nil {
			return nil, fmt.Errorf("keys: rotate: %w", err)
		}
	}
	return Ensure(dir)
}

// loadOld reads the keys of earlier rotations, oldest first (the directory names sort by time).
func loadOld(k *Keys) error {
	root := filepath.Join(k.Dir, OldDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		sub := &Keys{Dir: filepath.Join(root, name)}
		if priv, err := rawEd25519(filepath.Join(sub.Dir, SignKeyFile)); err == nil {
			pub, err := ssh.NewPublicKey(priv.Public())
			if err != nil {
				return fmt.Errorf("keys: %s: %w", sub.Dir, err)
			}
			k.OldSign = append(k.OldSign, pub)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		// An operator may have destroyed an old age identity on purpose (crypto-shredding the
		// recordings sealed only to it); its absence is not an error.
		if _, err := readKey(filepath.Join(sub.Dir, AgeKeyFile)); err == nil {
			id, err := loadOrMakeAge(sub)
			if err != nil {
				return err
			}
			k.OldAge = append(k.OldAge, id)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// AllowedSigners returns the allowed_signers text for keys.
func AllowedSigners(keys []ssh.PublicKey) []byte {
	var b bytes.Buffer
	for _, p := range keys {
		fmt.Fprintf(&b, "%s namespaces=%q %s", SignerPrincipal, SignNamespace, ssh.MarshalAuthorizedKey(p))
	}
	return b.Bytes()
}

func writeAllowedSigners(k *Keys) error {
	path := filepath.Join(k.Dir, AllowedSignersFile)
	want := AllowedSigners(k.TrustedSigners())
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return nil
	}
	return writeFileAtomic(path, want, 0o644)
}

// ReadAllowedSigners returns the keys of an allowed_signers file (ssh-keygen's format) that may
// sign for namespace: lines whose namespaces= option is absent or names it. Principals are not
// checked; a file given to verify is trusted as a whole.
func ReadAllowedSigners(path, namespace string) ([]ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("allowed signers: %w", err)
	}
	keys, err := ParseAllowedSigners(b, "", namespace)
	if err != nil {
		return nil, fmt.Errorf("allowed signers: %s %w", path, err)
	}
	return keys, nil
}

// ParseAllowedSigners is ReadAllowedSigners over the file's bytes; with principal not empty, only
// lines whose principals list holds it count (as ssh-keygen -Y verify -I principal does).
func ParseAllowedSigners(b []byte, principal, namespace string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// principals [options] keytype base64 [comment]: after the principals, the rest is
		// authorized_keys syntax, options included.
		principals, rest, _ := strings.Cut(line, " ")
		pub, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if principal != "" && !contains(strings.Split(principals, ","), principal) {
			continue
		}
		if ns, ok := namespacesOption(opts); ok && !contains(strings.Split(ns, ","), namespace) {
			continue
		}
		keys = append(keys, pub)
	}
	return keys, nil
}

func namespacesOption(opts []string) (string, bool) {
	for _, o := range opts {
		if v, ok := strings.CutPrefix(o, "namespaces="); ok {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
