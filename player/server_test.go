package player

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/seed18fc72c3/vigil/index"
)

const (
	totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	fakeHash   = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
)

type fixture struct {
	srv    *Server
	ts     *httptest.Server
	store  *memSessions
	search *fakeSearch
	live   *fakeLive
	mu     sync.Mutex
	audits []AuditEvent
	now    time.Time
}

func (f *fixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	f := &fixture{store: newMemSessions(), live: newFakeLive(), now: t0}
	f.store.add(synth{id: "s-alice", user: "alice", target: "web01", start: t0, length: 30 * time.Second, segLen: 10 * time.Second, step: 500 * time.Millisecond})
	f.store.add(synth{id: "s-bob", user: "bob", target: "db01", start: t0.Add(time.Hour), length: 5 * time.Second, segLen: 10 * time.Second, step: time.Second})
	f.search = &fakeSearch{hits: []index.Hit{
		{Session: "s-alice", User: "alice", Target: "web01", Kind: index.KindCommand, Time: t0.Add(12 * time.Second), Offset: 12 * time.Second, OffsetMS: 12000, Line: "sudo systemctl restart nginx", Marks: [][2]int{{0, 4}}},
		{Session: "s-bob", User: "bob", Target: "db01", Kind: index.KindCommand, Time: t0.Add(time.Hour + 2*time.Second), Offset: 2 * time.Second, OffsetMS: 2000, Line: "sudo psql", Marks: [][2]int{{0, 4}}},
	}}
	auth := &fakeAuth{users: map[string]fakeUser{
		"alice": {pw: "alice-pw", hash: fakeHash, role: RoleUser},
		"bob":   {pw: "bob-pw", hash: fakeHash, role: RoleUser},
		"carol": {pw: "carol-pw", hash: fakeHash, role: RoleAuditor},
		"dave":  {pw: "dave-pw", hash: fakeHash, role: RoleAdmin},
		"erin":  {pw: "erin-pw", hash: fakeHash, role: RoleAuditor, totp: totpSecret},
	}}
	srv, err := NewServer(Config{Auth: auth, Sessions: f.store, Search: f.search, Live: f.live, Now: f.clock,
		Assets: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>vigil")}},
		Audit:  func(e AuditEvent) { f.mu.Lock(); f.audits = append(f.audits, e); f.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv)
	t.Cleanup(f.ts.Close)
	return f
}

// client is a logged-in browser: its cookie and CSRF token.
type client struct {
	cookie *http.Cookie
	csrf   string
}

type resp struct {
	code int
	body string
	hdr  http.Header
}

func (f *fixture) do(t testing.TB, c *client, method, path, body string, hdr map[string]string) resp {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c != nil {
		req.AddCookie(c.cookie)
		if method != http.MethodGet {
			req.Header.Set(csrfHeader, c.csrf)
		}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, body: string(b), hdr: res.Header}
}

func (f *fixture) login(t testing.TB, user, pw, code string) (*client, resp) {
	t.Helper()
	body, _ := json.Marshal(loginRequest{User: user, Password: pw, Code: code})
	r := f.do(t, nil, "POST", "/api/login", string(body), nil)
	if r.code != http.StatusOK {
		return nil, r
	}
	var c client
	for _, ck := range (&http.Response{Header: r.hdr}).Cookies() {
		if ck.Name == cookieName {
			c.cookie = ck
		}
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(r.body), &m); err != nil || c.cookie == nil {
		t.Fatalf("login answer %q, cookie %v: %v", r.body, c.cookie, err)
	}
	c.csrf = m["csrf"]
	return &c, r
}

func (f *fixture) mustLogin(t testing.TB, user string) *client {
	t.Helper()
	c, r := f.login(t, user, user+"-pw", "")
	if c == nil {
		t.Fatalf("login %s: %d %s", user, r.code, r.body)
	}
	return c
}

// TestEndpointRoles proves every refusal: each API endpoint for each kind of caller.
func TestEndpointRoles(t *testing.T) {
	f := newFixture(t)
	type ep struct {
		method, path, body string
		hdr                map[string]string
	}
	self := map[string]string{"Origin": f.ts.URL}
	eps := []ep{
		{"GET", "/api/me", "", nil},
		{"GET", "/api/sessions", "", nil},
		{"GET", "/api/sessions/s-alice", "", nil},
		{"GET", "/api/sessions/s-alice/verify", "", nil},
		{"GET", "/api/sessions/s-alice/records?from=12000", "", nil},
		{"GET", "/api/search?q=sudo&user=alice", "", nil},
		{"POST", "/api/logout", "", nil},
		{"GET", "/api/live", "", nil},
		{"GET", "/api/live/l-alice/shadow", "", self},
		{"GET", "/api/live/l-alice/shadow", "", map[string]string{"Origin": "https://evil.example"}},
		{"GET", "/api/live/l-alice/shadow", "", nil}, // no Origin at all
		{"POST", "/api/live/l-alice/pause", `{"reason":"look"}`, nil},
		{"POST", "/api/live/l-alice/resume", "", nil},
		{"POST", "/api/live/l-alice/terminate", `{"reason":"enough"}`, nil},
		{"POST", "/api/live/l-alice/pause", `{"reason":"look"}`, map[string]string{csrfHeader: ""}},
		{"POST", "/api/live/l-alice/terminate", `{"reason":"enough"}`, map[string]string{csrfHeader: "forged"}},
		{"POST", "/api/live/l-alice/terminate", `{"reason":"enough"}`, map[string]string{"Origin": "https://evil.example"}},
	}
	// want[caller][endpoint index]
	want := map[string][]int{
		"anonymous": {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
		"alice":     {200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403}, // the owner
		"bob":       {200, 200, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403}, // another user
		"carol":     {200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 200, 200, 200, 403, 403, 403}, // auditor
		"dave":      {200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 200, 200, 200, 403, 403, 403}, // admin
		"expired":   {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
		"forged":    {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401},
	}
	for caller, codes := range want {
		for i, e := range eps {
			t.Run(fmt.Sprintf("%s %d %s %s", caller, i, e.method, e.path), func(t *testing.T) {
				var c *client
				switch caller {
				case "anonymous":
				case "expired":
					c = f.mustLogin(t, "carol")
					f.advance(DefaultSessionTTL + time.Second)
				case "forged":
					c = &client{cookie: &http.Cookie{Name: cookieName, Value: token()}, csrf: "x"}
				default:
					c = f.mustLogin(t, caller) // fresh each time: logout ends it
				}
				r := f.do(t, c, e.method, e.path, e.body, e.hdr)
				if r.code != codes[i] {
					t.Errorf("%s %s as %s = %d %s, want %d", e.method, e.path, caller, r.code, r.body, codes[i])
				}
			})
		}
	}
}

func TestUserSeesOnlyOwnSessions(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		user string
		want []string
	}{
		{"alice", []string{"s-alice"}},
		{"bob", []string{"s-bob"}},
		{"carol", []string{"s-bob", "s-alice"}},
		{"dave", []string{"s-bob", "s-alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c := f.mustLogin(t, tt.user)
			var list struct{ Sessions []sessionJSON }
			decode(t, f.do(t, c, "GET", "/api/sessions", "", nil), &list)
			var got []string
			for _, s := range list.Sessions {
				got = append(got, s.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("sessions = %v, want %v", got, tt.want)
			}
			// Search without a user filter is confined to the user's own sessions.
			var sr struct{ Groups []searchGroup }
			decode(t, f.do(t, c, "GET", "/api/search?q=sudo", "", nil), &sr)
			got = nil
			for _, g := range sr.Groups {
				got = append(got, g.Session.ID)
			}
			if len(got) != len(tt.want) {
				t.Errorf("search groups = %v, want the sessions %v", got, tt.want)
			}
		})
	}
}

func TestSessionFilters(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "carol")
	tests := []struct {
		query string
		want  int
		code  int
	}{
		{"", 2, 200},
		{"?user=alice", 1, 200},
		{"?target=db01", 1, 200},
		{"?protocol=ssh", 2, 200},
		{"?protocol=rdp", 0, 200},
		{"?status=live", 0, 200},
		{"?status=ended", 2, 200},
		{"?since=2025-03-01T10:30:00Z", 1, 200},
		{"?until=2025-03-01", 2, 200},
		{"?until=2025-02-28", 0, 200},
		{"?since=yesterday", 0, 400},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.do(t, c, "GET", "/api/sessions"+tt.query, "", nil)
			if r.code != tt.code {
				t.Fatalf("code %d %s, want %d", r.code, r.body, tt.code)
			}
			if tt.code != 200 {
				return
			}
			var list struct{ Sessions []sessionJSON }
			decode(t, r, &list)
			if len(list.Sessions) != tt.want {
				t.Errorf("%d sessions, want %d", len(list.Sessions), tt.want)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no token", map[string]string{csrfHeader: ""}, 403},
		{"wrong token", map[string]string{csrfHeader: "nope"}, 403},
		{"cross origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"right token", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.mustLogin(t, "alice")
			r := f.do(t, c, "POST", "/api/logout", "", tt.hdr)
			if r.code != tt.want {
				t.Fatalf("logout = %d %s, want %d", r.code, r.body, tt.want)
			}
			// A refused logout leaves the login alive; an accepted one ends it.
			wantMe := 200
			if tt.want == 200 {
				wantMe = 401
			}
			if got := f.do(t, c, "GET", "/api/me", "", nil).code; got != wantMe {
				t.Errorf("after logout, /api/me = %d, want %d", got, wantMe)
			}
		})
	}
	// Login from another origin is refused before any password is checked.
	r := f.do(t, nil, "POST", "/api/login", `{"user":"alice","password":"alice-pw"}`, map[string]string{"Origin": "http://evil.example"})
	if r.code != 403 {
		t.Errorf("cross-origin login = %d, want 403", r.code)
	}
	r = f.do(t, nil, "POST", "/api/login", `{"user":"alice","password":"alice-pw"}`, map[string]string{"Content-Type": "text/plain"})
	if r.code != 415 {
		t.Errorf("form-encoded login = %d, want 415", r.code)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, user, pw, code string
		want                 int
		totpRequired         bool
	}{
		{"right", "alice", "alice-pw", "", 200, false},
		{"wrong password", "alice", "nope", "", 401, false},
		{"unknown user", "mallory", "x", "", 401, false},
		{"totp missing", "erin", "erin-pw", "", 401, true},
		{"totp wrong", "erin", "erin-pw", "000000", 401, false},
		{"totp wrong password", "erin", "nope", "", 401, false},
		{"totp right", "erin", "erin-pw", "now", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := tt.code
			if code == "now" {
				var err error
				if code, err = totp.GenerateCode(totpSecret, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			c, r := f.login(t, tt.user, tt.pw, code)
			if r.code != tt.want {
				t.Fatalf("login = %d %s, want %d", r.code, r.body, tt.want)
			}
			if got := strings.Contains(r.body, "totp_required"); got != tt.totpRequired {
				t.Errorf("totp_required in %q: %v, want %v", r.body, got, tt.totpRequired)
			}
			if c == nil {
				return
			}
			ck := c.cookie
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
				t.Errorf("cookie HttpOnly=%v SameSite=%v Secure=%v; want HttpOnly, Strict, not Secure over plain HTTP", ck.HttpOnly, ck.SameSite, ck.Secure)
			}
		})
	}
}

func TestLoginRateLimitedAndAudited(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < loginFailures; i++ {
		if _, r := f.login(t, "alice", "wrong", ""); r.code != 401 {
			t.Fatalf("attempt %d = %d", i, r.code)
		}
	}
	// Locked out now, even with the right password.
	if _, r := f.login(t, "alice", "alice-pw", ""); r.code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures = %d %s, want 429", loginFailures, r.code, r.body)
	}
	f.advance(loginWindow)
	if c, r := f.login(t, "alice", "alice-pw", ""); c == nil {
		t.Fatalf("after the window = %d %s, want 200", r.code, r.body)
	}
	kinds := map[string]int{}
	f.mu.Lock()
	for _, e := range f.audits {
		kinds[e.Kind]++
		if e.Remote == "" {
			t.Errorf("audit event %+v has no remote address", e)
		}
	}
	f.mu.Unlock()
	if kinds["web.login.failed"] != loginFailures || kinds["web.login.limited"] != 1 || kinds["web.login"] != 1 {
		t.Errorf("audit kinds = %v", kinds)
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "carol")
	for i := 0; i < 3; i++ { // use keeps it alive past one TTL
		f.advance(DefaultSessionTTL - time.Minute)
		if r := f.do(t, c, "GET", "/api/me", "", nil); r.code != 200 {
			t.Fatalf("used login after %d periods = %d", i, r.code)
		}
	}
	f.advance(DefaultSessionMax)
	if r := f.do(t, c, "GET", "/api/me", "", nil); r.code != 401 {
		t.Fatalf("login past its maximum life = %d, want 401", r.code)
	}
}

// TestNoSecretsInResponses walks every endpoint as an admin and checks that no password, hash,
// TOTP secret or session id appears in any body.
func TestNoSecretsInResponses(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "dave")
	secrets := []string{"dave-pw", "alice-pw", fakeHash, "argon2", totpSecret, c.cookie.Value}
	for _, p := range []string{"/api/me", "/api/sessions", "/api/sessions/s-alice", "/api/sessions/s-alice/verify",
		"/api/sessions/s-alice/records", "/api/search?q=sudo", "/", "/api/nothing"} {
		r := f.do(t, c, "GET", p, "", nil)
		for _, s := range secrets {
			if strings.Contains(r.body, s) {
				t.Errorf("%s answer contains a secret %.8q...", p, s)
			}
		}
		if csp := r.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
	_, r := f.login(t, "erin", "erin-pw", "")
	if strings.Contains(r.body, totpSecret) {
		t.Error("totp challenge leaks the secret")
	}
}

func TestVerifyCached(t *testing.T) {
	f := newFixture(t)
	f.store.broken["s-bob"] = true
	c := f.mustLogin(t, "carol")
	for i := 0; i < 3; i++ {
		var v map[string]string
		decode(t, f.do(t, c, "GET", "/api/sessions/s-alice/verify", "", nil), &v)
		if v["verified"] != "ok" {
			t.Fatalf("verified = %q", v["verified"])
		}
		decode(t, f.do(t, c, "GET", "/api/sessions/s-bob/verify", "", nil), &v)
		if !strings.HasPrefix(v["verified"], "failed: ") {
			t.Fatalf("broken recording verified = %q", v["verified"])
		}
	}
	if f.store.verifies != 2 {
		t.Errorf("Verify called %d times for 2 finished recordings asked 3 times each", f.store.verifies)
	}
	var list struct{ Sessions []sessionJSON }
	decode(t, f.do(t, c, "GET", "/api/sessions", "", nil), &list)
	for _, s := range list.Sessions {
		if s.Verified == "" {
			t.Errorf("list does not show the cached verification of %s", s.ID)
		}
	}
}

func TestSessionDetailMarkers(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "carol")
	var d struct {
		Segments []segmentJSON
		Markers  []markerJSON
	}
	decode(t, f.do(t, c, "GET", "/api/sessions/s-alice", "", nil), &d)
	if len(d.Segments) != 3 || d.Segments[1].StartMS != 10000 || d.Segments[2].EndMS != 30000 {
		t.Errorf("segments = %+v", d.Segments)
	}
	if len(d.Markers) != 1 || d.Markers[0].OffsetMS != 12000 {
		t.Errorf("markers = %+v", d.Markers)
	}
	if r := f.do(t, c, "GET", "/api/sessions/nope", "", nil); r.code != 404 {
		t.Errorf("unknown session = %d", r.code)
	}
}

func decode(t testing.TB, r resp, v any) {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	if err := json.NewDecoder(bufio.NewReader(strings.NewReader(r.body))).Decode(v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}
