package player

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fakeTerminals permits targets per user and records what reached ServeTerminal.
type fakeTerminals struct {
	permitted map[string][]string
	mu        sync.Mutex
	calls     []string
}

func (f *fakeTerminals) Targets(_ context.Context, u User) ([]string, error) {
	return slices.Clone(f.permitted[u.Name]), nil
}

func (f *fakeTerminals) ServeTerminal(w http.ResponseWriter, _ *http.Request, u User, target string) {
	f.mu.Lock()
	f.calls = append(f.calls, u.Name+"/"+string(u.Role)+" "+target)
	f.mu.Unlock()
	w.WriteHeader(http.StatusSwitchingProtocols) // stands in for the upgrade
}

func (f *fakeTerminals) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func termFixture(t *testing.T) (*fixture, *fakeTerminals) {
	f := newFixture(t)
	term := &fakeTerminals{permitted: map[string][]string{"alice": {"web01", "router1", "db01"}, "carol": {}}}
	f.srv.cfg.Terminals = term
	return f, term
}

func TestTerminalTargets(t *testing.T) {
	f, _ := termFixture(t)
	for _, tt := range []struct {
		user string
		want []string
	}{
		{"alice", []string{"db01", "router1", "web01"}}, // sorted
		{"carol", []string{}},                           // an auditor holds no grant
		{"bob", []string{}},
	} {
		var got struct{ Targets []TargetInfo }
		r := f.do(t, f.mustLogin(t, tt.user), "GET", "/api/targets", "", nil)
		decode(t, r, &got)
		var names []string
		for _, ti := range got.Targets {
			names = append(names, ti.Name)
		}
		if !slices.Equal(names, tt.want) && !(len(names) == 0 && len(tt.want) == 0) {
			t.Errorf("%s: targets %v, want %v", tt.user, names, tt.want)
		}
		if !strings.Contains(r.body, `"targets":[`) {
			t.Errorf("%s: %q is not a JSON list (an empty one must be [], not null)", tt.user, r.body)
		}
	}
	if r := f.do(t, nil, "GET", "/api/targets", "", nil); r.code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.code)
	}
}

// TestTerminalWebSocketChecks: only a logged-in user, from this origin, on a target they hold a
// grant to, reaches the gateway; the refusals are audited and never reach it.
func TestTerminalWebSocketChecks(t *testing.T) {
	f, term := termFixture(t)
	self := map[string]string{"Origin": f.ts.URL}
	tests := []struct {
		name, user, path string
		hdr              map[string]string
		code             int
		call             string
	}{
		{"permitted", "alice", "/api/terminal/web01/ws", self, 101, "alice/user web01"},
		{"no origin", "alice", "/api/terminal/web01/ws", nil, 403, ""},
		{"other origin", "alice", "/api/terminal/web01/ws", map[string]string{"Origin": "https://evil.example"}, 403, ""},
		{"no grant", "bob", "/api/terminal/web01/ws", self, 404, ""},
		{"unknown target", "alice", "/api/terminal/nope/ws", self, 404, ""},
		{"auditor without grant", "carol", "/api/terminal/web01/ws", self, 404, ""},
		{"anonymous", "", "/api/terminal/web01/ws", self, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *client
			if tt.user != "" {
				c = f.mustLogin(t, tt.user)
			}
			before := len(term.callLog())
			r := f.do(t, c, "GET", tt.path, "", tt.hdr)
			if r.code != tt.code {
				t.Fatalf("%s = %d %s, want %d", tt.path, r.code, r.body, tt.code)
			}
			calls := term.callLog()[before:]
			switch {
			case tt.call == "" && len(calls) != 0:
				t.Errorf("refused request reached the gateway: %v", calls)
			case tt.call != "" && (len(calls) != 1 || calls[0] != tt.call):
				t.Errorf("gateway calls %q, want %q", calls, tt.call)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var open, refused int
	for _, e := range f.audits {
		switch e.Kind {
		case "web.terminal.open":
			open++
			if e.User != "alice" || e.Detail != "web01" {
				b, _ := json.Marshal(e)
				t.Errorf("open audit %s", b)
			}
		case "web.terminal.refused":
			refused++
		}
	}
	if open != 1 || refused != 3 {
		t.Errorf("audited %d opens and %d refusals, want 1 and 3", open, refused)
	}
}

func TestTerminalsAbsent(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "alice")
	if r := f.do(t, c, "GET", "/api/targets", "", nil); r.code != 200 || !strings.Contains(r.body, `"targets":[]`) {
		t.Errorf("targets without a gateway: %d %s", r.code, r.body)
	}
	if r := f.do(t, c, "GET", "/api/terminal/web01/ws", "", map[string]string{"Origin": f.ts.URL}); r.code != 404 {
		t.Errorf("terminal without a gateway: %d", r.code)
	}
}

// TestTerminalRefusedNameBounded: the name of a refused target, the caller's own text, is cut
// before it goes into the audit log.
func TestTerminalRefusedNameBounded(t *testing.T) {
	f, _ := termFixture(t)
	long := strings.Repeat("é", 3000)
	if r := f.do(t, f.mustLogin(t, "alice"), "GET", "/api/terminal/"+long+"/ws", "", map[string]string{"Origin": f.ts.URL}); r.code != http.StatusNotFound {
		t.Fatalf("%d %s", r.code, r.body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.audits {
		if e.Kind == "web.terminal.refused" {
			n++
			if len(e.Detail) > maxAuditName+len("…") || !utf8.ValidString(e.Detail) || !strings.HasPrefix(long, strings.TrimSuffix(e.Detail, "…")) {
				t.Errorf("audited a refused name of %d bytes: %.40q", len(e.Detail), e.Detail)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d refusals audited", n)
	}
}
