package player

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config is what a Server needs. Auth, Sessions and Search are required.
type Config struct {
	Auth     Authenticator
	Sessions Sessions
	Search   Searcher
	// Live is the gateway's sessions in progress (watch, pause, resume, terminate); nil shows
	// none.
	Live LiveSessions
	// Terminals opens SSH and telnet targets in the browser terminal (webterm.go); nil offers none.
	Terminals Terminals
	// Exporter makes evidence bundles for users with the export permission (export.go); nil, or
	// no ExportDir, offers none. ExportDir holds finished bundles (0600) until they expire.
	Exporter  Exporter
	ExportDir string
	// Desktops opens and shadows graphical sessions in the browser (desktop.go); nil offers none.
	Desktops Desktops
	// DesktopClipboard lets clipboard text pass between the browser and graphical targets.
	DesktopClipboard bool
	// Video is the MP4 video of graphical recordings (video.go); nil plays none.
	Video VideoSource
	// Audit receives logins, failed logins, logouts, replays and searches; nil drops them.
	Audit func(AuditEvent)
	// Logger gets operational messages (never passwords, codes or cookies); nil discards.
	Logger *slog.Logger
	// Secure marks the session cookie Secure: set it when the UI is served over TLS (directly or
	// behind a TLS-terminating proxy). A request that arrived over TLS gets Secure regardless.
	Secure bool
	// SessionTTL is how long a login lasts without use; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// SessionMax caps a login's life however busy; 0 means DefaultSessionMax.
	SessionMax time.Duration
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// Assets overrides the embedded front end (tests); nil serves assets/ui.
	Assets fs.FS
}

// Defaults of Config.
const (
	DefaultSessionTTL = 30 * time.Minute
	DefaultSessionMax = 12 * time.Hour
)

// ErrConfig is returned by NewServer for a Config missing a required field.
var ErrConfig = errors.New("player: bad config")

// Server is the web UI and its API. It is an http.Handler; its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	logins  *loginStore
	limit   *limiter
	verify  *verifyCache
	exports *exportJobs
	replays *replayAudit // video.go
}

// NewServer returns the UI's handler; mount it at "/" of the web listener.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Auth == nil || cfg.Sessions == nil || cfg.Search == nil {
		return nil, errors.Join(ErrConfig, errors.New("player: Auth, Sessions and Search are required"))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = func(AuditEvent) {}
	}
	if cfg.Assets == nil {
		sub, err := fs.Sub(ui, "assets/ui")
		if err != nil {
			return nil, err
		}
		cfg.Assets = sub
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		logins: newLoginStore(cfg.Now, cfg.SessionTTL, cfg.SessionMax),
		limit:  newLimiter(cfg.Now, loginFailures, loginWindow),
		verify: newVerifyCache(cfg.Sessions)}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /api/login", s.handleLogin)
	s.mux.Handle("POST /api/logout", s.authed(s.handleLogout, anyRole))
	s.mux.Handle("GET /api/me", s.authed(s.handleMe, anyRole))
	s.mux.Handle("GET /api/sessions", s.authed(s.handleSessions, anyRole))
	s.mux.Handle("GET /api/sessions/{id}", s.authed(s.handleSession, anyRole))
	s.mux.Handle("GET /api/sessions/{id}/verify", s.authed(s.handleVerify, anyRole))
	s.mux.Handle("GET /api/sessions/{id}/records", s.authed(s.handleRecords, anyRole))
	s.mux.Handle("GET /api/search", s.authed(s.handleSearch, anyRole))
	s.liveRoutes()
	s.exportRoutes()
	s.termRoutes()
	s.desktopRoutes()
	s.desktopOTPRoutes()
	s.videoRoutes()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	files := http.FileServerFS(s.cfg.Assets)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		files.ServeHTTP(w, r)
	})
}

// ServeHTTP sets the headers every answer carries, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// xterm.js writes <style> elements for its renderer, hence 'unsafe-inline' for styles only.
	// The video player feeds a <video> from Media Source Extensions, whose URL is a blob:.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) audit(r *http.Request, kind, user, session, detail string) {
	s.cfg.Audit(AuditEvent{Time: s.cfg.Now(), Kind: kind, User: user, Remote: remoteIP(r), Session: session, Detail: detail})
}

// remoteIP is the peer's address without the port. Forwarded headers are not trusted: a proxy in
// front would have to be configured as trusted, and none is yet.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// verifyCache remembers the verification of finished recordings: sealed objects do not change, so
// one answer stands. Live recordings are verified afresh each time.
type verifyCache struct {
	src Sessions
	mu  sync.Mutex
	m   map[string]string // id -> "" (verifies) or the problem
}

func newVerifyCache(src Sessions) *verifyCache { return &verifyCache{src: src, m: map[string]string{}} }
