package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// A Frontend is a user's terminal reached by something other than an SSH client: the web UI's
// terminal over a websocket. ServeFrontend dresses it as an SSH connection with one session
// channel (a pty-req, a shell, then a window-change per resize), so the session runs through the
// very code an SSH client's does: the same access check, ring, recorder, redaction of secret
// prompts, live registry and audit events. There is no second implementation to drift.

// Frontend is the user's side of a terminal session.
//
// Read returns the user's keystrokes; it returns io.EOF (or any error) once the user is gone,
// which ends the session as ErrClientGone. Write shows the target's output, and the gateway's own
// lines (why a session was refused or ended); an error from Write means the user is gone. Close
// is called once, when the session ends, and must make a blocked Read return. Read, Write and
// Close are called from different goroutines.
type Frontend interface {
	io.ReadWriter
	Close() error
	// Resizes delivers the user's window size after the first, in order; the channel may stay
	// open for the frontend's life. The gateway stops receiving from it when the session ends.
	Resizes() <-chan WindowSize
}

// WindowSize is a terminal's size in character cells.
type WindowSize struct{ Cols, Rows int }

// FrontendInfo is who opened a Frontend and for what.
type FrontendInfo struct {
	// User is the principal, authenticated by the caller (the web UI's login); the Policy decides
	// what it may reach exactly as for an SSH login.
	User Principal
	// Target is "target" or "account@target", as an SSH user would name it; it must not be empty
	// (a frontend has no menu).
	Target string
	// Remote is the user's address, for the audit trail and the live list.
	Remote string
	// Via names the frontend in the audit trail ("web").
	Via string
	// Term and the initial size go to the target's pty; zero values take xterm-256color, 80x24.
	Term       string
	Cols, Rows int
}

// ErrNoTarget is returned by ServeFrontend for an empty FrontendInfo.Target.
var ErrNoTarget = errors.New("no target named")

// A frontend's sizes come from a browser, which a hostile user controls. Every size becomes a
// terminal emulator of cols x rows cells in the recorder, the indexer and the live hub (32 bytes
// a cell, allocated anew at each resize), so sizes are bounded as the live hub bounds them, and
// resizes are forwarded at most once every frontendResizeEvery, the latest winning.
const maxFrontendSide = 1000

// frontendResizeEvery is a variable for tests.
var frontendResizeEvery = 100 * time.Millisecond

func saneSize(ws WindowSize) bool {
	return ws.Cols > 0 && ws.Rows > 0 && ws.Cols <= maxFrontendSide && ws.Rows <= maxFrontendSide
}

// Targets lists the targets p may open, as the SSH menu would show them (Policy.Targets).
func (s *Server) Targets(ctx context.Context, p Principal) ([]string, error) {
	return s.cfg.Policy.Targets(ctx, p)
}

// ServeFrontend runs one session for fe until it ends, and returns its cause: an error wrapping
// ErrUserExit when the target's shell exited, ErrClientGone when the frontend went away, and
// otherwise the reason the session was refused or ended (ErrDenied, ErrNoSuchTarget,
// ErrRecordingFailure, *TerminatedError, ErrShutdown when ctx ended or the server shut down...).
// Whatever the user must know has been written to fe by then; fe is closed.
func (s *Server) ServeFrontend(ctx context.Context, fe Frontend, info FrontendInfo) error {
	fe = &closeOnce{Frontend: fe}
	defer fe.Close()
	if info.Target == "" {
		return ErrNoTarget
	}
	if info.Term == "" {
		info.Term = "xterm-256color"
	}
	if !saneSize(WindowSize{Cols: info.Cols, Rows: info.Rows}) {
		info.Cols, info.Rows = 80, 24
	}
	if s.cfg.Banner != "" {
		// The user is told the session is recorded before anything else, as the SSH banner does.
		if _, err := io.WriteString(fe, crlf(s.cfg.Banner)); err != nil {
			return fmt.Errorf("%w: banner: %w", ErrClientGone, err)
		}
	}
	// The session ends with ErrShutdown, not with whatever ended ctx, and also when Serve stops.
	sessCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() { cancel(ErrShutdown) })
	defer stop()
	stopDown := context.AfterFunc(s.down, func() { cancel(ErrShutdown) })
	defer stopDown()

	conn := newFrontConn(fe, info)
	sess := newSession(sessCtx, s, conn, info.User, info.Target, info.Remote)
	sess.via = info.Via
	chans := make(chan ssh.NewChannel, 1)
	chans <- &frontNewChannel{conn: conn}
	close(chans)
	reqs := make(chan *ssh.Request)
	close(reqs)
	sess.run(chans, reqs)
	return context.Cause(sess.ctx)
}

// closeOnce closes its Frontend once: the session's teardown, its channel and ServeFrontend all
// close it, and the contract promises one call.
type closeOnce struct {
	Frontend
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.Frontend.Close() })
	return c.err
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// frontConn is a Frontend as the session's userConn, with its one session channel.
type frontConn struct {
	fe   Frontend
	info FrontendInfo

	once   sync.Once
	gone   chan struct{} // closed when the user went away or the session closed the connection
	reqs   chan *ssh.Request
	reqsWG sync.WaitGroup // the goroutine that owns reqs
}

func newFrontConn(fe Frontend, info FrontendInfo) *frontConn {
	c := &frontConn{fe: fe, info: info, gone: make(chan struct{}), reqs: make(chan *ssh.Request, 2)}
	// The requests an SSH client sends for an interactive terminal, in its order.
	c.reqs <- &ssh.Request{Type: "pty-req", Payload: ssh.Marshal(ptyRequest{
		Term: info.Term, Cols: uint32(info.Cols), Rows: uint32(info.Rows)})}
	c.reqs <- &ssh.Request{Type: "shell"}
	c.reqsWG.Add(1)
	go c.forwardResizes()
	return c
}

// forwardResizes owns reqs: it sends a window-change per resize, at most once every
// frontendResizeEvery (sizes arriving meanwhile replace each other), and closes reqs once the
// connection is gone, which is what ends the channel's request loop.
func (c *frontConn) forwardResizes() {
	defer c.reqsWG.Done()
	defer close(c.reqs)
	var last time.Time
	for {
		ws, ok := c.nextResize()
		if !ok {
			return
		}
		if wait := frontendResizeEvery - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
		coalesce:
			for {
				select {
				case <-c.gone:
					t.Stop()
					return
				case next, ok := <-c.fe.Resizes():
					if !ok {
						t.Stop()
						<-c.gone
						return
					}
					if saneSize(next) {
						ws = next
					}
				case <-t.C:
					break coalesce
				}
			}
		}
		req := &ssh.Request{Type: "window-change", Payload: ssh.Marshal(windowChange{
			Cols: uint32(ws.Cols), Rows: uint32(ws.Rows)})}
		select {
		case c.reqs <- req:
			last = time.Now()
		case <-c.gone:
			return
		}
	}
}

// nextResize waits for the next sane size; a nonsense one is dropped, not forwarded to the
// target's pty. False once the connection is gone.
func (c *frontConn) nextResize() (WindowSize, bool) {
	for {
		select {
		case <-c.gone:
			return WindowSize{}, false
		case ws, ok := <-c.fe.Resizes():
			if !ok {
				<-c.gone
				return WindowSize{}, false
			}
			if saneSize(ws) {
				return ws, true
			}
		}
	}
}

// hangUp marks the user gone once: Wait returns and the request loop ends.
func (c *frontConn) hangUp() { c.once.Do(func() { close(c.gone) }) }

func (c *frontConn) Wait() error {
	<-c.gone
	return nil
}

// Close ends the frontend; the session calls it in its teardown.
func (c *frontConn) Close() error {
	c.hangUp()
	return c.fe.Close()
}

// OpenChannel refuses: a frontend has no channels but its terminal (no remote forwarding).
func (c *frontConn) OpenChannel(string, []byte) (ssh.Channel, <-chan *ssh.Request, error) {
	return nil, nil, &ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "not an ssh client"}
}

// frontNewChannel is the frontend's session channel, as the session's accept loop sees it.
type frontNewChannel struct{ conn *frontConn }

func (n *frontNewChannel) Accept() (ssh.Channel, <-chan *ssh.Request, error) {
	return &frontChannel{c: n.conn}, n.conn.reqs, nil
}
func (n *frontNewChannel) Reject(ssh.RejectionReason, string) error { return n.conn.Close() }
func (n *frontNewChannel) ChannelType() string                      { return "session" }
func (n *frontNewChannel) ExtraData() []byte                        { return nil }

// frontChannel is the frontend as an ssh.Channel.
type frontChannel struct{ c *frontConn }

var _ ssh.Channel = (*frontChannel)(nil)

// Read returns the user's input. An error means the user went away: the connection is hung up
// so the session ends as ErrClientGone, as when an SSH client's connection drops.
func (f *frontChannel) Read(p []byte) (int, error) {
	n, err := f.c.fe.Read(p)
	if err != nil {
		f.c.hangUp()
		if !errors.Is(err, io.EOF) {
			err = io.EOF
		}
	}
	return n, err
}

func (f *frontChannel) Write(p []byte) (int, error) {
	select {
	case <-f.c.gone:
		return 0, io.ErrClosedPipe
	default:
	}
	return f.c.fe.Write(p)
}

func (f *frontChannel) Close() error {
	err := f.c.Close()
	f.c.reqsWG.Wait()
	return err
}

// CloseWrite has nothing to half-close: the end of output is the end of the session.
func (f *frontChannel) CloseWrite() error { return nil }

// Stderr is the same terminal: the gateway's lines and the target's stderr are shown inline.
func (f *frontChannel) Stderr() io.ReadWriter { return frontStderr{f} }

// SendRequest accepts exit-status and exit-signal (the end of the session closes the frontend)
// and refuses anything else.
func (f *frontChannel) SendRequest(name string, _ bool, _ []byte) (bool, error) {
	return name == "exit-status" || name == "exit-signal", nil
}

type frontStderr struct{ f *frontChannel }

func (frontStderr) Read([]byte) (int, error)      { return 0, io.EOF }
func (e frontStderr) Write(p []byte) (int, error) { return e.f.Write(p) }
