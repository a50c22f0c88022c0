package player

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"
)

const (
	cookieName = "vigil_session"
	csrfHeader = "X-CSRF-Token"
	// loginFailures failed logins within loginWindow, per user name or per remote address, lock
	// further attempts out for the rest of the window.
	loginFailures = 5
	loginWindow   = 5 * time.Minute
	maxLoginBody  = 4 << 10
)

// login is one server-side session. Its id is the cookie; csrf is handed to the page, which echoes
// it in X-CSRF-Token on every state-changing request.
type login struct {
	id, csrf string
	user     User
	created  time.Time
	seen     time.Time
}

type loginStore struct {
	now      func() time.Time
	ttl, max time.Duration
	mu       sync.Mutex
	m        map[string]*login
}

func newLoginStore(now func() time.Time, ttl, max time.Duration) *loginStore {
	return &loginStore{now: now, ttl: ttl, max: max, m: map[string]*login{}}
}

func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ls *loginStore) create(u User) *login {
	now := ls.now()
	l := &login{id: token(), csrf: token(), user: u, created: now, seen: now}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for id, old := range ls.m { // expired logins go when new ones arrive: no janitor goroutine
		if ls.expired(old, now) {
			delete(ls.m, id)
		}
	}
	ls.m[l.id] = l
	return l
}

func (ls *loginStore) expired(l *login, now time.Time) bool {
	return now.Sub(l.seen) > ls.ttl || now.Sub(l.created) > ls.max
}

// get returns the live login of id and marks it used; nil if absent or expired.
func (ls *loginStore) get(id string) *login {
	now := ls.now()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.m[id]
	if l == nil {
		return nil
	}
	if ls.expired(l, now) {
		delete(ls.m, id)
		return nil
	}
	l.seen = now
	c := *l
	return &c
}

// setUser replaces the user of login id, as the store now knows them.
func (ls *loginStore) setUser(id string, u User) {
	ls.mu.Lock()
	if l := ls.m[id]; l != nil {
		l.user = u
	}
	ls.mu.Unlock()
}

func (ls *loginStore) remove(id string) {
	ls.mu.Lock()
	delete(ls.m, id)
	ls.mu.Unlock()
}

// limiter counts failures per key in fixed windows.
type limiter struct {
	now    func() time.Time
	n      int
	window time.Duration
	mu     sync.Mutex
	m      map[string]*window
}

type window struct {
	start time.Time
	fails int
}

func newLimiter(now func() time.Time, n int, w time.Duration) *limiter {
	return &limiter{now: now, n: n, window: w, m: map[string]*window{}}
}

func (l *limiter) blocked(keys ...string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if w := l.m[k]; w != nil && now.Sub(w.start) < l.window && w.fails >= l.n {
			return true
		}
	}
	return false
}

func (l *limiter) fail(keys ...string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		w := l.m[k]
		if w == nil || now.Sub(w.start) >= l.window {
			w = &window{start: now}
			l.m[k] = w
		}
		w.fails++
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Code     string `json:"code"`
}

// handleLogin checks a password and, for users who enrolled one, a TOTP code. A user with TOTP
// who sends no code gets 401 with "totp_required" so the page can ask for it; the password is
// checked first, so that answer tells nothing to someone without it.
//
// Login has no CSRF token (there is no session yet); it requires a JSON body and, when the
// browser sends one, a same-origin Origin header, which a cross-site form cannot produce.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "login takes application/json")
		return
	}
	var req loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed login")
		return
	}
	ip := remoteIP(r)
	userKey, ipKey := "user:"+req.User, "ip:"+ip
	if s.limit.blocked(userKey, ipKey) {
		s.audit(r, "web.login.limited", req.User, "", "")
		w.Header().Set("Retry-After", "300")
		writeError(w, http.StatusTooManyRequests, "too many failed logins; try again later")
		return
	}
	u, err := s.checkLogin(r.Context(), req)
	if errors.Is(err, errTOTPRequired) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "code required", "totp_required": true})
		return
	}
	if err != nil {
		s.limit.fail(userKey, ipKey)
		detail := "bad credentials"
		if !errors.Is(err, ErrBadCredentials) {
			detail = "error"
			s.log.Error("web login", "user", req.User, "err", err)
		}
		s.audit(r, "web.login.failed", req.User, "", detail)
		writeError(w, http.StatusUnauthorized, "wrong user name, password or code")
		return
	}
	s.limit.reset(userKey)
	l := s.logins.create(u)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: l.id, Path: "/", HttpOnly: true,
		Secure: s.cfg.Secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	s.audit(r, "web.login", u.Name, "", string(u.Role))
	writeJSON(w, http.StatusOK, me(l))
}

var errTOTPRequired = errors.New("player: totp code required")

func (s *Server) checkLogin(ctx context.Context, req loginRequest) (User, error) {
	u, err := s.cfg.Auth.AuthenticatePassword(ctx, req.User, []byte(req.Password))
	if err != nil {
		return User{}, err
	}
	secret, err := s.cfg.Auth.TOTPSecret(ctx, u.Name)
	if err != nil {
		return User{}, err
	}
	if secret == "" {
		return u, nil
	}
	if req.Code == "" {
		return User{}, errTOTPRequired
	}
	if !totp.Validate(strings.TrimSpace(req.Code), secret) {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

func me(l *login) map[string]string {
	return map[string]string{"user": l.user.Name, "role": string(l.user.Role), "csrf": l.csrf}
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, l *login) {
	writeJSON(w, http.StatusOK, me(l))
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, l *login) {
	s.logins.remove(l.id)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.Secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	s.audit(r, "web.logout", l.user.Name, "", "")
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// roles a handler admits.
type roles []Role

var (
	anyRole     = roles{RoleUser, RoleAuditor, RoleAdmin}
	auditorRole = roles{RoleAuditor, RoleAdmin}
)

func (rs roles) has(r Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// seesAll says whether a role may see other people's sessions.
func seesAll(r Role) bool { return auditorRole.has(r) }

// authed admits requests with a live login of one of the roles (401 without, 403 for the wrong
// role) and, for methods that change state, the login's CSRF token (403 without).
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *login), allowed roles) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		var l *login
		if err == nil {
			l = s.logins.get(c.Value)
		}
		if l == nil {
			writeError(w, http.StatusUnauthorized, "log in first")
			return
		}
		if !s.current(w, r, l) {
			return
		}
		if !allowed.has(l.user.Role) {
			writeError(w, http.StatusForbidden, "your role may not do this")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(l.csrf)) != 1 || !sameOrigin(r) {
				writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
				return
			}
		}
		h(w, r, l)
	})
}

// current re-reads l's user from the Authenticator, so that a role taken away or an account deleted
// takes effect on the next request rather than when the login expires. A user who is gone ends the
// login (401); a changed role replaces the login's; a store that cannot answer refuses the request
// (503): access is not granted on a role that may be stale. It answers false when it wrote the
// response.
func (s *Server) current(w http.ResponseWriter, r *http.Request, l *login) bool {
	u, err := s.cfg.Auth.User(r.Context(), l.user.Name)
	switch {
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrNotFound):
		s.logins.remove(l.id)
		s.audit(r, "web.logout", l.user.Name, "", "user removed")
		writeError(w, http.StatusUnauthorized, "log in first")
		return false
	case err != nil:
		s.log.Error("web: look up user", "user", l.user.Name, "err", err)
		writeError(w, http.StatusServiceUnavailable, "cannot check your account; try again")
		return false
	}
	if u.Role != l.user.Role || u.Name != l.user.Name {
		u.Name = l.user.Name // the login is the name's; a store answering another name changes nothing
		if u.Role != l.user.Role {
			s.audit(r, "web.login.role", u.Name, "", string(u.Role))
		}
		s.logins.setUser(l.id, u)
		l.user = u
	}
	return true
}

// sameOrigin is false when the browser says the request comes from another origin.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser, or a same-origin GET; the token or JSON body still guards
	}
	i := strings.Index(o, "://")
	return i >= 0 && o[i+3:] == r.Host
}
