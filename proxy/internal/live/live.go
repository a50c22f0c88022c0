// Package live is the set of sessions in progress that both front ends keep (proxy/ssh for
// terminal sessions, proxy/desktop for graphical ones): by id, listed oldest first, so auditors'
// live lists and controls read the same way whatever the protocol.
package live

import (
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Registry holds live sessions of type S by id. The zero value is ready to use; it is safe for
// concurrent use.
type Registry[S comparable] struct {
	mu sync.Mutex
	m  map[string]S
}

// Add records s under id.
func (r *Registry[S]) Add(id string, s S) {
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[string]S)
	}
	r.m[id] = s
	r.mu.Unlock()
}

// Remove forgets id if it still names s (a session that ended does not remove a newer one that
// took its id).
func (r *Registry[S]) Remove(id string, s S) {
	r.mu.Lock()
	if r.m[id] == s {
		delete(r.m, id)
	}
	r.mu.Unlock()
}

// Get returns the session id names.
func (r *Registry[S]) Get(id string) (S, bool) {
	r.mu.Lock()
	s, ok := r.m[id]
	r.mu.Unlock()
	return s, ok
}

// List describes every session with describe (called without the registry's lock held, since
// describing takes the session's own locks), oldest first by start, then by id.
func List[S comparable, D any](r *Registry[S], describe func(S) D, start func(D) time.Time, id func(D) string) []D {
	r.mu.Lock()
	all := make([]S, 0, len(r.m))
	for _, s := range r.m {
		all = append(all, s)
	}
	r.mu.Unlock()
	out := make([]D, 0, len(all))
	for _, s := range all {
		out = append(out, describe(s))
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := start(out[i]), start(out[j]); !a.Equal(b) {
			return a.Before(b)
		}
		return id(out[i]) < id(out[j])
	})
	return out
}

// Clean keeps an actor or a reason an auditor gave safe to print on the user's terminal or in the
// browser (control characters become spaces, so no escape sequence gets through) and short
// enough for one line (200 characters).
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200])
	}
	return s
}

// ActionDetail is the audit detail of a live control: "by ACTOR" or "by ACTOR: REASON".
func ActionDetail(by, reason string) string {
	if reason == "" {
		return "by " + by
	}
	return "by " + by + ": " + reason
}
