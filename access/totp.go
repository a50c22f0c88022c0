package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/pquerna/otp/totp"
)

// TOTPStore keeps the users' TOTP secrets (RFC 6238, for the web UI's second factor) in one JSON
// file of mode 0600 beside the access store. The secrets are not in access.json so that the
// store's other readers, and `vigil user list`, never load them.
type TOTPStore struct {
	path string
	mu   sync.Mutex
}

// OpenTOTP returns the store kept in path; the file is made on the first enrolment.
func OpenTOTP(path string) *TOTPStore { return &TOTPStore{path: path} }

func (s *TOTPStore) load() (map[string]string, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access: totp: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("access: totp: %s: %w", s.path, ErrInvalid)
	}
	return m, nil
}

func (s *TOTPStore) save(m map[string]string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("access: totp: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("access: totp: %w", err)
	}
	return nil
}

// Enroll makes a new secret for name, replacing any earlier one, and returns its otpauth:// URI
// for an authenticator app. issuer names the service in the app.
func (s *TOTPStore) Enroll(issuer, name string) (string, error) {
	if !ValidName(name) {
		return "", invalid("user name %q", name)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: name})
	if err != nil {
		return "", fmt.Errorf("access: totp: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return "", err
	}
	m, err := s.load()
	if err != nil {
		return "", err
	}
	m[name] = key.Secret()
	if err := s.save(m); err != nil {
		return "", err
	}
	return key.URL(), nil
}

// Secret returns name's base32 secret, or "" if name has not enrolled.
func (s *TOTPStore) Secret(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return "", err
	}
	return m[name], nil
}

// Remove ends name's enrolment; ErrNotFound if there was none.
func (s *TOTPStore) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := m[name]; !ok {
		return notFound("totp enrolment", name)
	}
	delete(m, name)
	return s.save(m)
}
