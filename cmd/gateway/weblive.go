package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// WebLive shows the gateway's live sessions to the web UI: the SSH server's text sessions and,
// when Src has Desktops, the graphical ones (with their protocol, so the UI watches them on the
// desktop page). The player authorizes every call (role, CSRF token, Origin) before it reaches
// here, and sets by from its own login.
type WebLive struct {
	Src LiveSessions
	Log *slog.Logger
}

var _ player.LiveSessions = (*WebLive)(nil)

// webLiveErr maps the gateway's sentinels onto the player's.
func webLiveErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, proxyssh.ErrNoSession), errors.Is(err, desktop.ErrNoSession):
		return fmt.Errorf("%w: %w", player.ErrNotFound, err)
	case errors.Is(err, proxyssh.ErrAlreadyPaused), errors.Is(err, proxyssh.ErrNotPaused),
		errors.Is(err, desktop.ErrAlreadyPaused), errors.Is(err, desktop.ErrNotPaused):
		return fmt.Errorf("%w: %w", player.ErrConflict, err)
	}
	return err
}

func (w *WebLive) List(context.Context) ([]player.LiveInfo, error) {
	all := w.Src.Sessions()
	d := desktopsOf(w.Src)
	// The SSH server's sessions do not carry their protocol (ssh or telnet); the access store knows
	// each target's, when the gateway has one at hand.
	protocol := func(string) string { return "" }
	if d != nil && d.Access != nil && d.Access.Store != nil {
		protos := map[string]string{}
		for _, t := range d.Access.Store.Targets() {
			protos[t.Name] = t.Protocol
		}
		protocol = func(target string) string { return protos[target] }
	}
	out := make([]player.LiveInfo, 0, len(all))
	for _, s := range all {
		out = append(out, player.LiveInfo{ID: s.ID, User: s.User, Target: s.Target, Account: s.Account, Remote: s.Remote,
			Protocol: protocol(s.Target), Start: s.Start, Cols: s.Cols, Rows: s.Rows, Paused: s.Paused})
	}
	if d != nil && d.Registry != nil {
		for _, s := range d.Registry.Sessions() {
			out = append(out, player.LiveInfo{ID: s.ID, User: s.User, Target: s.Target, Account: s.Account,
				Remote: s.Remote, Protocol: s.Protocol, Start: s.Start, Width: s.Width, Height: s.Height, Paused: s.Paused})
		}
	}
	return out, nil
}

// liveSession is what the live actions need of a text or a graphical session.
type liveSession interface {
	Pause(by, reason string) error
	Resume(by string) error
	Terminate(by, reason string) error
}

// session finds id among the text sessions, then the graphical ones.
func (w *WebLive) session(id string) (liveSession, error) {
	l, err := w.Src.Session(id)
	if err == nil {
		return l, nil
	}
	if d := desktopsOf(w.Src); d != nil && d.Registry != nil {
		if s, derr := d.Registry.Session(id); derr == nil {
			return s, nil
		}
	}
	return nil, err
}

func (w *WebLive) Pause(_ context.Context, id, by, reason string) error {
	l, err := w.session(id)
	if err == nil {
		err = l.Pause(by, reason)
	}
	return webLiveErr(err)
}

func (w *WebLive) Resume(_ context.Context, id, by string) error {
	l, err := w.session(id)
	if err == nil {
		err = l.Resume(by)
	}
	return webLiveErr(err)
}

func (w *WebLive) Terminate(_ context.Context, id, by, reason string) error {
	l, err := w.session(id)
	if err == nil {
		err = l.Terminate(by, reason)
	}
	return webLiveErr(err)
}

// ServeShadow runs ShadowWebSocket for id. The player has checked the Origin already; the
// upgrader checks it again (same host), so neither layer alone is the only guard.
func (w *WebLive) ServeShadow(rw http.ResponseWriter, r *http.Request, id string) {
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r.SetPathValue("id", id)
	ShadowWebSocket(w.Src, nil, log).ServeHTTP(rw, r)
}
