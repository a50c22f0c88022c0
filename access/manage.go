package access

import (
	"fmt"
	"slices"
	"strings"
)

// AddUser adds u to the stored policy. ErrExists if the name is taken, ErrInvalid if u is malformed.
// u.PasswordHash, when set, must come from HashPassword; SetPassword is the usual way to set one.
func (s *Store) AddUser(u User) error {
	u.normalize()
	if err := u.validate(); err != nil {
		return err
	}
	u.PublicKeys = normalizeKeys(u.PublicKeys)
	return s.mutate(func(st *fileState) error {
		if _, _, ok := s.user(u.Name); ok {
			return exists("user", u.Name)
		}
		st.Users = append(st.Users, u)
		return nil
	})
}

// RemoveUser removes a stored user: ErrFromConfig for a configured one, ErrInUse while grants name it.
func (s *Store) RemoveUser(name string) error {
	return s.mutate(func(st *fileState) error {
		if _, inConf, ok := s.user(name); !ok {
			return notFound("user", name)
		} else if inConf {
			return fromConfig("user", name)
		}
		if n := countGrants(s.grants(), func(g Grant) bool { return g.User == name }); n > 0 {
			return &entryError{err: ErrInUse, kind: "user", name: name,
				detail: fmt.Sprintf("has %d grant(s); remove them first", n)}
		}
		st.Users = slices.DeleteFunc(st.Users, func(u User) bool { return u.Name == name })
		return nil
	})
}

// SetPassword sets a stored user's password (hashed with HashPassword).
func (s *Store) SetPassword(name string, pw []byte) error {
	hash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	return s.updateUser(name, func(u *User) error { u.PasswordHash = hash; return nil })
}

// SetExport gives or takes a stored user's permission to export evidence (User.Export).
func (s *Store) SetExport(name string, on bool) error {
	return s.updateUser(name, func(u *User) error { u.Export = on; return nil })
}

// AddKey adds an authorized_keys line (without options) to a stored user's keys.
func (s *Store) AddKey(name, line string) error {
	key, err := parseUserKey(line)
	if err != nil {
		return err
	}
	return s.updateUser(name, func(u *User) error {
		for _, k := range u.PublicKeys {
			if other, err := parseUserKey(k); err == nil && string(other.Marshal()) == string(key.Marshal()) {
				return exists("key for user", name)
			}
		}
		u.PublicKeys = append(u.PublicKeys, strings.TrimSpace(line))
		return nil
	})
}

func (s *Store) updateUser(name string, f func(*User) error) error {
	return s.mutate(func(st *fileState) error {
		if _, inConf, ok := s.user(name); !ok {
			return notFound("user", name)
		} else if inConf {
			return fromConfig("user", name)
		}
		i := slices.IndexFunc(st.Users, func(u User) bool { return u.Name == name })
		return f(&st.Users[i])
	})
}

// AddTarget adds t to the stored policy; Protocol defaults to ssh and Port to the protocol's.
func (s *Store) AddTarget(t Target) error {
	t.normalize()
	if err := t.validate(); err != nil {
		return err
	}
	return s.mutate(func(st *fileState) error {
		if _, _, ok := s.target(t.Name); ok {
			return exists("target", t.Name)
		}
		st.Targets = append(st.Targets, t)
		// A key recorded on first use by an earlier target of the same name must not carry over.
		delete(st.HostKeys, t.Name)
		delete(st.RDPCerts, t.Name)
		return nil
	})
}

// RemoveTarget removes a stored target and its recorded host key or certificate: ErrFromConfig for a configured
// one, ErrInUse while grants name it. Its vault credentials are the caller's to remove.
func (s *Store) RemoveTarget(name string) error {
	return s.mutate(func(st *fileState) error {
		if _, inConf, ok := s.target(name); !ok {
			return notFound("target", name)
		} else if inConf {
			return fromConfig("target", name)
		}
		if n := countGrants(s.grants(), func(g Grant) bool { return g.Target == name }); n > 0 {
			return &entryError{err: ErrInUse, kind: "target", name: name,
				detail: fmt.Sprintf("has %d grant(s); remove them first", n)}
		}
		st.Targets = slices.DeleteFunc(st.Targets, func(t Target) bool { return t.Name == name })
		delete(st.HostKeys, name)
		delete(st.RDPCerts, name)
		return nil
	})
}

// AddGrant adds g; its user and target must exist (ErrNotFound otherwise).
func (s *Store) AddGrant(g Grant) error {
	if err := g.validate(); err != nil {
		return err
	}
	return s.mutate(func(st *fileState) error {
		if _, _, ok := s.user(g.User); !ok {
			return notFound("user", g.User)
		}
		if _, _, ok := s.target(g.Target); !ok {
			return notFound("target", g.Target)
		}
		if slices.ContainsFunc(s.grants(), g.same) {
			return exists("grant", grantName(g))
		}
		st.Grants = append(st.Grants, g)
		return nil
	})
}

// RemoveGrant removes the stored grant with g's user, target and account.
func (s *Store) RemoveGrant(g Grant) error {
	return s.mutate(func(st *fileState) error {
		if slices.ContainsFunc(s.conf.Grants, g.same) {
			return fromConfig("grant", grantName(g))
		}
		if !slices.ContainsFunc(st.Grants, g.same) {
			return notFound("grant", grantName(g))
		}
		st.Grants = slices.DeleteFunc(st.Grants, g.same)
		return nil
	})
}

func countGrants(gs []Grant, f func(Grant) bool) int {
	n := 0
	for _, g := range gs {
		if f(g) {
			n++
		}
	}
	return n
}

func normalizeKeys(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, strings.TrimSpace(k))
	}
	return out
}
