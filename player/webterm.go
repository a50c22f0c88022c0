package player

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Terminals opens SSH and telnet targets in the browser terminal: the gateway's sessions, with
// the web login as the user. The server authenticates the login and checks the Origin before any
// call, and checks that the target is among those Targets lists before ServeTerminal.
type Terminals interface {
	// Targets lists the targets u may open (those the SSH menu would offer u).
	Targets(ctx context.Context, u User) ([]string, error)
	// ServeTerminal upgrades r to the terminal websocket for u on target and runs the session
	// until it ends. Protocol: binary messages are bytes (keystrokes in, terminal output out); the
	// browser sends a text message {"type":"resize","cols":C,"rows":R} when its terminal resizes
	// and gives the first size as the query parameters cols and rows; the server ends with a text
	// message {"type":"end","reason":"..."} and a close 1000. The access check is the
	// gateway's own, as for an SSH login: a denied user reads why in the terminal.
	ServeTerminal(w http.ResponseWriter, r *http.Request, u User, target string)
}

// TargetInfo is one target the terminal page offers.
type TargetInfo struct {
	Name string `json:"name"`
}

func (s *Server) termRoutes() {
	s.mux.Handle("GET /api/targets", s.authed(s.handleTargets, anyRole))
	s.mux.Handle("GET /api/terminal/{target}/ws", s.authed(s.handleTerminal, anyRole))
}

// handleTargets answers the targets the caller may open in the browser terminal, sorted.
func (s *Server) handleTargets(w http.ResponseWriter, r *http.Request, l *login) {
	out := []TargetInfo{}
	if s.cfg.Terminals != nil {
		names, err := s.cfg.Terminals.Targets(r.Context(), l.user)
		if err != nil {
			s.log.Error("web: list targets", "user", l.user.Name, "err", err)
			writeError(w, http.StatusInternalServerError, "cannot list targets")
			return
		}
		slices.Sort(names)
		for _, n := range names {
			out = append(out, TargetInfo{Name: n})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": out})
}

// handleTerminal opens the terminal websocket. As for the live shadow, the cookie authenticates
// and the Origin, which a browser always sends on a websocket handshake, must name this server; a
// handshake without one is refused (a websocket cannot carry the CSRF header). A target the user
// may not open is refused here with 404, before the upgrade, and again by the gateway's policy.
func (s *Server) handleTerminal(w http.ResponseWriter, r *http.Request, l *login) {
	if o := r.Header.Get("Origin"); o == "" || !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin websocket refused")
		return
	}
	target := r.PathValue("target")
	if s.cfg.Terminals == nil {
		writeError(w, http.StatusNotFound, "no such target")
		return
	}
	names, err := s.cfg.Terminals.Targets(r.Context(), l.user)
	if err != nil {
		s.log.Error("web: list targets", "user", l.user.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot list targets")
		return
	}
	if !slices.Contains(names, target) {
		// Unknown and forbidden look alike: a user learns no target names from this.
		s.audit(r, "web.terminal.refused", l.user.Name, "", auditName(target))
		writeError(w, http.StatusNotFound, "no such target")
		return
	}
	s.audit(r, "web.terminal.open", l.user.Name, "", target)
	s.cfg.Terminals.ServeTerminal(w, r, l.user, target)
}

// maxAuditName bounds a name taken from the URL in an audit event: a refused name is whatever
// the caller typed (up to the header limit, a megabyte), and the audit log syncs every line.
const maxAuditName = 128

// auditName is s cut to maxAuditName bytes, on a character boundary, marked when cut.
func auditName(s string) string {
	if len(s) <= maxAuditName {
		return s
	}
	return strings.ToValidUTF8(s[:maxAuditName], "") + "…"
}
