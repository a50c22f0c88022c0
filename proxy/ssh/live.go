package ssh

import (
	"context"
	"fmt"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/internal/live"
)

// LiveSession describes a session in progress: one that reached its target and is recorded.
type LiveSession struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Target  string    `json:"target"`
	Account string    `json:"account"`
	Remote  string    `json:"remote"`
	Start   time.Time `json:"start"`
	Cols    int       `json:"cols"`
	Rows    int       `json:"rows"`
	Paused  bool      `json:"paused"`
}

// TerminatedError is the cause of a session an auditor terminated. It wraps ErrTerminated; the
// recording's end cause and the audit log carry its text, which names the actor and the reason.
type TerminatedError struct{ By, Reason string }

func (e *TerminatedError) Error() string {
	if e.Reason == "" {
		return "terminated by " + e.By
	}
	return "terminated by " + e.By + ": " + e.Reason
}

func (e *TerminatedError) Unwrap() error { return ErrTerminated }

// pauseState is present while a session is paused; resumed is closed by Resume.
type pauseState struct {
	by, reason string
	resumed    chan struct{}
}

// Live controls one live session. It stays valid after the session ends; its methods then
// return ErrNoSession.
type Live struct{ s *session }

// Sessions lists the live sessions, oldest first.
func (s *Server) Sessions() []LiveSession {
	return live.List(&s.live, (*session).info,
		func(l LiveSession) time.Time { return l.Start }, func(l LiveSession) string { return l.ID })
}

// Session returns the live session id, or an error wrapping ErrNoSession.
func (s *Server) Session(id string) (*Live, error) {
	ss, ok := s.live.Get(id)
	if !ok {
		return nil, fmt.Errorf("live %q: %w", id, ErrNoSession)
	}
	return &Live{s: ss}, nil
}

func (s *Server) addLive(ss *session) { s.live.Add(ss.id, ss) }

func (s *Server) removeLive(ss *session) { s.live.Remove(ss.id, ss) }

func (s *session) info() LiveSession {
	s.mu.Lock()
	li := LiveSession{ID: s.id, User: s.user.User, Target: s.target, Remote: s.remote, Start: s.start}
	if s.up != nil {
		li.Target, li.Account = s.up.Target, s.up.Account
	}
	h := s.hub
	s.mu.Unlock()
	if h != nil {
		li.Cols, li.Rows = h.size()
	}
	li.Paused = s.paused.Load() != nil
	return li
}

// Info describes the session as it is now.
func (l *Live) Info() LiveSession { return l.s.info() }

// Done is closed when the session has ended.
func (l *Live) Done() <-chan struct{} { return l.s.ctx.Done() }

// Shadow starts a read-only view of the session's terminal; it lasts until ctx is done, Close
// is called or the session ends. It returns an error wrapping ErrNoSession if the session ended.
func (l *Live) Shadow(ctx context.Context) (*Shadow, error) {
	l.s.mu.Lock()
	h := l.s.hub
	l.s.mu.Unlock()
	if h == nil || l.s.ctx.Err() != nil {
		return nil, fmt.Errorf("shadow %s: %w", l.s.id, ErrNoSession)
	}
	return h.newShadow(ctx)
}

// Pause holds the user's input: what they type is neither forwarded nor recorded until Resume
// (it waits in the gateway and the SSH flow-control window, then goes through in order). The
// target's output keeps flowing, so the auditor and the user still see what an already running
// command does; stopping the target is what Terminate is for. The user is told once per pause.
// It returns ErrAlreadyPaused, ErrNoActor (by is empty) or ErrNoSession, wrapped.
func (l *Live) Pause(by, reason string) error {
	s := l.s
	by, reason = live.Clean(by), live.Clean(reason)
	if by == "" {
		return fmt.Errorf("pause %s: %w", s.id, ErrNoActor)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("pause %s: %w", s.id, ErrNoSession)
	}
	if !s.paused.CompareAndSwap(nil, &pauseState{by: by, reason: reason, resumed: make(chan struct{})}) {
		return fmt.Errorf("pause %s: %w", s.id, ErrAlreadyPaused)
	}
	s.mark(0, map[string]any{"kind": "paused", "by": by, "reason": reason})
	s.audit(AuditEvent{Kind: AuditPause, Actor: by, Detail: live.ActionDetail(by, reason)})
	s.srv.log.Info("ssh session paused", "session", s.id, "by", by)
	s.notify("vigil: session paused by an auditor")
	return nil
}

// Resume forwards the held input and lets the user type again. It returns ErrNotPaused,
// ErrNoActor or ErrNoSession, wrapped.
func (l *Live) Resume(by string) error {
	s := l.s
	by = live.Clean(by)
	if by == "" {
		return fmt.Errorf("resume %s: %w", s.id, ErrNoActor)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("resume %s: %w", s.id, ErrNoSession)
	}
	p := s.paused.Load()
	if p == nil || !s.paused.CompareAndSwap(p, nil) {
		return fmt.Errorf("resume %s: %w", s.id, ErrNotPaused)
	}
	s.mark(0, map[string]any{"kind": "resumed", "by": by})
	s.audit(AuditEvent{Kind: AuditResume, Actor: by, Detail: live.ActionDetail(by, "")})
	s.srv.log.Info("ssh session resumed", "session", s.id, "by", by)
	s.notify("vigil: session resumed")
	close(p.resumed)
	return nil
}

// Terminate ends the session with a *TerminatedError cause: the user reads "vigil: session
// terminated by BY: REASON" and their client exits with status 255, the recording is closed with
// that cause, and the audit log gets a session-terminate event and the session-end event. It
// returns ErrNoActor or ErrNoSession, wrapped.
func (l *Live) Terminate(by, reason string) error {
	s := l.s
	by, reason = live.Clean(by), live.Clean(reason)
	if by == "" {
		return fmt.Errorf("terminate %s: %w", s.id, ErrNoActor)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("terminate %s: %w", s.id, ErrNoSession)
	}
	cause := &TerminatedError{By: by, Reason: reason}
	s.mark(0, map[string]any{"kind": "terminated", "by": by, "reason": reason})
	s.audit(AuditEvent{Kind: AuditTerminate, Actor: by, Detail: live.ActionDetail(by, reason), Cause: cause})
	s.srv.log.Info("ssh session terminated", "session", s.id, "by", by)
	s.cancel(cause)
	return nil
}

// holdWhilePaused blocks an input pump while the session is paused. It returns false if the
// session ended meanwhile. The fast path is one atomic load per read.
func (s *session) holdWhilePaused() bool {
	for {
		p := s.paused.Load()
		if p == nil {
			return true
		}
		s.held.Add(1)
		select {
		case <-p.resumed:
		case <-s.ctx.Done():
			return false
		}
	}
}

// tellAll writes line to every open session channel's stderr.
func (s *session) tellAll(line string) {
	s.mu.Lock()
	chs := make([]*sessionChannel, 0, len(s.channels))
	for _, sc := range s.channels {
		chs = append(chs, sc)
	}
	s.mu.Unlock()
	for _, sc := range chs {
		sc.ch.Stderr().Write([]byte("\r\n" + line + "\r\n"))
	}
}

// notify queues line for the user; notices runs the writes in order, off the caller's goroutine,
// so a client that stopped reading never holds up the auditor's request. A full queue drops.
func (s *session) notify(line string) {
	select {
	case s.notices <- line:
	default:
	}
}

func (s *session) runNotices() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case line := <-s.notices:
			s.tellAll(line)
		}
	}
}
