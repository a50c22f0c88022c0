package player

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// LiveInfo describes a session in progress, as the live page shows it.
type LiveInfo struct {
	ID      string `json:"id"`
	User    string `json:"user"`
	Target  string `json:"target"`
	Account string `json:"account,omitempty"`
	Remote  string `json:"remote,omitempty"`
	// Protocol is the target's: "ssh", "telnet", "vnc", "rdp"; empty when the source cannot tell
	// (the web UI then takes a text session). Graphical ones are watched on the desktop page.
	Protocol string    `json:"protocol,omitempty"`
	Start    time.Time `json:"start"`
	Cols     int       `json:"cols"` // text sessions
	Rows     int       `json:"rows"`
	Width    int       `json:"width,omitempty"` // graphical sessions, in pixels
	Height   int       `json:"height,omitempty"`
	Paused   bool      `json:"paused"`
}

// ErrConflict: the live session is not in a state the action applies to (pausing a paused one,
// resuming one that runs).
var ErrConflict = errors.New("player: conflict")

// LiveSessions is the gateway's sessions in progress. Methods taking an id return an error
// wrapping ErrNotFound when no such session is live (any more), ErrConflict as above. The
// server authorizes every call before making it: implementations trust by.
type LiveSessions interface {
	// List returns the sessions in progress.
	List(ctx context.Context) ([]LiveInfo, error)
	// Pause holds the user's input; by is the actor for the audit log and the user's notice.
	Pause(ctx context.Context, id, by, reason string) error
	// Resume releases a paused session's input.
	Resume(ctx context.Context, id, by string) error
	// Terminate ends the session; the user is told by whom and why.
	Terminate(ctx context.Context, id, by, reason string) error
	// ServeShadow upgrades r to a read-only websocket that follows session id: a text message
	// {"type":"keyframe","cols":C,"rows":R} before each keyframe, binary messages of terminal
	// output, close 1000 when the session ends. It answers 404 itself for an unknown id.
	ServeShadow(w http.ResponseWriter, r *http.Request, id string)
}

// maxActionBody bounds the JSON of a pause or terminate: a reason is a sentence, not a file.
const maxActionBody = 4 << 10

func (s *Server) liveRoutes() {
	s.mux.Handle("GET /api/live", s.authed(s.handleLiveList, anyRole))
	s.mux.Handle("GET /api/live/{id}/shadow", s.authed(s.handleShadow, auditorRole))
	for _, a := range []string{"pause", "resume", "terminate"} {
		s.mux.Handle("POST /api/live/{id}/"+a, s.authed(s.handleLiveAction(a), auditorRole))
	}
}

// handleLiveList answers the live sessions the caller may see: all for auditors and admins,
// their own for users (who may see that they are being recorded live, not control it).
func (s *Server) handleLiveList(w http.ResponseWriter, r *http.Request, l *login) {
	out := []LiveInfo{}
	if s.cfg.Live == nil {
		writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
		return
	}
	all, err := s.cfg.Live.List(r.Context())
	if err != nil {
		s.log.Error("web: list live sessions", "err", err)
		writeError(w, http.StatusInternalServerError, "cannot list live sessions")
		return
	}
	for _, li := range all {
		if visible(l, li.User) {
			out = append(out, li)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// handleShadow opens the websocket. The login cookie authenticates it (a browser cannot put
// headers on a websocket handshake, so there is no CSRF token); what stops another site from
// riding that cookie is the Origin, which browsers always send on a websocket handshake and
// which must name this server. A handshake without one is refused too: a non-browser client
// can send it, and allowing its absence would be the hole.
func (s *Server) handleShadow(w http.ResponseWriter, r *http.Request, l *login) {
	if o := r.Header.Get("Origin"); o == "" || !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin websocket refused")
		return
	}
	if s.cfg.Live == nil {
		writeError(w, http.StatusNotFound, "no such live session")
		return
	}
	id := r.PathValue("id")
	s.audit(r, "web.live.shadow", l.user.Name, id, "")
	s.cfg.Live.ServeShadow(w, r, id)
}

type liveAction struct {
	Reason string `json:"reason"`
}

// handleLiveAction pauses, resumes or terminates. The actor is the login's user: a "by" in the
// body is ignored (the struct has no such field), so nobody can act in another's name.
func (s *Server) handleLiveAction(action string) func(http.ResponseWriter, *http.Request, *login) {
	return func(w http.ResponseWriter, r *http.Request, l *login) {
		var a liveAction
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxActionBody)).Decode(&a); err != nil {
				writeError(w, http.StatusBadRequest, "malformed request")
				return
			}
		}
		a.Reason = strings.TrimSpace(a.Reason)
		if action == "terminate" && a.Reason == "" {
			writeError(w, http.StatusBadRequest, "terminate needs a reason")
			return
		}
		if s.cfg.Live == nil {
			writeError(w, http.StatusNotFound, "no such live session")
			return
		}
		id, by := r.PathValue("id"), l.user.Name
		var err error
		switch action {
		case "pause":
			err = s.cfg.Live.Pause(r.Context(), id, by, a.Reason)
		case "resume":
			err = s.cfg.Live.Resume(r.Context(), id, by)
		case "terminate":
			err = s.cfg.Live.Terminate(r.Context(), id, by, a.Reason)
		}
		switch {
		case errors.Is(err, ErrNotFound):
			writeError(w, http.StatusNotFound, "no such live session")
			return
		case errors.Is(err, ErrConflict):
			writeError(w, http.StatusConflict, "session is already "+map[string]string{"pause": "paused", "resume": "running"}[action])
			return
		case err != nil:
			s.log.Error("web: live action", "action", action, "session", id, "err", err)
			writeError(w, http.StatusInternalServerError, action+" failed")
			return
		}
		s.audit(r, "web.live."+action, by, id, a.Reason)
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
}
