package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/rdp"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// TerminalServer is what the browser terminal needs of proxy/ssh.Server: the targets a user may
// open, and a session for a front end that is not an SSH client.
type TerminalServer interface {
	Targets(ctx context.Context, p proxyssh.Principal) ([]string, error)
	ServeFrontend(ctx context.Context, fe proxyssh.Frontend, info proxyssh.FrontendInfo) error
}

var (
	_ TerminalServer   = (*proxyssh.Server)(nil)
	_ player.Terminals = (*WebTerm)(nil)
)

// WebTerm runs the web UI's terminal sessions on the SSH gateway: the web login is the
// principal, and everything else (access check, recording, redaction, live control, audit) is
// the gateway's session, as for an SSH client. The player authenticates the login, checks the
// Origin and that the target is permitted before calling ServeTerminal.
type WebTerm struct {
	Src TerminalServer
	Log *slog.Logger
}

// TermMessage is a text message of the terminal websocket, either way: "resize" from the
// browser (Cols, Rows), "end" from the server (Reason) just before it closes the socket.
type TermMessage struct {
	Type   string `json:"type"`
	Cols   int    `json:"cols,omitempty"`
	Rows   int    `json:"rows,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Limits of the terminal websocket. A browser sends keystrokes and pastes: a message is at most
// a large paste, and the write timeout drops a browser that stopped reading (the session ends as
// ErrClientGone, the recording is kept).
const (
	termReadLimit    = 1 << 20
	termWriteTimeout = 30 * time.Second
)

// termPingEvery is how often the server pings the browser. A browser that has not answered (or
// sent anything) for two intervals is gone: its machine slept or its network dropped without a
// FIN, and without this the privileged session would stay open, unwatched by anyone, until the
// target or an idle timeout ended it. Atomic so that tests may shorten it while the handlers of
// earlier tests wind down.
var termPingEvery = func() *atomic.Int64 {
	var v atomic.Int64
	v.Store(int64(30 * time.Second))
	return &v
}()

func principalOf(u player.User) proxyssh.Principal {
	return proxyssh.Principal{User: u.Name, Role: string(u.Role)}
}

func (t *WebTerm) Targets(ctx context.Context, u player.User) ([]string, error) {
	return t.Src.Targets(ctx, principalOf(u))
}

func (t *WebTerm) log() *slog.Logger {
	if t.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Log
}

// ServeTerminal upgrades to the websocket (whose Origin the upgrader checks again: same host) and
// runs the session until it ends; see player.Terminals for the protocol.
func (t *WebTerm) ServeTerminal(w http.ResponseWriter, r *http.Request, u player.User, target string) {
	cols, _ := strconv.Atoi(r.URL.Query().Get("cols"))
	rows, _ := strconv.Atoi(r.URL.Query().Get("rows"))
	up := websocket.Upgrader{HandshakeTimeout: 10 * time.Second}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client already
	}
	defer conn.Close()
	fe := newWSFrontend(conn)
	var readers sync.WaitGroup
	stopPing := make(chan struct{})
	readers.Add(2)
	go func() {
		defer readers.Done()
		fe.readLoop()
	}()
	go func() {
		defer readers.Done()
		fe.pingLoop(stopPing)
	}()
	info := proxyssh.FrontendInfo{User: principalOf(u), Target: target, Remote: r.RemoteAddr, Via: "web",
		Cols: cols, Rows: rows}
	cause := t.Src.ServeFrontend(r.Context(), fe, info)
	close(stopPing)
	if !errors.Is(cause, proxyssh.ErrClientGone) {
		fe.end(endReason(cause))
	}
	conn.Close()
	readers.Wait()
	t.log().Debug("web terminal ended", "user", u.Name, "target", target, "cause", cause)
}

// endReason is the line the page shows when the session is over. The gateway has written its
// own explanation into the terminal already; this one is short and never carries a secret (the
// causes do not).
func endReason(cause error) string {
	var te *proxyssh.TerminatedError
	switch {
	case cause == nil, errors.Is(cause, proxyssh.ErrUserExit):
		return "session ended"
	case errors.As(cause, &te):
		return "session " + te.Error()
	case errors.Is(cause, proxyssh.ErrDenied), errors.Is(cause, proxyssh.ErrNoSuchTarget):
		return "access refused"
	case errors.Is(cause, proxyssh.ErrShutdown):
		return "gateway shutting down"
	case errors.Is(cause, proxyssh.ErrIdleTimeout):
		return "idle timeout"
	case errors.Is(cause, proxyssh.ErrRecordingFailure):
		return "recording failed, session ended"
	case errors.Is(cause, proxyssh.ErrTargetClosed):
		return "target closed the connection"
	case errors.Is(cause, proxyssh.ErrUpstream):
		// Its text names the target's address and the dial's detail: the log has them.
		return "cannot reach the target"
	}
	return "session ended"
}

// DesktopEndCause is endReason for a desktop session (player.DesktopEndCauser's answer): a short
// class of the cause, never its text, which may carry the target's address. The Desktop the web UI
// is given should answer EndCause with DesktopEndCause(its Err()).
func DesktopEndCause(cause error) string {
	var te *desktop.TerminatedError
	switch {
	case cause == nil:
		return ""
	case errors.Is(cause, desktop.ErrUserExit):
		return "ended by user"
	case errors.As(cause, &te):
		return te.Error() // "terminated by <auditor>: <reason>", both given by the auditor
	case errors.Is(cause, desktop.ErrRecordingFailure):
		return "recording failure, session ended"
	case errors.Is(cause, desktop.ErrShutdown):
		return "gateway shutting down"
	case errors.Is(cause, vnc.ErrAuthFailed), errors.Is(cause, rdp.ErrAuth), errors.Is(cause, rdp.ErrLogon):
		return "logon to the target failed"
	case errors.Is(cause, desktop.ErrTargetClosed):
		return "target closed the connection"
	}
	return "session ended"
}

// wsFrontend is the websocket as a proxyssh.Frontend. One goroutine (readLoop) reads the socket:
// keystrokes go through a pipe to Read, resizes to the Resizes channel. Writes are serialised by
// wmu, as gorilla allows one writer at a time.
type wsFrontend struct {
	conn    *websocket.Conn
	pr      *io.PipeReader
	pw      *io.PipeWriter
	resizes chan proxyssh.WindowSize

	wmu sync.Mutex
}

func newWSFrontend(conn *websocket.Conn) *wsFrontend {
	pr, pw := io.Pipe()
	return &wsFrontend{conn: conn, pr: pr, pw: pw, resizes: make(chan proxyssh.WindowSize, 1)}
}

func (f *wsFrontend) readLoop() {
	f.conn.SetReadLimit(termReadLimit)
	every := time.Duration(termPingEvery.Load())
	alive := func() { _ = f.conn.SetReadDeadline(time.Now().Add(2 * every)) }
	f.conn.SetPongHandler(func(string) error { alive(); return nil })
	alive()
	for {
		mt, data, err := f.conn.ReadMessage()
		if err != nil {
			f.pw.CloseWithError(io.EOF) // the browser went away (or stopped answering): Read says so
			return
		}
		alive()
		switch mt {
		case websocket.BinaryMessage:
			if _, err := f.pw.Write(data); err != nil {
				// The session closed its side; keep reading so the close handshake completes.
				continue
			}
		case websocket.TextMessage:
			var m TermMessage
			if json.Unmarshal(data, &m) != nil || m.Type != "resize" {
				continue // unknown messages are ignored, so a newer page works with this server
			}
			f.resize(proxyssh.WindowSize{Cols: m.Cols, Rows: m.Rows})
		}
	}
}

// pingLoop pings the browser every termPingEvery until stop is closed or a ping cannot be sent.
// WriteControl may be called alongside the other writers.
func (f *wsFrontend) pingLoop(stop <-chan struct{}) {
	t := time.NewTicker(time.Duration(termPingEvery.Load()))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if f.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(termWriteTimeout)) != nil {
				return
			}
		}
	}
}

// resize keeps only the latest size when the session is slow to take them: a window dragged
// across the screen sends dozens, and only the last one matters.
func (f *wsFrontend) resize(ws proxyssh.WindowSize) {
	for {
		select {
		case f.resizes <- ws:
			return
		default:
		}
		select {
		case <-f.resizes:
		default:
		}
	}
}

func (f *wsFrontend) Read(p []byte) (int, error)          { return f.pr.Read(p) }
func (f *wsFrontend) Resizes() <-chan proxyssh.WindowSize { return f.resizes }

func (f *wsFrontend) Write(p []byte) (int, error) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.conn.SetWriteDeadline(time.Now().Add(termWriteTimeout))
	if err := f.conn.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close stops the session's reads; the socket itself stays open for the end message, and is
// closed by ServeTerminal.
func (f *wsFrontend) Close() error {
	return f.pr.Close()
}

// end tells the page why the session is over and closes the websocket normally.
func (f *wsFrontend) end(reason string) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	deadline := time.Now().Add(time.Second)
	f.conn.SetWriteDeadline(deadline)
	if b, err := json.Marshal(TermMessage{Type: "end", Reason: reason}); err == nil {
		f.conn.WriteMessage(websocket.TextMessage, b)
	}
	f.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "session ended"), deadline)
}
