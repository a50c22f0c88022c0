package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/desktop"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// GatewayLive is the live sessions of the whole gateway: the SSH server's (text) and the
// graphical ones of Desktops. It is a LiveSessions (the SSH server's methods) that the live
// routes also ask for desktops (desktopsOf).
type GatewayLive struct {
	*proxyssh.Server
	Desktops *Desktops
}

func (g *GatewayLive) desktops() *Desktops { return g.Desktops }

// desktopsOf returns the Desktops behind src, or nil for a text-only gateway.
func desktopsOf(src LiveSessions) *Desktops {
	if d, ok := src.(interface{ desktops() *Desktops }); ok {
		return d.desktops()
	}
	return nil
}

// liveList is GET /api/live's answer: the text sessions as proxyssh.LiveSession, then the
// graphical ones as desktop.LiveSession (protocol "vnc", width and height instead of columns and
// rows).
func liveList(src LiveSessions) []any {
	out := []any{}
	for _, s := range src.Sessions() {
		out = append(out, s)
	}
	if d := desktopsOf(src); d != nil && d.Registry != nil {
		for _, s := range d.Registry.Sessions() {
			out = append(out, s)
		}
	}
	return out
}

// desktopAction runs a live action on a graphical session and answers; it reports false when id
// is no graphical session, for the text sessions' route to answer.
func desktopAction(w http.ResponseWriter, src LiveSessions, id, action string, a LiveAction) bool {
	d := desktopsOf(src)
	if d == nil || d.Registry == nil {
		return false
	}
	s, err := d.Registry.Session(id)
	if err != nil {
		return false
	}
	switch action {
	case "pause":
		err = s.Pause(a.By, a.Reason)
	case "resume":
		err = s.Resume(a.By)
	case "terminate":
		err = s.Terminate(a.By, a.Reason)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such action"})
		return true
	}
	if err != nil {
		writeJSON(w, desktopStatus(err), map[string]string{"error": err.Error()})
		return true
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

func desktopStatus(err error) int {
	switch {
	case errors.Is(err, desktop.ErrNoSession):
		return http.StatusNotFound
	case errors.Is(err, desktop.ErrAlreadyPaused), errors.Is(err, desktop.ErrNotPaused):
		return http.StatusConflict
	case errors.Is(err, desktop.ErrNoActor):
		return http.StatusBadRequest
	case errors.Is(err, ErrDesktopDenied):
		return http.StatusForbidden
	case errors.Is(err, ErrNoDesktopTarget):
		return http.StatusNotFound
	case errors.Is(err, vnc.ErrTooManyOTPs):
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// OTPRequest is the body of POST /api/live/vnc-otp on the control socket.
type OTPRequest struct {
	User   string `json:"user"`
	Target string `json:"target"`
}

// OTPResponse carries a one-time password for a VNC viewer: shown once to the one who asked.
type OTPResponse struct {
	Password string    `json:"password"`
	Expires  time.Time `json:"expires"`
	Listen   string    `json:"listen,omitempty"` // the VNC front end's address, when known
}

// otpHandler answers POST /api/live/vnc-otp: 200 OTPResponse; 403 no grant; 404 no such
// graphical target or no VNC front end; 429 too many outstanding passwords.
func otpHandler(src LiveSessions, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := desktopsOf(src)
		if d == nil || d.OTPs == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "the vnc front end is off"})
			return
		}
		var req OTPRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.User == "" || req.Target == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: want user and target"})
			return
		}
		pw, err := d.IssueOTP(req.User, req.Target)
		if err != nil {
			log.Info("vnc otp refused", "user", req.User, "target", req.Target, "err", err)
			writeJSON(w, desktopStatus(err), map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, OTPResponse{Password: pw, Expires: time.Now().Add(d.OTPs.TTL), Listen: d.Listen})
	}
}
