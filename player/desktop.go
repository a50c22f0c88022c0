package player

import (
	"context"
	"errors"
	"image"
	"net/http"
	"slices"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// Desktops opens and watches graphical sessions (VNC, RDP) for the web UI. cmd/gateway adapts
// the gateway's desktop sessions to it. The server authenticates the login, checks the Origin and
// the CSRF token and, for Shadow, the auditor role before any call.
type Desktops interface {
	// Connect opens a graphical session from the browser: user (already authenticated) to target,
	// with the browser's viewport size. It returns an error wrapping ErrForbidden when the user
	// holds no grant to the target, ErrNotFound when there is no such graphical target.
	Connect(ctx context.Context, user, target string, width, height int) (Desktop, error)
	// Shadow attaches to a live graphical session by id, read-only; ErrNotFound if no such
	// graphical session is live.
	Shadow(ctx context.Context, id string) (Desktop, error)
}

// DesktopTargetLister is what a Desktops may also implement to fill the UI's Connect list. A
// Desktops without it offers no list (Connect still works by name).
type DesktopTargetLister interface {
	// DesktopTargets lists the graphical targets u may open.
	DesktopTargets(ctx context.Context, u User) ([]DesktopTarget, error)
}

// DesktopTarget is one graphical target the Connect list offers.
type DesktopTarget struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"` // "vnc" or "rdp"
}

// Desktop is one browser's attachment to a graphical session.
type Desktop interface {
	// ID is the session's id, the one the live list shows.
	ID() string
	// Attach returns a copy of the current screen and a lossy ring reader positioned just after
	// it; the caller applies the reader's damage events to the copy (frame.Framebuffer.Load, then
	// Apply) and, on capture.ErrOverrun, closes the reader and calls Attach again to resync.
	Attach() (*image.RGBA, *capture.Reader, error)
	// Input sends a key, pointer or clipboard event to the target; an error wrapping ErrReadOnly
	// for a shadow.
	Input(in frame.Input) error
	// Resize asks for a new desktop size; an error wrapping errors.ErrUnsupported when the target
	// cannot resize (the browser then scales).
	Resize(w, h int) error
	// Done is closed when the session has ended.
	Done() <-chan struct{}
	// Err is why the session ended, once Done is closed.
	Err() error
	// Close ends a Connect-ed session (the user left) or detaches a shadow.
	Close() error
}

// ErrReadOnly is Desktop.Input's answer for a shadow.
var ErrReadOnly = errors.New("player: read-only")

func (s *Server) desktopRoutes() {
	s.mux.Handle("GET /api/desktop/targets", s.authed(s.handleDesktopTargets, anyRole))
	s.mux.Handle("GET /api/desktop/connect/{target}", s.authed(s.handleDesktopConnect, anyRole))
	s.mux.Handle("GET /api/desktop/shadow/{id}", s.authed(s.handleDesktopShadow, auditorRole))
}

// handleDesktopTargets answers the graphical targets the caller may open, sorted by name.
func (s *Server) handleDesktopTargets(w http.ResponseWriter, r *http.Request, l *login) {
	out := []DesktopTarget{}
	if lister, ok := s.cfg.Desktops.(DesktopTargetLister); ok {
		ts, err := lister.DesktopTargets(r.Context(), l.user)
		if err != nil {
			s.log.Error("web: list desktop targets", "user", l.user.Name, "err", err)
			writeError(w, http.StatusInternalServerError, "cannot list targets")
			return
		}
		out = append(out, ts...)
		slices.SortFunc(out, func(a, b DesktopTarget) int {
			if a.Name < b.Name {
				return -1
			}
			if a.Name > b.Name {
				return 1
			}
			return 0
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": out})
}

// handleDesktopConnect opens a graphical session over a websocket. As for the live shadow, the
// cookie authenticates and the Origin must name this server; because opening a session changes
// state, the browser must also prove it read the CSRF token: the first message is a hello that
// carries it (a websocket handshake cannot carry the header, and a token in the URL would land in
// logs). Only then is the target dialled.
func (s *Server) handleDesktopConnect(w http.ResponseWriter, r *http.Request, l *login) {
	if o := r.Header.Get("Origin"); o == "" || !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin websocket refused")
		return
	}
	if s.cfg.Desktops == nil {
		writeError(w, http.StatusNotFound, "no such target")
		return
	}
	target := r.PathValue("target")
	s.serveDesktop(w, r, l, desktopOpen{target: target, open: func(ctx context.Context, h hello) (Desktop, error) {
		d, err := s.cfg.Desktops.Connect(ctx, l.user.Name, target, h.W, h.H)
		switch {
		case err == nil:
			s.audit(r, "web.desktop.open", l.user.Name, d.ID(), target)
		case errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound):
			s.audit(r, "web.desktop.refused", l.user.Name, "", auditName(target))
		}
		return d, err
	}})
}

// handleDesktopShadow watches a live graphical session, read-only.
func (s *Server) handleDesktopShadow(w http.ResponseWriter, r *http.Request, l *login) {
	if o := r.Header.Get("Origin"); o == "" || !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin websocket refused")
		return
	}
	if s.cfg.Desktops == nil {
		writeError(w, http.StatusNotFound, "no such live session")
		return
	}
	id := r.PathValue("id")
	s.serveDesktop(w, r, l, desktopOpen{readOnly: true, open: func(ctx context.Context, _ hello) (Desktop, error) {
		d, err := s.cfg.Desktops.Shadow(ctx, id)
		if err == nil {
			s.audit(r, "web.live.shadow", l.user.Name, id, "desktop")
		}
		return d, err
	}})
}
