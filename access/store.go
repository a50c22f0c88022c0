package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// fileState is the JSON document at the store's path.
type fileState struct {
	Version int      `json:"version"`
	Users   []User   `json:"users"`
	Targets []Target `json:"targets"`
	Grants  []Grant  `json:"grants"`
	// HostKeys holds the keys recorded on first use, as authorized_keys lines, by target name.
	HostKeys map[string]string `json:"host_keys,omitempty"`
	// RDPCerts holds the RDP certificate fingerprints recorded on first use ("sha256:<hex>"), by
	// target name.
	RDPCerts map[string]string `json:"rdp_certs,omitempty"`
}

type stamp struct {
	mod  time.Time
	size int64
	ino  any
}

// Store is the access policy: the entries of the configuration file (read-only) merged with those
// persisted at its path by the CLI. A name defined in the configuration shadows a stored entry of
// the same name. It is safe for concurrent use, and it rereads the file when another process (the
// CLI while the gateway runs) has replaced it, so changes take effect without a restart.
type Store struct {
	path string
	conf Config

	mu    sync.RWMutex
	file  fileState
	stamp stamp
}

// OpenStore opens the store persisted at path (normally <data>/access.json; created on the first
// change) merged with the entries of the configuration file. It fails when fromConfig is invalid or
// names, in a grant, a user or target that exists nowhere.
func OpenStore(path string, fromConfig Config) (*Store, error) {
	if err := fromConfig.Validate(); err != nil {
		return nil, err
	}
	conf := Config{
		Users:   slices.Clone(fromConfig.Users),
		Targets: slices.Clone(fromConfig.Targets),
		Grants:  slices.Clone(fromConfig.Grants),
	}
	for i := range conf.Users {
		conf.Users[i].normalize()
	}
	for i := range conf.Targets {
		conf.Targets[i].normalize()
	}
	s := &Store{path: path, conf: conf}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	for i, g := range conf.Grants {
		if _, _, ok := s.user(g.User); !ok {
			return nil, fmt.Errorf("access.grants[%d]: %w", i, notFound("user", g.User))
		}
		if _, _, ok := s.target(g.Target); !ok {
			return nil, fmt.Errorf("access.grants[%d]: %w", i, notFound("target", g.Target))
		}
	}
	return s, nil
}

// Reload rereads the persisted file. Reads call it on their own when the file changed; on a read
// error they keep the last good state, which Reload reports.
func (s *Store) Reload() error {
	st, stp, err := readState(s.path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.file, s.stamp = st, stp
	s.mu.Unlock()
	return nil
}

func readState(path string) (fileState, stamp, error) {
	var st fileState
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{Version: 1}, stamp{}, nil
	}
	if err != nil {
		return st, stamp{}, fmt.Errorf("access: read %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return st, stamp{}, fmt.Errorf("access: read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, stamp{}, fmt.Errorf("access: parse %s: %w", path, err)
	}
	if st.Version != 1 {
		return st, stamp{}, fmt.Errorf("access: %s: unsupported version %d", path, st.Version)
	}
	return st, stampOf(fi), nil
}

func stampOf(fi fs.FileInfo) stamp { return stamp{mod: fi.ModTime(), size: fi.Size(), ino: fi.Sys()} }

func (a stamp) equal(b stamp) bool {
	// fi.Sys() is a *syscall.Stat_t; compare what it points to through fmt-free means: the
	// atomic rename gives every write a new inode, and mtime plus size catch the rest.
	return a.mod.Equal(b.mod) && a.size == b.size && inode(a.ino) == inode(b.ino)
}

// refresh rereads the file if another process replaced it since it was last read.
func (s *Store) refresh() {
	fi, err := os.Stat(s.path)
	var now stamp
	if err == nil {
		now = stampOf(fi)
	}
	s.mu.RLock()
	same := s.stamp.equal(now)
	s.mu.RUnlock()
	if !same {
		s.Reload() // on error keep the last good state; Reload reports it to whoever asks
	}
}

// mutate applies f to the current file state under the cross-process lock and writes the result
// atomically. f sees the freshest state, so two processes never overwrite each other's changes.
func (s *Store) mutate(f func(st *fileState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("access: %w", err)
	}
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return fmt.Errorf("access: lock %s: %w", s.path, err)
	}
	defer unlock()
	st, _, err := readState(s.path)
	if err != nil {
		return err
	}
	s.file = st // f's checks against the merged view must see the fresh state
	if err := f(&s.file); err != nil {
		s.file = st
		return err
	}
	b, err := json.MarshalIndent(s.file, "", "  ")
	if err != nil {
		return fmt.Errorf("access: encode: %w", err)
	}
	if err := writeAtomic(s.path, append(b, '\n')); err != nil {
		s.file = st
		return fmt.Errorf("access: write %s: %w", s.path, err)
	}
	if fi, err := os.Stat(s.path); err == nil {
		s.stamp = stampOf(fi)
	}
	return nil
}

// user finds a user by name, configuration first. Callers hold s.mu.
func (s *Store) user(name string) (u User, inConfig, ok bool) {
	for _, u := range s.conf.Users {
		if u.Name == name {
			return u, true, true
		}
	}
	for _, u := range s.file.Users {
		if u.Name == name {
			return u, false, true
		}
	}
	return User{}, false, false
}

// target finds a target by name, configuration first. Callers hold s.mu.
func (s *Store) target(name string) (t Target, inConfig, ok bool) {
	for _, t := range s.conf.Targets {
		if t.Name == name {
			return t, true, true
		}
	}
	for _, t := range s.file.Targets {
		if t.Name == name {
			return t, false, true
		}
	}
	return Target{}, false, false
}

// grants returns the configuration's grants, then the stored ones, skipping stored grants
// identical to a configured one. Callers hold s.mu.
func (s *Store) grants() []Grant {
	out := slices.Clone(s.conf.Grants)
	for _, g := range s.file.Grants {
		if !slices.ContainsFunc(s.conf.Grants, g.same) {
			out = append(out, g)
		}
	}
	return out
}

// Users returns every user, sorted by name. Their password hashes are included; callers that
// show users leave them out.
func (s *Store) Users() []User {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []User
	seen := map[string]bool{}
	for _, u := range append(slices.Clone(s.conf.Users), s.file.Users...) {
		if !seen[u.Name] {
			seen[u.Name] = true
			u.PublicKeys = slices.Clone(u.PublicKeys)
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Targets returns every target, sorted by name.
func (s *Store) Targets() []Target {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.targetsLocked()
}

func (s *Store) targetsLocked() []Target {
	var out []Target
	seen := map[string]bool{}
	for _, t := range append(slices.Clone(s.conf.Targets), s.file.Targets...) {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Grants returns every grant: the configuration's first, then the stored ones in the order they
// were added.
func (s *Store) Grants() []Grant {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.grants()
}

// IsFromConfig reports whether the user or target (kind "user" or "target") of that name is
// defined in the configuration file.
func (s *Store) IsFromConfig(kind, name string) bool {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch kind {
	case "user":
		_, c, _ := s.user(name)
		return c
	case "target":
		_, c, _ := s.target(name)
		return c
	}
	return false
}

// writeAtomic replaces path with b: a 0600 temp file beside it, synced, renamed, directory synced.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".access-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
