package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed18fc72c3/vigil/encode/term"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// LiveSessions is what the live routes need of proxy/ssh.Server. Session returns an error
// wrapping proxyssh.ErrNoSession for a session that is not (or no longer) live.
type LiveSessions interface {
	Sessions() []proxyssh.LiveSession
	Session(id string) (*proxyssh.Live, error)
}

var _ LiveSessions = (*proxyssh.Server)(nil)

// NewScreen is the terminal model for live shadows: proxy/ssh may not import encode, so cmd
// hands it in as proxyssh.Config.NewScreen.
func NewScreen(cols, rows int) proxyssh.Screen { return term.NewScreen(cols, rows) }

// LiveAction is the body of POST /api/live/{id}/pause|resume|terminate. By is the actor written
// to the audit log and shown to the user on terminate; the control socket's peer is trusted to
// name itself (reaching the 0600 socket is the authentication), a web front end must set By from
// its own login, never from the browser.
type LiveAction struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// LiveHandler serves the live-session routes:
//
//	GET  /api/live                    JSON array of proxyssh.LiveSession, then desktop.LiveSession
//	POST /api/live/vnc-otp            body OTPRequest; 200 OTPResponse (desktop_live.go)
//	GET  /api/live/{id}/shadow        chunked raw terminal bytes: a keyframe, then output; ends with the session
//	POST /api/live/{id}/pause         body LiveAction; 204, 404 no such session, 409 already paused
//	POST /api/live/{id}/resume        body LiveAction; 204, 404, 409 not paused
//	POST /api/live/{id}/terminate     body LiveAction; 204, 404
//
// Errors are JSON {"error": "..."}; 400 when "by" is empty.
func LiveHandler(src LiveSessions, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, liveList(src)) // text sessions, then graphical ones (desktop_live.go)
	})
	mux.HandleFunc("POST /api/live/vnc-otp", otpHandler(src, log))
	mux.HandleFunc("GET /api/live/{id}/shadow", func(w http.ResponseWriter, r *http.Request) {
		streamShadow(w, r, src, log)
	})
	mux.HandleFunc("POST /api/live/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		var a LiveAction
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&a); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad body: " + err.Error()})
			return
		}
		if desktopAction(w, src, r.PathValue("id"), r.PathValue("action"), a) {
			return
		}
		l, err := src.Session(r.PathValue("id"))
		if err == nil {
			switch r.PathValue("action") {
			case "pause":
				err = l.Pause(a.By, a.Reason)
			case "resume":
				err = l.Resume(a.By)
			case "terminate":
				err = l.Terminate(a.By, a.Reason)
			default:
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such action"})
				return
			}
		}
		if err != nil {
			writeJSON(w, liveStatus(err), map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func liveStatus(err error) int {
	switch {
	case errors.Is(err, proxyssh.ErrNoSession):
		return http.StatusNotFound
	case errors.Is(err, proxyssh.ErrAlreadyPaused), errors.Is(err, proxyssh.ErrNotPaused):
		return http.StatusConflict
	case errors.Is(err, proxyssh.ErrNoActor):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// streamShadow writes the shadow's chunks as they come, flushing each, until the session ends
// or the client goes away. Keyframes carry no size on this stream: the CLI shows them in the
// viewer's own terminal as they are.
func streamShadow(w http.ResponseWriter, r *http.Request, src LiveSessions, log *slog.Logger) {
	sh, err := openShadow(r.Context(), src, r.PathValue("id"))
	if err != nil {
		writeJSON(w, liveStatus(err), map[string]string{"error": err.Error()})
		return
	}
	defer sh.Close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	for {
		c, err := sh.Next(r.Context())
		if err != nil {
			if err != io.EOF && r.Context().Err() == nil {
				log.Warn("live shadow", "session", r.PathValue("id"), "err", err)
			}
			return
		}
		if _, err := w.Write(c.Data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func openShadow(ctx context.Context, src LiveSessions, id string) (*proxyssh.Shadow, error) {
	l, err := src.Session(id)
	if err != nil {
		return nil, err
	}
	return l.Shadow(ctx)
}

// ShadowMessage is the text message that precedes every keyframe on the shadow websocket: the
// viewer resizes its terminal to Cols x Rows, then writes the binary message that follows.
type ShadowMessage struct {
	Type string `json:"type"` // "keyframe"
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}

// ShadowWebSocket serves a shadow over a websocket for a browser: the session id is the path
// value "id" (mount it as "GET /api/live/{id}/ws" or similar). Each output chunk is one binary
// message; each keyframe is a text ShadowMessage, then the keyframe as a binary message. The
// socket closes with 1000 when the session ends. The stream is read-only: messages from the
// browser are read and discarded (a close ends the shadow).
//
// checkOrigin decides whether a request's Origin may open the socket; nil allows only an
// Origin whose host equals the request's Host (gorilla's default), never a missing check.
// Authorizing the viewer is the caller's job, before this handler.
func ShadowWebSocket(src LiveSessions, checkOrigin func(r *http.Request) bool, log *slog.Logger) http.Handler {
	up := websocket.Upgrader{CheckOrigin: checkOrigin, HandshakeTimeout: 10 * time.Second}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		sh, err := openShadow(ctx, src, r.PathValue("id"))
		if err != nil {
			writeJSON(w, liveStatus(err), map[string]string{"error": err.Error()})
			return
		}
		defer sh.Close()
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade answered the client already
		}
		defer conn.Close()
		go func() {
			// Reading is what notices the browser's close; what it sends is ignored.
			defer cancel()
			conn.SetReadLimit(4 << 10)
			for {
				if _, _, err := conn.NextReader(); err != nil {
					return
				}
			}
		}()
		for {
			c, err := sh.Next(ctx)
			if err == io.EOF {
				conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, "session ended"), time.Now().Add(time.Second))
				return
			}
			if err != nil {
				return
			}
			conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if c.Keyframe {
				if err := conn.WriteJSON(ShadowMessage{Type: "keyframe", Cols: c.Cols, Rows: c.Rows}); err != nil {
					log.Debug("live shadow websocket", "err", err)
					return
				}
			}
			if err := conn.WriteMessage(websocket.BinaryMessage, c.Data); err != nil {
				return
			}
		}
	})
}

// LiveClient is an HTTP client for the control socket without the overall timeout of
// ControlClient: a shadow stream lasts as long as the session.
func LiveClient(path string) *http.Client {
	c := controlClientPath(path)
	c.Timeout = 0
	return c
}
