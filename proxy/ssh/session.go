package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
)

// session is one SSH connection from a user: one Vigil session, one ring, one recording, at most
// one upstream connection shared by all its channels.
type session struct {
	srv    *Server
	conn   userConn
	via    string // "" for an SSH client, else the Frontend's kind ("web"), for the audit trail
	ctx    context.Context
	cancel context.CancelCauseFunc
	id     string
	user   Principal
	remote string
	start  time.Time

	wg         sync.WaitGroup // every goroutine that touches the ring
	lastActive atomic.Int64   // unix nanoseconds of the last byte either way
	nextChan   atomic.Uint32
	openShells atomic.Int32 // session channels still open: tells a vanished client from an exit

	mu       sync.Mutex
	target   string // empty until named or picked from the menu
	up       *Upstream
	upConn   ssh.Conn
	upErr    error // a failed upstream is not retried: the session ends with it
	ring     *capture.Ring
	rec      Recording
	markerMu sync.Mutex
	marker   *capture.Producer // for events written from request handlers; guarded by markerMu
	channels map[uint32]*sessionChannel
	hub      *hub // live view of the output; set with ring

	paused  atomic.Pointer[pauseState] // non-nil while an auditor holds the user's input
	held    atomic.Int64               // times an input pump waited on a pause (tests)
	notices chan string                // lines for the user from live controls (live.go)
}

func newSessionID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// userConn is the user's side of a session: an SSH client's connection, or a Frontend dressed as
// one (frontend.go). Wait returns when the user is gone; Close ends the connection and every
// channel on it; OpenChannel opens a channel towards the user (remote port forwarding).
type userConn interface {
	OpenChannel(name string, data []byte) (ssh.Channel, <-chan *ssh.Request, error)
	Wait() error
	Close() error
}

// newSession starts a session for user, who named target ("" for the menu), from remote.
func newSession(parent context.Context, srv *Server, conn userConn, user Principal, target, remote string) *session {
	ctx, cancel := context.WithCancelCause(parent)
	s := &session{
		srv:      srv,
		conn:     conn,
		ctx:      ctx,
		cancel:   cancel,
		id:       newSessionID(),
		user:     user,
		remote:   remote,
		start:    time.Now(),
		target:   target,
		channels: make(map[uint32]*sessionChannel),
		notices:  make(chan string, 8),
	}
	s.touch()
	return s
}

func (s *session) touch() { s.lastActive.Store(time.Now().UnixNano()) }

func (s *session) audit(ev AuditEvent) {
	ev.Time = time.Now()
	ev.Session, ev.User, ev.Remote = s.id, s.user.User, s.remote
	if ev.Target == "" {
		s.mu.Lock()
		ev.Target = s.target
		s.mu.Unlock()
	}
	s.srv.cfg.Audit(ev)
}

// run serves the connection's channels until the session ends, then closes the ring and the
// recording with the cause.
func (s *session) run(chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request) {
	defer s.cancel(ErrShutdown) // releases the context if nothing else ended it
	go func() {
		s.conn.Wait()
		if s.openShells.Load() > 0 {
			s.cancel(ErrClientGone)
		} else {
			s.cancel(ErrUserExit)
		}
	}()
	if d := s.srv.cfg.IdleTimeout; d > 0 {
		go s.watchIdle(d)
	}
	stop := context.AfterFunc(s.ctx, s.teardown)
	defer stop()
	go s.globalRequests(reqs)
	go s.runNotices()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handleSession(nc)
			}()
		case "direct-tcpip":
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handleDirect(nc)
			}()
		default:
			s.audit(AuditEvent{Kind: AuditRefused, Detail: "channel " + nc.ChannelType()})
			nc.Reject(ssh.UnknownChannelType, "channel type not supported by the gateway")
		}
	}
	<-s.ctx.Done()
	s.wg.Wait()
	s.finish(context.Cause(s.ctx))
}

// teardown runs once when the session's context ends: it tells every open channel why, then
// closes both legs so every pump returns.
func (s *session) teardown() {
	cause := context.Cause(s.ctx)
	if notable(cause) {
		s.mu.Lock()
		chs := make([]*sessionChannel, 0, len(s.channels))
		for _, sc := range s.channels {
			chs = append(chs, sc)
		}
		s.mu.Unlock()
		var wg sync.WaitGroup
		for _, sc := range chs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc.tell(cause)
			}()
		}
		// A client that stopped reading must not hold the teardown: its window may be full.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
	s.conn.Close()
	s.mu.Lock()
	if s.upConn != nil {
		s.upConn.Close()
	}
	s.mu.Unlock()
}

// notable says whether the user should be told why the session ended: not when they ended it.
func notable(cause error) bool {
	return !errors.Is(cause, ErrUserExit) && !errors.Is(cause, ErrClientGone)
}

func endLine(cause error, target string) string {
	switch {
	case errors.Is(cause, ErrTargetClosed):
		return fmt.Sprintf("vigil: target %s closed the connection", target)
	case errors.Is(cause, ErrIdleTimeout):
		return "vigil: session ended: idle timeout"
	case errors.Is(cause, ErrRecordingFailure):
		return "vigil: recording failed, session ended"
	case errors.Is(cause, ErrShutdown):
		return "vigil: session ended: gateway shutting down"
	}
	var term *TerminatedError
	if errors.As(cause, &term) {
		return "vigil: session " + term.Error()
	}
	return userLine(cause)
}

// finish closes the ring, then the recording, so the recorder has seen every event before it is
// asked to persist.
func (s *session) finish(cause error) {
	s.mu.Lock()
	ring, rec, h := s.ring, s.rec, s.hub
	s.mu.Unlock()
	if ring == nil {
		return // no target was reached: there is nothing recorded, the login was audited
	}
	s.srv.removeLive(s)
	ring.Close()
	<-h.done // the hub drains to the ring's end and ends its shadows with io.EOF
	if err := rec.Close(cause); err != nil {
		s.srv.log.Error("ssh recording close failed", "session", s.id, "err", err)
		cause = fmt.Errorf("%w: close: %w (session ended: %w)", ErrRecordingFailure, err, cause)
	}
	s.audit(AuditEvent{Kind: AuditSessionEnd, Cause: cause})
	s.srv.log.Info("ssh session end", "session", s.id, "user", s.user.User, "target", s.target, "cause", cause)
}

func (s *session) watchIdle(d time.Duration) {
	tick := min(d/4, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, s.lastActive.Load())) >= d {
				s.cancel(ErrIdleTimeout)
				return
			}
		}
	}
}

// fail ends the session with a cause: a stalled ring is a recording failure (fail closed), and so
// is a ring the recorder failed (capture.Ring.Fail with ErrRecordingFailure): its producers stop,
// and without this the target's side would go on with nobody reading it.
func (s *session) fail(err error) {
	switch {
	case errors.Is(err, ErrRecordingFailure):
		s.cancel(err)
	case errors.Is(err, capture.ErrStalled):
		s.cancel(fmt.Errorf("%w: %w", ErrRecordingFailure, err))
	}
}

// mark writes a marker event: small JSON with a "kind".
func (s *session) mark(ch uint16, fields map[string]any) {
	b, err := json.Marshal(fields)
	if err != nil {
		return
	}
	s.writeEvent(capture.TypeMarker, ch, b)
}

func (s *session) writeEvent(t capture.Type, ch uint16, payload []byte) {
	s.markerMu.Lock()
	defer s.markerMu.Unlock()
	if s.marker == nil {
		return
	}
	if _, err := s.marker.Write(t, ch, payload); err != nil {
		s.fail(err)
	}
}

func (s *session) newChanID() uint16 { return uint16(s.nextChan.Add(1) - 1) }

// ensureUpstream resolves the target, starts the recording and logs in to the target, once per
// session; later callers get the same connection or the same error. info carries what the first
// channel knows (size, command) for the recording's header.
func (s *session) ensureUpstream(info SessionInfo) (*Upstream, ssh.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.upConn != nil || s.upErr != nil {
		return s.up, s.upConn, s.upErr
	}
	s.upErr = s.connectLocked(info)
	if s.upErr != nil {
		s.audit2(AuditEvent{Kind: AuditRefused, Target: s.target, Cause: s.upErr})
	}
	return s.up, s.upConn, s.upErr
}

// audit2 is audit for callers holding s.mu.
func (s *session) audit2(ev AuditEvent) {
	ev.Time = time.Now()
	ev.Session, ev.User, ev.Remote = s.id, s.user.User, s.remote
	s.srv.cfg.Audit(ev)
}

func (s *session) connectLocked(info SessionInfo) error {
	cfg := s.srv.cfg
	if s.target == "" {
		return refuse(ErrNoSuchTarget, "no target named: log in as user@target")
	}
	up, err := cfg.Policy.Resolve(s.ctx, s.user, s.target)
	switch {
	case errors.Is(err, ErrNoSuchTarget):
		return refuse(err, "no such target: %s", s.target)
	case errors.Is(err, ErrDenied):
		return refuse(err, "access to %s denied", s.target)
	case err != nil:
		return refuse(fmt.Errorf("%w: resolve %s: %w", ErrDenied, s.target, err), "target %s is not available", s.target)
	}
	if up.Target == "" {
		up.Target = s.target
	}
	s.up = &up
	info.ID, info.User, info.Target, info.Account = s.id, s.user.User, up.Target, up.Account
	info.Protocol, info.Remote, info.Start = "ssh", s.remote, s.start
	if up.Protocol == "telnet" {
		info.Protocol = "telnet"
	}
	ring, err := capture.New(cfg.Ring)
	if err != nil {
		return refuse(fmt.Errorf("%w: new ring: %w", ErrRecordingFailure, err), "recording unavailable, session refused")
	}
	rec, err := cfg.Recorder.Start(s.ctx, info, ring)
	if err != nil {
		ring.Close()
		return refuse(fmt.Errorf("%w: start: %w", ErrRecordingFailure, err), "recording unavailable, session refused")
	}
	s.ring, s.rec = ring, rec
	s.hub = startHub(ring, info.Cols, info.Rows, cfg.NewScreen)
	s.srv.addLive(s)
	s.markerMu.Lock()
	s.marker = ring.NewProducer()
	s.markerMu.Unlock()
	start := AuditEvent{Kind: AuditSessionStart, Target: up.Target}
	if s.via != "" {
		start.Detail = "via " + s.via
	}
	s.audit2(start)
	s.srv.log.Info("ssh session start", "session", s.id, "user", s.user.User, "target", up.Target, "account", up.Account, "remote", s.remote)

	// Recording started before dialing so that failed attempts are on record too.
	var (
		conn  ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
	)
	if up.Protocol == "telnet" {
		conn, chans, reqs, err = dialTelnet(s.ctx, up, cfg.DialTimeout, info.Cols, info.Rows)
	} else {
		conn, chans, reqs, err = dialUpstream(s.ctx, up, cfg.DialTimeout)
	}
	if err != nil {
		return err
	}
	s.upConn = conn
	go ssh.DiscardRequests(reqs) // upstream keepalives get the standard "no"
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.upstreamChannels(chans)
	}()
	go func() {
		conn.Wait()
		s.cancel(ErrTargetClosed)
	}()
	return nil
}
