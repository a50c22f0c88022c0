package gateway

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/rdp"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// WebDesktops adapts Desktops to the web UI's player.Desktops.
type WebDesktops struct{ D *Desktops }

var (
	_ player.Desktops            = (*WebDesktops)(nil)
	_ player.DesktopTargetLister = (*WebDesktops)(nil)
)

// Connect opens a session from the browser. An RDP target is dialed at the browser's viewport
// size; a VNC target is asked to resize after the start, and one that cannot keeps its size while
// the browser scales.
func (w *WebDesktops) Connect(ctx context.Context, user, target string, width, height int) (player.Desktop, error) {
	s, err := w.D.OpenSize(ctx, user, target, "web", "web", width, height)
	switch {
	case errors.Is(err, ErrNoDesktopTarget):
		return nil, fmt.Errorf("%w: %w", player.ErrNotFound, err)
	case errors.Is(err, ErrDesktopDenied):
		return nil, fmt.Errorf("%w: %w", player.ErrForbidden, err)
	case err != nil:
		return nil, &openError{err}
	}
	if in := s.Info(); width > 0 && height > 0 && (in.Width != width || in.Height != height) {
		if err := s.Resize(width, height); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			w.D.Log.Debug("desktop resize", "session", s.ID(), "err", err)
		}
	}
	return &webDesktop{s: s, owner: true}, nil
}

// Shadow attaches read-only to a live graphical session.
func (w *WebDesktops) Shadow(ctx context.Context, id string) (player.Desktop, error) {
	if w.D.Registry == nil {
		return nil, fmt.Errorf("shadow %q: %w", id, player.ErrNotFound)
	}
	s, err := w.D.Registry.Session(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", player.ErrNotFound, err)
	}
	return &webDesktop{s: s}, nil
}

// DesktopTargets lists the graphical (VNC and RDP) targets u holds a grant on.
func (w *WebDesktops) DesktopTargets(_ context.Context, u player.User) ([]player.DesktopTarget, error) {
	var out []player.DesktopTarget
	for _, t := range w.D.Access.Store.Permitted(u.Name) {
		if graphical(t.Protocol) {
			out = append(out, player.DesktopTarget{Name: t.Name, Protocol: t.Protocol})
		}
	}
	return out, nil
}

// webDesktop is one browser's attachment: the session's owner (Connect) or a shadow.
type webDesktop struct {
	s     *desktop.Session
	owner bool
}

func (d *webDesktop) ID() string { return d.s.ID() }

// EndCause is the short reason the browser is shown (player.DesktopEndCauser); the detail is
// logged, never sent.
func (d *webDesktop) EndCause() string { return DesktopEndCause(d.s.Err()) }

// openError carries why a desktop could not be opened, with a short reason for the browser
// (player's UserMessage) that names no address or internal detail.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

func (e *openError) UserMessage() string {
	err := e.err
	switch {
	case errors.Is(err, access.ErrCertificateMismatch), errors.Is(err, rdp.ErrCertificate):
		return "the target's certificate changed; an administrator must check it"
	case errors.Is(err, vnc.ErrAuthFailed), errors.Is(err, rdp.ErrAuth), errors.Is(err, rdp.ErrLogon):
		return "logon to the target failed"
	case errors.Is(err, rdp.ErrConnect), errors.Is(err, context.DeadlineExceeded):
		return "cannot reach the target"
	case errors.Is(err, rdp.ErrWorker), errors.Is(err, rdp.ErrWorkerHung):
		return "the RDP client failed"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "cannot reach the target"
	}
	return ""
}

func (d *webDesktop) Attach() (*image.RGBA, *capture.Reader, error) { return d.s.Attach() }

func (d *webDesktop) Input(in frame.Input) error {
	if !d.owner {
		return fmt.Errorf("input to %s: %w", d.s.ID(), player.ErrReadOnly)
	}
	return d.s.Input(in)
}

func (d *webDesktop) Resize(w, h int) error {
	if !d.owner {
		return fmt.Errorf("resize %s: %w", d.s.ID(), player.ErrReadOnly)
	}
	return d.s.Resize(w, h)
}

func (d *webDesktop) Done() <-chan struct{} { return d.s.Done() }
func (d *webDesktop) Err() error            { return d.s.Err() }

// Close ends the session when the browser that opened it leaves; a shadow just detaches.
func (d *webDesktop) Close() error {
	if d.owner {
		d.s.End(desktop.ErrUserExit)
	}
	return nil
}

// webDesktops returns the web UI's Desktops for the gateway's live sessions, or nil (no graphical
// sessions in the web UI) when it runs none.
func webDesktops(live []LiveSessions) player.Desktops {
	if len(live) == 0 || live[0] == nil {
		return nil
	}
	if d := desktopsOf(live[0]); d != nil {
		return &WebDesktops{D: d}
	}
	return nil
}

var _ player.DesktopOTPIssuer = (*WebDesktops)(nil)

// IssueDesktopOTP gives the logged-in user of the web UI a one-time password for the native VNC
// front end (Desktops.IssueOTP: the grant is checked, the issue audited without the password).
func (w *WebDesktops) IssueDesktopOTP(_ context.Context, user, target string) (player.DesktopOTP, error) {
	if w.D.OTPs == nil {
		return player.DesktopOTP{}, fmt.Errorf("%w: the vnc front end is off", player.ErrNotFound)
	}
	pw, err := w.D.IssueOTP(user, target)
	switch {
	case errors.Is(err, ErrNoDesktopTarget):
		return player.DesktopOTP{}, fmt.Errorf("%w: %w", player.ErrNotFound, err)
	case errors.Is(err, ErrDesktopDenied):
		return player.DesktopOTP{}, fmt.Errorf("%w: %w", player.ErrForbidden, err)
	case errors.Is(err, vnc.ErrTooManyOTPs):
		return player.DesktopOTP{}, fmt.Errorf("%w: %w", player.ErrTooManyOTPs, err)
	case err != nil:
		return player.DesktopOTP{}, err
	}
	return player.DesktopOTP{Password: pw, Expires: time.Now().Add(w.D.OTPs.TTL), Address: w.D.Listen}, nil
}
