package ssh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/proxy/ssh/transfer"
)

// ptyRequest is RFC 4254 6.2 "pty-req".
type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

// windowChange is RFC 4254 6.7 "window-change".
type windowChange struct {
	Cols, Rows    uint32
	Width, Height uint32
}

// A client's sizes are the client's to choose, and a hostile one chooses 65535 x 65535: each size
// becomes a terminal emulator of cols x rows cells (32 bytes a cell) in the recorder, the indexer
// and the live hub, so one such window change would ask for about 137 GB. Sizes are bounded here,
// where they enter, as a frontend's are (maxFrontendSide): a pty-req out of range gets the classic
// 80 x 24, a window-change out of range is dropped, so neither the ring nor the target sees it.
func saneWindow(cols, rows uint32) bool {
	return cols > 0 && rows > 0 && cols <= maxFrontendSide && rows <= maxFrontendSide
}

// sanePty returns p with an out-of-range size replaced by 80 x 24 (and no pixel size, which
// described the size dropped).
func sanePty(p ptyRequest) ptyRequest {
	if !saneWindow(p.Cols, p.Rows) {
		p.Cols, p.Rows, p.Width, p.Height = 80, 24, 0, 0
	}
	return p
}

// sessionChannel is one "session" channel: the client's side, and the upstream's once connected.
type sessionChannel struct {
	s   *session
	id  uint16
	key uint32
	ch  ssh.Channel

	// Set before the pumps start, read-only after.
	pty      *ptyRequest
	env      [][]byte
	agent    bool
	start    *ssh.Request // shell, exec or subsystem
	replied  bool         // start was answered already (before the menu)
	exited   atomic.Bool  // the target sent exit-status or exit-signal
	released sync.Once    // takes the channel out of session.openShells
	told     sync.Once    // the user was told why the session ended
	command  string
	observer transfer.Observer
	tracker  *lockedTracker

	upReqsDone chan struct{} // closed when the upstream channel's requests end: it has closed

	upMu sync.Mutex
	up   ssh.Channel // nil until the upstream channel is open
	cols uint32      // latest size while no upstream channel exists yet
	rows uint32
}

// handleSession runs a session channel from open to close.
func (s *session) handleSession(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	sc := &sessionChannel{s: s, id: s.newChanID(), ch: ch}
	sc.key = uint32(sc.id)
	s.openShells.Add(1)
	s.mu.Lock()
	s.channels[sc.key] = sc
	s.mu.Unlock()
	defer func() {
		// Told here as well as in the teardown: whichever comes first says it, once, and the
		// channel may have left the map before the teardown looked.
		if cause := context.Cause(s.ctx); cause != nil && notable(cause) {
			sc.tell(cause)
		}
		s.mu.Lock()
		delete(s.channels, sc.key)
		s.mu.Unlock()
		sc.release()
		ch.Close()
	}()

	if !sc.collect(reqs) {
		return
	}
	var rest sync.WaitGroup
	rest.Add(1)
	go func() {
		defer rest.Done()
		sc.forwardRequests(reqs)
	}()
	defer rest.Wait()

	if s.targetName() == "" {
		if sc.pty == nil || sc.start.Type != "shell" {
			sc.refuse(refuse(ErrNoSuchTarget, "no target named: log in as user@target"))
			return
		}
		// The client waits for this answer before it lets the user type.
		sc.start.Reply(true, nil)
		sc.replied = true
		targets, err := s.srv.cfg.Policy.Targets(s.ctx, s.user)
		if err != nil {
			sc.refuse(refuse(err, "no targets available"))
			return
		}
		picked, err := runMenu(ch, targets)
		if err != nil {
			sc.refuse(ErrUserExit)
			return
		}
		s.setTarget(picked)
	}
	info := SessionInfo{Command: sc.command}
	if sc.pty != nil {
		info.Cols, info.Rows = int(sc.pty.Cols), int(sc.pty.Rows)
	}
	up, conn, err := s.ensureUpstream(info)
	if err != nil {
		sc.refuse(err)
		return
	}
	if !sc.openUpstream(up, conn) {
		return
	}
	sc.pump()
}

// tell writes why the session ended on stderr with exit status 255, once.
func (sc *sessionChannel) tell(cause error) {
	sc.told.Do(func() {
		sc.ch.Stderr().Write([]byte("\r\n" + endLine(cause, sc.s.targetName()) + "\r\n"))
		sc.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{255}))
	})
}

func (sc *sessionChannel) release() {
	sc.released.Do(func() { sc.s.openShells.Add(-1) })
}

// refuse answers the start request, tells the user why in one line on stderr with a non-zero exit
// status, closes the channel and ends the session with err.
func (sc *sessionChannel) refuse(err error) {
	s := sc.s
	if !sc.replied {
		sc.start.Reply(true, nil) // so the client reads the reason instead of "request failed"
		sc.replied = true
	}
	// Marked told first: the teardown must not say it a second time.
	sc.told.Do(func() {
		if !errors.Is(err, ErrUserExit) {
			sc.ch.Stderr().Write([]byte(userLine(err) + "\r\n"))
		}
		sc.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{1}))
	})
	sc.ch.CloseWrite()
	s.cancel(err)
}

func (s *session) targetName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.target
}

func (s *session) setTarget(t string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.target == "" {
		s.target = t
	}
}

// collect gathers the requests that precede shell, exec or subsystem; they are replayed on the
// upstream channel once there is one. It returns false if the channel closed first.
func (sc *sessionChannel) collect(reqs <-chan *ssh.Request) bool {
	for {
		select {
		case <-sc.s.ctx.Done():
			return false
		case req, ok := <-reqs:
			if !ok {
				return false
			}
			switch req.Type {
			case "pty-req":
				var p ptyRequest
				if ssh.Unmarshal(req.Payload, &p) != nil {
					req.Reply(false, nil)
					continue
				}
				p = sanePty(p)
				sc.pty, sc.cols, sc.rows = &p, p.Cols, p.Rows
				req.Reply(true, nil)
			case "env":
				sc.env = append(sc.env, req.Payload)
				req.Reply(true, nil)
			case "window-change":
				var w windowChange
				if ssh.Unmarshal(req.Payload, &w) == nil && saneWindow(w.Cols, w.Rows) {
					sc.cols, sc.rows = w.Cols, w.Rows
				}
			case "auth-agent-req@openssh.com":
				sc.agent = true // granted or refused once the upstream's policy is known
				req.Reply(true, nil)
			case "shell", "exec", "subsystem":
				sc.start = req
				sc.setup()
				return true
			default:
				sc.s.audit(AuditEvent{Kind: AuditRefused, Detail: "request " + req.Type})
				req.Reply(false, nil)
			}
		}
	}
}

// setup decides, from the starting request, what observes the channel's bytes.
func (sc *sessionChannel) setup() {
	switch sc.start.Type {
	case "exec":
		var cmd struct{ Command string }
		if ssh.Unmarshal(sc.start.Payload, &cmd) == nil {
			sc.command = cmd.Command
		}
		if isSCP(sc.command) {
			if obs, err := transfer.NewSCP(sc.command, sc.emitTransfer); err == nil {
				sc.observer = obs
			}
			// scp's stream is binary either way: no prompt tracking.
			return
		}
	case "subsystem":
		var sub struct{ Name string }
		if ssh.Unmarshal(sc.start.Payload, &sub) == nil && sub.Name == "sftp" {
			sc.observer = transfer.NewSFTP(sc.emitTransfer)
		}
		// File transfer bytes are binary: a prompt detector would only make false alarms.
		return
	}
	sc.tracker = newLockedTracker()
}

func isSCP(cmd string) bool {
	f := strings.Fields(cmd)
	return len(f) > 0 && (f[0] == "scp" || strings.HasSuffix(f[0], "/scp"))
}

func (sc *sessionChannel) emitTransfer(ev transfer.Event) {
	sc.s.mark(sc.id, map[string]any{
		"kind": "file-transfer", "protocol": ev.Protocol, "op": ev.Op, "path": ev.Path,
		"target": ev.Target,
		"size":   ev.Size, "sha256": ev.SHA256, "error": ev.Err,
	})
}

// openUpstream opens the upstream session channel and replays the collected requests on it.
func (sc *sessionChannel) openUpstream(up *Upstream, conn ssh.Conn) bool {
	s := sc.s
	upCh, upReqs, err := conn.OpenChannel("session", nil)
	if err != nil {
		sc.refuse(refuse(fmt.Errorf("%w: open session: %w", ErrUpstream, err), "target %s refused the session", up.Target))
		return false
	}
	sc.upReqsDone = make(chan struct{})
	go sc.forwardUpstreamRequests(upReqs)
	if sc.pty != nil {
		s.writeEvent(capture.TypeResize, sc.id, capture.ResizePayload(uint16(sc.pty.Cols), uint16(sc.pty.Rows)))
		upCh.SendRequest("pty-req", true, ssh.Marshal(sc.pty))
	}
	for _, e := range sc.env {
		upCh.SendRequest("env", false, e)
	}
	if sc.agent {
		if up.AgentForward {
			upCh.SendRequest("auth-agent-req@openssh.com", true, nil)
		} else {
			s.audit(AuditEvent{Kind: AuditRefused, Detail: "agent forwarding"})
		}
	}
	switch sc.start.Type {
	case "exec":
		s.mark(sc.id, map[string]any{"kind": "exec", "command": sc.command})
	case "subsystem":
		var sub struct{ Name string }
		ssh.Unmarshal(sc.start.Payload, &sub)
		s.mark(sc.id, map[string]any{"kind": "subsystem", "name": sub.Name})
	default:
		s.mark(sc.id, map[string]any{"kind": "shell"})
	}
	ok, err := upCh.SendRequest(sc.start.Type, true, sc.start.Payload)
	if !sc.replied {
		sc.start.Reply(ok && err == nil, nil)
	} else if !ok || err != nil {
		sc.ch.Stderr().Write([]byte("vigil: target " + up.Target + " refused the " + sc.start.Type + " request\r\n"))
	}
	if !ok || err != nil {
		upCh.Close()
		return false
	}
	sc.upMu.Lock()
	sc.up = upCh
	if sc.pty != nil && (sc.cols != sc.pty.Cols || sc.rows != sc.pty.Rows) {
		// The window changed while the menu or the dial ran.
		sc.resize(windowChange{Cols: sc.cols, Rows: sc.rows})
	}
	sc.upMu.Unlock()
	return true
}

// resize forwards and records a window change; sc.upMu must be held.
func (sc *sessionChannel) resize(w windowChange) {
	sc.s.writeEvent(capture.TypeResize, sc.id, capture.ResizePayload(uint16(w.Cols), uint16(w.Rows)))
	sc.up.SendRequest("window-change", false, ssh.Marshal(w))
}

// forwardRequests relays the client's requests after the start; before the upstream channel is
// open it keeps them from piling up (a full request queue would stall the whole connection).
func (sc *sessionChannel) forwardRequests(reqs <-chan *ssh.Request) {
	defer func() {
		// The client closed its channel: close ours upstream too.
		sc.upMu.Lock()
		if sc.up != nil {
			sc.up.Close()
		}
		sc.upMu.Unlock()
	}()
	for req := range reqs {
		sc.upMu.Lock()
		up := sc.up
		if req.Type == "window-change" {
			var w windowChange
			if ssh.Unmarshal(req.Payload, &w) == nil && saneWindow(w.Cols, w.Rows) {
				sc.cols, sc.rows = w.Cols, w.Rows
				if up != nil {
					sc.resize(w)
				}
			}
			sc.upMu.Unlock()
			continue
		}
		sc.upMu.Unlock()
		switch {
		case up == nil:
			req.Reply(false, nil)
		case req.Type == "signal", req.Type == "break", strings.HasPrefix(req.Type, "keepalive@"):
			ok, _ := up.SendRequest(req.Type, req.WantReply, req.Payload)
			req.Reply(ok, nil)
		case req.Type == "env":
			// Accepted only before the start, as OpenSSH does.
			req.Reply(false, nil)
		default:
			sc.s.audit(AuditEvent{Kind: AuditRefused, Detail: "request " + req.Type})
			req.Reply(false, nil)
		}
	}
}

// forwardUpstreamRequests relays exit-status, exit-signal and the like to the client.
func (sc *sessionChannel) forwardUpstreamRequests(reqs <-chan *ssh.Request) {
	defer close(sc.upReqsDone)
	for req := range reqs {
		switch req.Type {
		case "exit-status":
			sc.exited.Store(true)
			if len(req.Payload) == 4 {
				sc.s.mark(sc.id, map[string]any{"kind": "exit-status", "status": binary.BigEndian.Uint32(req.Payload)})
			}
		case "exit-signal":
			sc.exited.Store(true)
			var sig struct{ Signal string }
			ssh.Unmarshal(req.Payload, &sig)
			sc.s.mark(sc.id, map[string]any{"kind": "exit-signal", "signal": sig.Signal})
		}
		ok, _ := sc.ch.SendRequest(req.Type, req.WantReply, req.Payload)
		if req.WantReply {
			req.Reply(ok, nil)
		}
	}
}

// pump moves bytes both ways through the ring until the upstream channel ends, then closes both.
func (sc *sessionChannel) pump() {
	s := sc.s
	var out sync.WaitGroup
	out.Add(2)
	go func() {
		defer out.Done()
		sc.pumpOutput(sc.up, sc.ch, false)
	}()
	go func() {
		defer out.Done()
		sc.pumpOutput(sc.up.Stderr(), sc.ch.Stderr(), true)
	}()
	inDone := make(chan struct{})
	go func() {
		defer close(inDone)
		sc.pumpInput()
	}()
	out.Wait()
	// The exit status follows the EOF; the upstream's close comes after it, so waiting for the
	// close means the client gets its exit status.
	select {
	case <-sc.upReqsDone:
	case <-s.ctx.Done():
	}
	if !sc.exited.Load() && s.ctx.Err() == nil {
		// No exit status: the target went away (its connection dropped or its sshd died).
		s.cancel(ErrTargetClosed)
	}
	if cause := context.Cause(s.ctx); cause != nil && notable(cause) {
		sc.tell(cause) // before the close below, or the client never reads it
	}
	// Before the close reaches the client: a client that disconnects right after its command
	// exited has exited, not vanished.
	sc.release()
	sc.up.Close()
	sc.ch.Close()
	<-inDone
}
