package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/seed18fc72c3/vigil/player"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// WebLive shows the SSH gateway's live sessions to the web UI. The player authorizes every call
// (role, CSRF token, Origin) before it reaches here, and sets by from its own login.
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
	case errors.Is(err, proxyssh.ErrNoSession):
		return fmt.Errorf("%w: %w", player.ErrNotFound, err)
	case errors.Is(err, proxyssh.ErrAlreadyPaused), errors.Is(err, proxyssh.ErrNotPaused):
		return fmt.Errorf("%w: %w", player.ErrConflict, err)
	}
	return err
}

func (w *WebLive) List(context.Context) ([]player.LiveInfo, error) {
	all := w.Src.Sessions()
	out := make([]player.LiveInfo, len(all))
	for i, s := range all {
		out[i] = player.LiveInfo{ID: s.ID, User: s.User, Target: s.Target, Account: s.Account, Remote: s.Remote,
			Start: s.Start, Cols: s.Cols, Rows: s.Rows, Paused: s.Paused}
	}
	return out, nil
}

func (w *WebLive) Pause(_ context.Context, id, by, reason string) error {
	l, err := w.Src.Session(id)
	if err == nil {
		err = l.Pause(by, reason)
	}
	return webLiveErr(err)
}

func (w *WebLive) Resume(_ context.Context, id, by string) error {
	l, err := w.Src.Session(id)
	if err == nil {
		err = l.Resume(by)
	}
	return webLiveErr(err)
}

func (w *WebLive) Terminate(_ context.Context, id, by, reason string) error {
	l, err := w.Src.Session(id)
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
