package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/proxy/internal/live"
)

// handshakeTimeout bounds how long an unauthenticated client may hold a connection.
const handshakeTimeout = 30 * time.Second

// Permission extension keys carrying the authenticated login from the handshake to the session.
const (
	extUser   = "vigil-user"
	extRole   = "vigil-role"
	extTarget = "vigil-target"
)

// Server is the SSH gateway. Create it with NewServer and run it with Serve.
type Server struct {
	cfg     Config
	log     *slog.Logger
	limiter *failureLimiter

	live live.Registry[*session] // sessions that reached the recording stage, by id

	// down ends when Serve's context does: frontend sessions (ServeFrontend) end with it too.
	down     context.Context
	downStop context.CancelFunc
}

// NewServer checks cfg, fills in defaults and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := DefaultConfig()
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = def.DialTimeout
	}
	if cfg.MaxAuthFailuresPerMinute == 0 {
		cfg.MaxAuthFailuresPerMinute = def.MaxAuthFailuresPerMinute
	}
	if cfg.Ring == (capture.Config{}) {
		cfg.Ring = def.Ring
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = func(AuditEvent) {}
	}
	down, downStop := context.WithCancel(context.Background())
	return &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		limiter:  newFailureLimiter(cfg.MaxAuthFailuresPerMinute, time.Now),
		down:     down,
		downStop: downStop,
	}, nil
}

// Serve accepts connections on ln until ctx is done, then closes the listener, ends every session
// with ErrShutdown and returns once they are all closed. It returns nil after a shutdown and the
// accept error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Sessions get their own context so that they end with ErrShutdown as the cause, not with
	// whatever ended ctx.
	sessCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(ErrShutdown)
	stop := context.AfterFunc(ctx, func() {
		cancel(ErrShutdown)
		s.downStop()
		ln.Close()
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("ssh: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(sessCtx, c)
		}()
	}
}

func remoteAddr(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// splitLogin splits "alice@web01" into user and target; user names have no '@', so the first one
// separates them and a target may itself contain '@' (an account on the target).
func splitLogin(login string) (user, target string) {
	user, target, _ = strings.Cut(login, "@")
	return user, target
}

// serverConfig builds the per-connection handshake configuration. It is per connection so the
// callbacks know the source address without a lookup.
func (s *Server) serverConfig(ctx context.Context, remote netip.Addr, remoteStr string) *ssh.ServerConfig {
	login := func(method, name string, check func(user string) (Principal, error)) (*ssh.Permissions, error) {
		user, target := splitLogin(name)
		ev := AuditEvent{Time: time.Now(), User: user, Target: target, Remote: remoteStr, Method: method}
		if !s.limiter.Allow(remote) {
			ev.Kind, ev.Cause = AuditLoginFailed, ErrRateLimited
			s.cfg.Audit(ev)
			return nil, ErrRateLimited
		}
		p, err := check(user)
		if err != nil {
			s.limiter.Fail(remote)
			ev.Kind, ev.Cause = AuditLoginFailed, err
			s.cfg.Audit(ev)
			s.log.Info("ssh login failed", "user", user, "remote", remoteStr, "method", method, "err", err)
			return nil, fmt.Errorf("ssh: login %s: %w", user, err)
		}
		ev.Kind, ev.User = AuditLoginOK, p.User
		s.cfg.Audit(ev)
		return &ssh.Permissions{Extensions: map[string]string{
			extUser: p.User, extRole: p.Role, extTarget: target,
		}}, nil
	}
	cfg := &ssh.ServerConfig{
		MaxAuthTries: 6,
		PasswordCallback: func(md ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			defer clear(password) // keep the secret's lifetime as short as the check
			return login("password", md.User(), func(user string) (Principal, error) {
				return s.cfg.Auth.Password(ctx, user, password, remote)
			})
		},
		PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			return login("publickey", md.User(), func(user string) (Principal, error) {
				return s.cfg.Auth.PublicKey(ctx, user, key, remote)
			})
		},
	}
	if s.cfg.Banner != "" {
		banner := strings.ReplaceAll(strings.ReplaceAll(s.cfg.Banner, "\r\n", "\n"), "\n", "\r\n")
		cfg.BannerCallback = func(ssh.ConnMetadata) string { return banner }
	}
	cfg.AddHostKey(s.cfg.HostSigner)
	return cfg
}

// serveConn runs one connection from handshake to the end of its session.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	remote := remoteAddr(c.RemoteAddr())
	if !s.limiter.Allow(remote) {
		// Refusing before the key exchange spares the CPU a flood would cost.
		s.cfg.Audit(AuditEvent{Time: time.Now(), Kind: AuditLoginFailed, Remote: c.RemoteAddr().String(), Cause: ErrRateLimited})
		return
	}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	conn, chans, reqs, err := ssh.NewServerConn(c, s.serverConfig(ctx, remote, c.RemoteAddr().String()))
	stopped := stop()
	if err != nil || !stopped {
		if err == nil {
			conn.Close()
		}
		s.log.Debug("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	ext := conn.Permissions.Extensions
	sess := newSession(ctx, s, conn, Principal{User: ext[extUser], Role: ext[extRole]}, ext[extTarget], conn.RemoteAddr().String())
	sess.run(chans, reqs)
}
