package player

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// DesktopOTP is a one-time password that lets a native VNC viewer open a graphical target through
// the gateway's VNC front end. It is shown once, to the user who asked; it is never logged.
type DesktopOTP struct {
	Password string    `json:"password"`
	Expires  time.Time `json:"expires"`
	// Address is the VNC front end's host:port, for the viewer; empty when the gateway does not
	// know the address its users reach it by.
	Address string `json:"address,omitempty"`
}

// ErrTooManyOTPs: the user holds as many unused one-time passwords as the gateway allows.
var ErrTooManyOTPs = errors.New("player: too many outstanding one-time passwords")

// DesktopOTPIssuer is the hook for native viewers: a Config.Desktops that also implements it gets
// POST /api/desktop/otp and the Connect page's "VNC viewer" buttons.
type DesktopOTPIssuer interface {
	// IssueDesktopOTP returns a one-time password for user to open target from a VNC viewer,
	// after the same access check as Connect. Errors wrap ErrForbidden (no grant), ErrNotFound (no
	// such graphical target, or no VNC front end) or ErrTooManyOTPs.
	IssueDesktopOTP(ctx context.Context, user, target string) (DesktopOTP, error)
}

// maxOTPBody bounds POST /api/desktop/otp's JSON: a target name.
const maxOTPBody = 1 << 10

func (s *Server) desktopOTPRoutes() {
	s.mux.Handle("POST /api/desktop/otp", s.authed(s.handleDesktopOTP, anyRole))
}

// handleDesktopOTP answers POST /api/desktop/otp {"target": T}: 200 DesktopOTP (not cacheable);
// 400 a malformed body; 403 no grant; 404 no such target or no native front end; 429 too many
// unused passwords. authed has checked the CSRF token; issued and refused passwords are audited
// (as web.desktop.otp and web.desktop.otp-refused) without the password.
func (s *Server) handleDesktopOTP(w http.ResponseWriter, r *http.Request, l *login) {
	iss, ok := s.cfg.Desktops.(DesktopOTPIssuer)
	if !ok {
		writeError(w, http.StatusNotFound, "native viewers are not available")
		return
	}
	var req struct {
		Target string `json:"target"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOTPBody)).Decode(&req); err != nil || strings.TrimSpace(req.Target) == "" {
		writeError(w, http.StatusBadRequest, "malformed request: want {\"target\": ...}")
		return
	}
	otp, err := iss.IssueDesktopOTP(r.Context(), l.user.Name, req.Target)
	if err != nil {
		code, msg := http.StatusInternalServerError, "cannot issue a password"
		switch {
		case errors.Is(err, ErrForbidden):
			code, msg = http.StatusForbidden, "you may not open this target"
		case errors.Is(err, ErrNotFound):
			code, msg = http.StatusNotFound, "no such graphical target, or no VNC front end"
		case errors.Is(err, ErrTooManyOTPs):
			code, msg = http.StatusTooManyRequests, "too many unused passwords: use or let one expire first"
		default:
			s.log.Error("web: desktop otp", "user", l.user.Name, "target", req.Target, "err", err)
		}
		s.audit(r, "web.desktop.otp-refused", l.user.Name, "", "target "+clipName(req.Target)+": "+msg)
		writeError(w, code, msg)
		return
	}
	s.audit(r, "web.desktop.otp", l.user.Name, "", "target "+clipName(req.Target)+", expires "+otp.Expires.UTC().Format(time.RFC3339))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, otp)
}

// clipName cuts a target name from the request to 128 bytes for the audit log: it could be anything.
func clipName(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}
