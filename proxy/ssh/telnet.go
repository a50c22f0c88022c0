package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/proxy/telnet"
)

// A telnet target is reached through the same session code as an SSH one: dialTelnet returns an
// ssh.Conn whose one "session" channel is the telnet stream, so the pumps, the ring, the redact
// tracker, live control and the recording need no second path. pty-req and window-change become
// NAWS; shell is the logged-in stream; exec, subsystem and forwarding are refused (telnet has none).

// dialTelnet logs in to a telnet target with the vaulted password.
func dialTelnet(ctx context.Context, up Upstream, timeout time.Duration, cols, rows int) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	cfg := telnet.DefaultConfig()
	if up.Telnet != nil {
		cfg = *up.Telnet
	}
	cfg.Addr, cfg.Account, cfg.Password = up.Addr, up.Account, up.Password
	cfg.DialTimeout = timeout
	if cols > 0 && rows > 0 {
		cfg.Cols, cfg.Rows = uint16(cols), uint16(rows)
	}
	c, err := telnet.Dial(ctx, cfg)
	if err != nil {
		wrapped := fmt.Errorf("%w: %w", ErrUpstream, err)
		var le *telnet.LoginError
		switch {
		case errors.As(err, &le) && errors.Is(err, telnet.ErrLoginFailed):
			return nil, nil, nil, refuse(wrapped, "target %s refused the vaulted credential: %s", up.Target, le.Reason)
		case errors.As(err, &le) && errors.Is(err, telnet.ErrLoginTimeout):
			return nil, nil, nil, refuse(wrapped, "target %s: telnet login timed out: %s", up.Target, le.Reason)
		case errors.As(err, &le):
			return nil, nil, nil, refuse(wrapped, "target %s closed the connection during the login", up.Target)
		}
		return nil, nil, nil, refuse(wrapped, "target %s is unreachable: %s", up.Target, dialReason(err))
	}
	tc := &telnetConn{c: c, closed: make(chan struct{})}
	chans := make(chan ssh.NewChannel)
	reqs := make(chan *ssh.Request)
	close(chans)
	close(reqs)
	return tc, chans, reqs, nil
}

// telnetConn is a logged-in telnet connection dressed as an ssh.Conn with one session channel.
type telnetConn struct {
	c         *telnet.Conn
	closeOnce sync.Once
	closed    chan struct{}
	mu        sync.Mutex
	opened    bool
}

var _ ssh.Conn = (*telnetConn)(nil)

func (t *telnetConn) User() string          { return "" }
func (t *telnetConn) SessionID() []byte     { return nil }
func (t *telnetConn) ClientVersion() []byte { return nil }
func (t *telnetConn) ServerVersion() []byte { return nil }
func (t *telnetConn) RemoteAddr() net.Addr  { return t.c.RemoteAddr() }
func (t *telnetConn) LocalAddr() net.Addr   { return nil }
func (t *telnetConn) SendRequest(string, bool, []byte) (bool, []byte, error) {
	return false, nil, nil
}

// OpenChannel opens the one session channel; telnet carries one stream, so a second session (or
// any forwarding) is refused.
func (t *telnetConn) OpenChannel(name string, _ []byte) (ssh.Channel, <-chan *ssh.Request, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if name != "session" || t.opened {
		return nil, nil, &ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "telnet target: one session, no forwarding"}
	}
	t.opened = true
	ch := &telnetChannel{c: t.c, reqs: make(chan *ssh.Request, 1)}
	return ch, ch.reqs, nil
}

// Close ends the connection; Wait returns after it. The target hanging up ends the channel, not
// the connection, as with an SSH target: the session's end is decided by the channel's pumps.
func (t *telnetConn) Close() error {
	t.closeOnce.Do(func() { close(t.closed) })
	return t.c.Close()
}

func (t *telnetConn) Wait() error {
	<-t.closed
	return nil
}

// telnetChannel is the telnet stream as an ssh.Channel.
type telnetChannel struct {
	c        *telnet.Conn
	reqs     chan *ssh.Request
	doneOnce sync.Once
}

var _ ssh.Channel = (*telnetChannel)(nil)

// Read returns the target's output. When the target closes the connection cleanly (the user's
// shell exited) the client is sent exit status 0: telnet has no exit status, and a clean close is
// the normal end. Any other error ends without one, so the session ends as "target closed".
func (t *telnetChannel) Read(p []byte) (int, error) {
	n, err := t.c.Read(p)
	if err != nil {
		t.done(errors.Is(err, io.EOF))
		if !errors.Is(err, io.EOF) {
			err = io.EOF // the pump treats anything else as a recording failure
		}
	}
	return n, err
}

func (t *telnetChannel) done(clean bool) {
	t.doneOnce.Do(func() {
		if clean {
			t.reqs <- &ssh.Request{Type: "exit-status", Payload: ssh.Marshal(struct{ Status uint32 }{0})}
		}
		close(t.reqs)
	})
}

func (t *telnetChannel) Write(p []byte) (int, error) { return t.c.Write(p) }
func (t *telnetChannel) CloseWrite() error           { return t.c.CloseWrite() }
func (t *telnetChannel) Stderr() io.ReadWriter       { return noStderr{} }

func (t *telnetChannel) Close() error {
	err := t.c.Close()
	t.done(false)
	return err
}

// SendRequest maps the session requests that mean something to telnet.
func (t *telnetChannel) SendRequest(name string, _ bool, payload []byte) (bool, error) {
	switch name {
	case "pty-req":
		var p ptyRequest
		if ssh.Unmarshal(payload, &p) != nil {
			return false, nil
		}
		return true, t.c.Resize(uint16(p.Cols), uint16(p.Rows))
	case "window-change":
		var w windowChange
		if ssh.Unmarshal(payload, &w) != nil {
			return false, nil
		}
		return true, t.c.Resize(uint16(w.Cols), uint16(w.Rows))
	case "shell":
		return true, nil
	}
	return false, nil
}

// noStderr is a telnet stream's stderr: there is none.
type noStderr struct{}

func (noStderr) Read([]byte) (int, error)    { return 0, io.EOF }
func (noStderr) Write(p []byte) (int, error) { return len(p), nil }
