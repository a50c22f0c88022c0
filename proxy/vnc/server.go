package vnc

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

// ServerConfig configures Vigil's RFB front end. OTPs and Open are required.
type ServerConfig struct {
	OTPs *OTPs
	// Open starts the graphical session a redeemed password names, for the viewer at remote
	// (access check, vaulted credential, dial, recording: the gateway's work). Its error is shown
	// to the viewer as the authentication failure's reason, so it must not carry a secret. The
	// session lasts as long as the viewer's connection: the server ends it with
	// desktop.ErrUserExit when the viewer leaves.
	Open func(ctx context.Context, g Grant, remote string) (*desktop.Session, error)
	// Clipboard lets clipboard text pass between the viewer and the target, both ways (recorded as
	// events); false drops it at the front end.
	Clipboard bool
	// Name is the desktop name viewers show (default "Vigil: TARGET").
	Name string
	// MaxFailuresPerMinute bounds failed logins per source address (default 5); beyond it a
	// viewer is refused before its password is checked.
	MaxFailuresPerMinute int
	// HandshakeTimeout bounds the handshake, including Open (default 30 s).
	HandshakeTimeout time.Duration
	// WriteTimeout cuts off a viewer that stops reading (default 30 s).
	WriteTimeout time.Duration
	// Audit receives OTP use and failure; never the password.
	Audit  func(ServerEvent)
	Logger *slog.Logger
}

// ServerEvent is an audit line of the RFB front end.
type ServerEvent struct {
	Time    time.Time
	Kind    string // ServerOTPUsed, ServerOTPFailed
	User    string // for a used password
	Target  string
	Remote  string
	Session string // the session opened, if any
	Err     error  // why a login failed or the session could not open
}

// Server audit kinds.
const (
	ServerOTPUsed   = "otp-used"
	ServerOTPFailed = "otp-failed"
)

// Server is Vigil as an RFB 3.8 server: a VNC viewer logs in with a one-time password and is
// served the session that password names. It speaks RFB 3.3, 3.7 and 3.8, VNC Authentication
// only; it sends Raw or ZRLE and the DesktopSize pseudo-encoding.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	lim *failLimiter
	wg  sync.WaitGroup
}

// NewServer checks cfg and fills its defaults.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.OTPs == nil || cfg.Open == nil {
		return nil, errors.New("vnc server: OTPs and Open are required")
	}
	if cfg.MaxFailuresPerMinute <= 0 {
		cfg.MaxFailuresPerMinute = 5
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, log: cfg.Logger, lim: newFailLimiter(cfg.MaxFailuresPerMinute)}, nil
}

// Serve accepts viewers on ln until ctx ends or Accept fails, then closes ln and waits for the
// connections it started (ctx's end closes them). It returns nil when ctx ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("vnc server: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.ServeConn(ctx, conn)
		}()
	}
}

// ServeConn serves one viewer until it leaves, its session ends or ctx ends, and closes conn.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	remote := conn.RemoteAddr().String()
	conn.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	r := bufio.NewReaderSize(conn, 16<<10)
	sess, err := s.handshake(ctx, r, conn, remote)
	if err != nil {
		s.log.Debug("vnc viewer refused", "remote", remote, "err", err)
		return
	}
	conn.SetDeadline(time.Time{})
	c := &viewer{srv: s, conn: conn, r: r, sess: sess}
	cause := c.run(ctx)
	if ctx.Err() == nil && sess.Context().Err() == nil {
		s.log.Debug("vnc viewer left", "session", sess.ID(), "err", cause)
		sess.End(desktop.ErrUserExit)
	}
}

// handshake runs the RFB handshake: version, VNC Authentication with a one-time password, the
// session's opening, ClientInit and ServerInit.
func (s *Server) handshake(ctx context.Context, r *bufio.Reader, w io.Writer, remote string) (*desktop.Session, error) {
	if _, err := io.WriteString(w, "RFB 003.008\n"); err != nil {
		return nil, err
	}
	var ver [12]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return nil, fmt.Errorf("vnc server: read version: %w", err)
	}
	var major, minor int
	if n, err := fmt.Sscanf(string(ver[:]), "RFB %03d.%03d\n", &major, &minor); n != 2 || err != nil || major != 3 {
		return nil, fmt.Errorf("%w: viewer greeting %q", ErrVersion, sanitize(ver[:]))
	}
	switch {
	case minor >= 8:
		minor = 8
	case minor == 7:
	default:
		minor = 3
	}
	addr := remoteAddr(remote)
	fail := func(reason string, err error) (*desktop.Session, error) {
		msg := []byte{0, 0, 0, 1} // SecurityResult: failed; only 3.8 gives a reason
		if minor == 8 {
			msg = binary.BigEndian.AppendUint32(msg, uint32(len(reason)))
			msg = append(msg, reason...)
		}
		w.Write(msg)
		return nil, err
	}
	if s.lim.limited(addr) {
		s.audit(ServerEvent{Kind: ServerOTPFailed, Remote: remote, Err: ErrRateLimited})
		reason := "too many failed logins"
		if minor == 3 {
			w.Write(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, uint32(len(reason))))
		} else {
			w.Write(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(reason))))
		}
		w.Write([]byte(reason))
		return nil, ErrRateLimited
	}
	if minor == 3 {
		if _, err := w.Write([]byte{0, 0, 0, secVNCAuth}); err != nil {
			return nil, err
		}
	} else {
		if _, err := w.Write([]byte{1, secVNCAuth}); err != nil {
			return nil, err
		}
		choice, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("vnc server: read security type: %w", err)
		}
		if choice != secVNCAuth {
			return fail("unsupported security type", fmt.Errorf("%w: viewer chose security type %d", ErrNoSecurityType, choice))
		}
	}
	var challenge, response [16]byte
	rand.Read(challenge[:])
	if _, err := w.Write(challenge[:]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, response[:]); err != nil {
		return nil, fmt.Errorf("vnc server: read auth response: %w", err)
	}
	g, err := s.cfg.OTPs.Redeem(challenge, response)
	if err != nil {
		s.lim.fail(addr)
		s.audit(ServerEvent{Kind: ServerOTPFailed, Remote: remote, Err: err})
		return fail("authentication failed", err)
	}
	sess, err := s.cfg.Open(ctx, g, remote)
	if err != nil {
		s.audit(ServerEvent{Kind: ServerOTPUsed, User: g.User, Target: g.Target, Remote: remote, Err: err})
		return fail("cannot open "+g.Target+": "+err.Error(), fmt.Errorf("vnc server: open %s: %w", g.Target, err))
	}
	s.audit(ServerEvent{Kind: ServerOTPUsed, User: g.User, Target: g.Target, Remote: remote, Session: sess.ID()})
	if _, err := w.Write([]byte{0, 0, 0, 0}); err != nil {
		sess.End(desktop.ErrUserExit)
		return nil, err
	}
	if _, err := r.ReadByte(); err != nil { // ClientInit: the shared flag means nothing here
		sess.End(desktop.ErrUserExit)
		return nil, fmt.Errorf("vnc server: read client init: %w", err)
	}
	return sess, nil
}

func (s *Server) audit(ev ServerEvent) {
	if s.cfg.Audit == nil {
		return
	}
	ev.Time = time.Now()
	s.cfg.Audit(ev)
}

// remoteAddr keys the rate limit by address, without the port.
func remoteAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
