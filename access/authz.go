package access

import (
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// AuthenticatePassword checks name's password. Unknown users, users without a password and wrong
// passwords all give ErrBadCredentials after the same argon2 work (a dummy hash stands in), so
// neither the answer nor its timing tells whether a user exists.
func (s *Store) AuthenticatePassword(name string, pw []byte) (User, error) {
	s.refresh()
	s.mu.RLock()
	u, _, ok := s.user(name)
	s.mu.RUnlock()
	hash := u.PasswordHash
	if !ok || hash == "" {
		hash = dummyHash()
	}
	if !verifyPassword(hash, pw) || !ok || u.PasswordHash == "" {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// AuthenticateKey checks that key is one of name's public keys; ErrBadCredentials otherwise.
func (s *Store) AuthenticateKey(name string, key ssh.PublicKey) (User, error) {
	s.refresh()
	s.mu.RLock()
	u, _, ok := s.user(name)
	s.mu.RUnlock()
	if !ok || key == nil {
		return User{}, ErrBadCredentials
	}
	want := key.Marshal()
	for _, line := range u.PublicKeys {
		k, err := parseUserKey(line)
		if err == nil && subtle.ConstantTimeCompare(k.Marshal(), want) == 1 {
			return u, nil
		}
	}
	return User{}, ErrBadCredentials
}

// Permitted returns the targets user holds at least one grant on, sorted by name, for the menu.
func (s *Store) Permitted(user string) []Target {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Target
	for _, t := range s.targetsLocked() {
		if slices.ContainsFunc(s.grants(), func(g Grant) bool { return g.User == user && g.Target == t.Name }) {
			out = append(out, t)
		}
	}
	return out
}

// Authorize decides whether user may reach target, and as which account. target is a target name
// or "account@target" (from an SSH login name user@account@target).
//
// A target that does not exist and one the user holds no grant on both give ErrNoSuchTarget, so
// that users cannot probe for targets. A granted target with an account the user was not granted
// gives ErrDenied. With a bare target name and several granted accounts, the first grant wins:
// configuration grants in file order, then CLI grants in the order they were added; users pick
// another account with "account@target".
func (s *Store) Authorize(user, target string) (Target, Grant, error) {
	account := ""
	if i := strings.LastIndexByte(target, '@'); i >= 0 {
		account, target = target[:i], target[i+1:]
	}
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, _, ok := s.target(target)
	var mine []Grant
	for _, g := range s.grants() {
		if g.User == user && g.Target == target {
			mine = append(mine, g)
		}
	}
	if !ok || len(mine) == 0 {
		return Target{}, Grant{}, fmt.Errorf("%w %q", ErrNoSuchTarget, target)
	}
	if account == "" {
		return t, mine[0], nil
	}
	for _, g := range mine {
		if g.Account == account {
			return t, g, nil
		}
	}
	return Target{}, Grant{}, fmt.Errorf("%w: account %q on target %q", ErrDenied, account, target)
}
