package desktop

import (
	"fmt"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/internal/live"
)

// LiveSession describes a graphical session in progress, for the live list.
type LiveSession struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Target   string    `json:"target"`
	Account  string    `json:"account"`
	Remote   string    `json:"remote"`
	Protocol string    `json:"protocol"`
	Via      string    `json:"via"`
	Start    time.Time `json:"start"`
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	Paused   bool      `json:"paused"`
}

// pauseState is present while a session is paused.
type pauseState struct{ by, reason string }

// Registry lists live sessions by id. The zero value is not usable: use NewRegistry.
type Registry struct{ live live.Registry[*Session] }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) add(s *Session) { r.live.Add(s.info.ID, s) }

func (r *Registry) remove(s *Session) { r.live.Remove(s.info.ID, s) }

// Sessions lists the live sessions, oldest first.
func (r *Registry) Sessions() []LiveSession {
	return live.List(&r.live, (*Session).Live,
		func(l LiveSession) time.Time { return l.Start }, func(l LiveSession) string { return l.ID })
}

// Session returns the live session id, or an error wrapping ErrNoSession.
func (r *Registry) Session(id string) (*Session, error) {
	s, ok := r.live.Get(id)
	if !ok {
		return nil, fmt.Errorf("live %q: %w", id, ErrNoSession)
	}
	return s, nil
}

// Live describes the session as it is now.
func (s *Session) Live() LiveSession {
	s.modelMu.Lock()
	b := s.fb.Image().Bounds()
	s.modelMu.Unlock()
	i := s.info
	return LiveSession{ID: i.ID, User: i.User, Target: i.Target, Account: i.Account, Remote: i.Remote,
		Protocol: i.Protocol, Via: i.Via, Start: i.Start, Width: b.Dx(), Height: b.Dy(),
		Paused: s.paused.Load() != nil}
}

// Paused reports whether an auditor holds the session, and who and why.
func (s *Session) Paused() (paused bool, by, reason string) {
	p := s.paused.Load()
	if p == nil {
		return false, "", ""
	}
	return true, p.by, p.reason
}

// Pause holds the session: the user's input is refused (Input returns ErrPaused) and front ends
// stop showing the screen and show the pause instead (they watch Changed). The target keeps
// running and its screen keeps being recorded, so the auditor still sees what it does. It
// returns ErrAlreadyPaused, ErrNoActor or ErrNoSession, wrapped.
func (s *Session) Pause(by, reason string) error {
	by, reason = live.Clean(by), live.Clean(reason)
	if by == "" {
		return fmt.Errorf("pause %s: %w", s.info.ID, ErrNoActor)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("pause %s: %w", s.info.ID, ErrNoSession)
	}
	if !s.paused.CompareAndSwap(nil, &pauseState{by: by, reason: reason}) {
		return fmt.Errorf("pause %s: %w", s.info.ID, ErrAlreadyPaused)
	}
	s.mark(map[string]any{"kind": "paused", "by": by, "reason": reason})
	s.audit(AuditEvent{Kind: AuditPause, Actor: by, Detail: live.ActionDetail(by, reason)})
	s.log.Info("desktop session paused", "session", s.info.ID, "by", by)
	s.notify()
	return nil
}

// Resume lets the user work again. It returns ErrNotPaused, ErrNoActor or ErrNoSession, wrapped.
func (s *Session) Resume(by string) error {
	by = live.Clean(by)
	if by == "" {
		return fmt.Errorf("resume %s: %w", s.info.ID, ErrNoActor)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("resume %s: %w", s.info.ID, ErrNoSession)
	}
	p := s.paused.Load()
	if p == nil || !s.paused.CompareAndSwap(p, nil) {
		return fmt.Errorf("resume %s: %w", s.info.ID, ErrNotPaused)
	}
	s.mark(map[string]any{"kind": "resumed", "by": by})
	s.audit(AuditEvent{Kind: AuditResume, Actor: by, Detail: live.ActionDetail(by, "")})
	s.log.Info("desktop session resumed", "session", s.info.ID, "by", by)
	s.notify()
	return nil
}

// Terminate ends the session with a *TerminatedError cause, which the recording, the audit log
// and the front ends get. It returns ErrNoActor or ErrNoSession, wrapped.
func (s *Session) Terminate(by, reason string) error {
	by, reason = live.Clean(by), live.Clean(reason)
	if by == "" {
		return fmt.Errorf("terminate %s: %w", s.info.ID, ErrNoActor)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("terminate %s: %w", s.info.ID, ErrNoSession)
	}
	cause := &TerminatedError{By: by, Reason: reason}
	s.mark(map[string]any{"kind": "terminated", "by": by, "reason": reason})
	s.audit(AuditEvent{Kind: AuditTerminate, Actor: by, Detail: live.ActionDetail(by, reason), Cause: cause})
	s.log.Info("desktop session terminated", "session", s.info.ID, "by", by)
	s.cancel(cause)
	return nil
}
