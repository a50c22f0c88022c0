package player

import (
	"errors"
	"net/http"
	"testing"
)

// TestRoleChangesReachLogins: the role of a live login follows the store on the next request: a
// demoted auditor loses other people's sessions at once, a promoted user gains them, a deleted
// user's logins end (and stay ended if the name comes back), and a store that cannot answer
// refuses the request instead of trusting the role of the login.
func TestRoleChangesReachLogins(t *testing.T) {
	f := newFixture(t)
	auth := f.srv.cfg.Auth.(*fakeAuth)
	carol := f.mustLogin(t, "carol")
	alice := f.mustLogin(t, "alice")
	steps := []struct {
		name   string
		change func()
		c      *client
		path   string
		code   int
		role   string // of /api/me, when the path is /api/me and code 200
	}{
		{"auditor sees bob", nil, carol, "/api/sessions/s-bob", 200, ""},
		{"auditor shadows", nil, carol, "/api/live/l-alice/shadow", 200, ""},
		{"demoted", func() { auth.set("carol", fakeUser{pw: "carol-pw", role: RoleUser}) }, carol, "/api/sessions/s-bob", 403, ""},
		{"demoted records", nil, carol, "/api/sessions/s-bob/records", 403, ""},
		{"demoted shadow", nil, carol, "/api/live/l-alice/shadow", 403, ""},
		{"demoted me", nil, carol, "/api/me", 200, "user"},
		{"user", nil, alice, "/api/sessions/s-bob", 403, ""},
		{"promoted", func() { auth.set("alice", fakeUser{pw: "alice-pw", role: RoleAuditor}) }, alice, "/api/sessions/s-bob", 200, ""},
		{"promoted me", nil, alice, "/api/me", 200, "auditor"},
		{"deleted", func() { auth.drop("carol") }, carol, "/api/me", 401, ""},
		{"back again", func() { auth.set("carol", fakeUser{pw: "carol-pw", role: RoleAuditor}) }, carol, "/api/me", 401, ""},
		{"store down", func() { auth.fail(errors.New("fake: disk on fire")) }, alice, "/api/sessions/s-bob", 503, ""},
		{"store back", func() { auth.fail(nil) }, alice, "/api/sessions/s-bob", 200, ""},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		hdr := map[string]string{}
		if st.path == "/api/live/l-alice/shadow" {
			hdr["Origin"] = f.ts.URL
		}
		r := f.do(t, st.c, "GET", st.path, "", hdr)
		if r.code != st.code {
			t.Fatalf("%s: GET %s = %d %s, want %d", st.name, st.path, r.code, r.body, st.code)
		}
		if st.role != "" {
			var me map[string]string
			decode(t, r, &me)
			if me["role"] != st.role {
				t.Errorf("%s: role %q, want %q", st.name, me["role"], st.role)
			}
		}
	}
	f.mu.Lock()
	var removed, roles int
	for _, a := range f.audits {
		switch {
		case a.Kind == "web.logout" && a.User == "carol" && a.Detail == "user removed":
			removed++
		case a.Kind == "web.login.role":
			roles++
		}
	}
	if removed != 1 || roles != 2 {
		t.Errorf("audited %d removals (want 1) and %d role changes (want 2): %+v", removed, roles, f.audits)
	}
	f.mu.Unlock()
	if r := f.do(t, f.mustLogin(t, "carol"), "GET", "/api/sessions/s-bob", "", nil); r.code != http.StatusOK {
		t.Errorf("a new login of the restored auditor: %d", r.code)
	}
}
