package access

import (
	"crypto/subtle"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// pin is a parsed Target.HostKey: a whole key, or only its SHA-256 fingerprint.
type pin struct {
	key         ssh.PublicKey // nil for a fingerprint pin
	fingerprint string        // "SHA256:..." as ssh-keygen -l prints it
}

func parsePin(s string) (pin, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "SHA256:") {
		// 32 bytes in unpadded base64 are 43 characters.
		if len(s) != len("SHA256:")+43 {
			return pin{}, invalid("host key fingerprint %q (want SHA256: and 43 base64 characters)", s)
		}
		return pin{fingerprint: s}, nil
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		// Accept known_hosts lines too ("host ssh-ed25519 AAAA..."), as ssh-keyscan prints them.
		if _, _, k, _, _, err2 := ssh.ParseKnownHosts([]byte(s)); err2 == nil {
			key, err = k, nil
		}
	}
	if err != nil {
		return pin{}, invalid("host key %q: want an authorized_keys-style key or a SHA256: fingerprint", abbreviate(s))
	}
	return pin{key: key, fingerprint: ssh.FingerprintSHA256(key)}, nil
}

func (p pin) matches(key ssh.PublicKey) bool {
	if p.key != nil {
		return subtle.ConstantTimeCompare(p.key.Marshal(), key.Marshal()) == 1
	}
	return subtle.ConstantTimeCompare([]byte(p.fingerprint), []byte(ssh.FingerprintSHA256(key))) == 1
}

// HostKeyCallback returns the callback that checks the host key of target when Vigil dials it.
// A pinned Target.HostKey (key or fingerprint) is enforced. Without one, the first key seen is
// recorded in the store (persisted before the connection proceeds; if it cannot be saved, the
// connection is refused) and enforced from then on. A different key gives ErrHostKeyMismatch with
// both fingerprints; an unknown target gives ErrNoSuchTarget.
func (s *Store) HostKeyCallback(target string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		s.refresh()
		s.mu.RLock()
		t, _, ok := s.target(target)
		recorded := s.file.HostKeys[target]
		s.mu.RUnlock()
		if !ok {
			return fmt.Errorf("%w %q", ErrNoSuchTarget, target)
		}
		if t.HostKey != "" {
			p, err := parsePin(t.HostKey)
			if err != nil {
				return err
			}
			return check(target, p, key, "pinned")
		}
		if recorded != "" {
			p, err := parsePin(recorded)
			if err != nil {
				return err
			}
			return check(target, p, key, "recorded on first use")
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
		return s.mutate(func(st *fileState) error {
			// Another process or goroutine may have recorded a key meanwhile: enforce that one.
			if rec := st.HostKeys[target]; rec != "" {
				p, err := parsePin(rec)
				if err != nil {
					return err
				}
				return check(target, p, key, "recorded on first use")
			}
			if st.HostKeys == nil {
				st.HostKeys = map[string]string{}
			}
			st.HostKeys[target] = line
			return nil
		})
	}
}

func check(target string, p pin, key ssh.PublicKey, how string) error {
	if p.matches(key) {
		return nil
	}
	return fmt.Errorf("%w: target %q presented %s %s, expected %s (%s)", ErrHostKeyMismatch,
		target, key.Type(), ssh.FingerprintSHA256(key), p.fingerprint, how)
}

// HostKey returns what the store enforces for target's host key: the pinned value, else the key
// recorded on first use, else "" (the next connection will record one).
func (s *Store) HostKey(target string) (key string, pinned bool, err error) {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, _, ok := s.target(target)
	if !ok {
		return "", false, notFound("target", target)
	}
	if t.HostKey != "" {
		return t.HostKey, true, nil
	}
	return s.file.HostKeys[target], false, nil
}

// ForgetHostKey drops the key recorded on first use for target, for when a server was rebuilt: the
// next connection records a new one. Pinned keys are changed by editing the target instead.
func (s *Store) ForgetHostKey(target string) error {
	return s.mutate(func(st *fileState) error {
		if _, _, ok := s.target(target); !ok {
			return notFound("target", target)
		}
		if _, ok := st.HostKeys[target]; !ok {
			return notFound("recorded host key of target", target)
		}
		delete(st.HostKeys, target)
		return nil
	})
}
