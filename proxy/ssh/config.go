package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/proxy/telnet"
)

// Sentinel errors. Policy and Authenticator implementations return (or wrap) the first three; the
// rest are the causes a session ends with, passed to Recording.Close and AuditEvent.Cause.
var (
	ErrDenied        = errors.New("access denied")
	ErrNoSuchTarget  = errors.New("no such target")
	ErrBadCredential = errors.New("bad credential")

	ErrRateLimited      = errors.New("too many failed logins")
	ErrUserExit         = errors.New("user exit")
	ErrTargetClosed     = errors.New("target closed the connection")
	ErrClientGone       = errors.New("client vanished")
	ErrIdleTimeout      = errors.New("idle timeout")
	ErrRecordingFailure = errors.New("recording failure")
	ErrShutdown         = errors.New("gateway shutting down")
	ErrUpstream         = errors.New("upstream failure")
	// ErrTerminated is the cause of a session an auditor ended; the cause itself is a
	// *TerminatedError naming who and why.
	ErrTerminated = errors.New("terminated by an auditor")

	// Errors of the live-session controls (live.go).
	ErrNoSession     = errors.New("no such live session")
	ErrAlreadyPaused = errors.New("session already paused")
	ErrNotPaused     = errors.New("session not paused")
	ErrNoActor       = errors.New("no actor named")
)

// Principal is an authenticated Vigil user.
type Principal struct {
	User string
	Role string
}

// Authenticator checks a user's credential. It returns an error wrapping ErrBadCredential for a
// wrong password or key, ErrDenied if the user may not log in at all, and any other error for a
// failure of its own; every error is a failed login to the gateway. The password slice is zeroed by
// the caller after the call returns, so implementations must not keep it.
type Authenticator interface {
	Password(ctx context.Context, user string, password []byte, remote netip.Addr) (Principal, error)
	PublicKey(ctx context.Context, user string, key ssh.PublicKey, remote netip.Addr) (Principal, error)
}

// Upstream is a target resolved for a principal: where to dial, how to log in, and what the session
// may do beyond a shell.
type Upstream struct {
	Target, Account, Addr string
	Auth                  []ssh.AuthMethod
	HostKeyCallback       ssh.HostKeyCallback
	PortForward           bool
	AgentForward          bool
	// Protocol is "telnet" for a telnet target ("" or "ssh": SSH). A telnet target logs in with
	// Password at its prompts; Telnet, if set, overrides the prompts and timeouts.
	Protocol string
	Password []byte
	Telnet   *telnet.Config
}

// Policy decides which targets a principal may reach. Resolve returns an error wrapping
// ErrNoSuchTarget for an unknown target and ErrDenied for one the principal may not use.
type Policy interface {
	// Targets lists the targets the principal may pick from the menu.
	Targets(ctx context.Context, p Principal) ([]string, error)
	Resolve(ctx context.Context, p Principal, target string) (Upstream, error)
}

// SessionInfo describes a session to the Recorder.
type SessionInfo struct {
	ID, User, Target, Account, Protocol, Remote string
	Start                                       time.Time
	Cols, Rows                                  int
	Command                                     string
}

// Recorder records sessions.
type Recorder interface {
	// Start begins recording the session from ring (it takes a Lossless reader before returning);
	// the returned Recording's Close(cause) waits until everything is persisted; an error from
	// Start refuses the session (fail closed: no recording, no session).
	Start(ctx context.Context, s SessionInfo, ring *capture.Ring) (Recording, error)
}

// Recording is a recording in progress. Close is called once, after the ring is closed, with the
// cause the session ended; it returns when the recording is persisted.
type Recording interface {
	Close(cause error) error
}

// AuditEvent is one line of the audit trail. It never carries a secret: no password, no key
// material, no credential of the target.
type AuditEvent struct {
	Time    time.Time
	Kind    string // AuditLoginOK, AuditLoginFailed, AuditSessionStart, AuditSessionEnd, AuditRefused
	Session string
	User    string
	Target  string
	Remote  string
	Method  string // "password" or "publickey" for logins
	Detail  string // e.g. the refused channel type
	Cause   error  // why a login failed, a session ended or a request was refused
	// Actor is who took a control action (pause, resume, terminate) on a live session, e.g.
	// "os:carol"; Detail repeats it with the reason for sinks that keep only Detail.
	Actor string
}

// Audit event kinds.
const (
	AuditLoginOK      = "login-ok"
	AuditLoginFailed  = "login-failed"
	AuditSessionStart = "session-start"
	AuditSessionEnd   = "session-end"
	AuditRefused      = "refused"
	AuditPause        = "session-pause"
	AuditResume       = "session-resume"
	AuditTerminate    = "session-terminate"
)

// Config configures a Server. Zero durations and limits take the defaults of DefaultConfig.
type Config struct {
	HostSigner  ssh.Signer
	Banner      string
	DialTimeout time.Duration
	IdleTimeout time.Duration // 0: sessions never time out
	Auth        Authenticator
	Policy      Policy
	Recorder    Recorder
	Ring        capture.Config
	Logger      *slog.Logger
	// Audit receives login ok/failed and session start/end events with their cause; never secrets.
	Audit func(AuditEvent)
	// MaxAuthFailuresPerMinute is the failed logins allowed per source address; over it further
	// attempts from that address are refused without asking the Authenticator.
	MaxAuthFailuresPerMinute int
	// NewScreen makes the terminal screen model that live shadows start from (cmd wires
	// encode/term, which proxy may not import). Nil: a crude model that replays the last output.
	NewScreen func(cols, rows int) Screen
}

// DefaultConfig returns the defaults; the caller sets HostSigner, Auth, Policy and Recorder.
func DefaultConfig() Config {
	return Config{
		Banner:                   "This session is recorded by Vigil.\n",
		DialTimeout:              5 * time.Second,
		Ring:                     capture.DefaultConfig(),
		MaxAuthFailuresPerMinute: 10,
	}
}

// Validate names the first missing or bad field.
func (c *Config) Validate() error {
	switch {
	case c.HostSigner == nil:
		return fmt.Errorf("ssh config: HostSigner is required")
	case c.Auth == nil:
		return fmt.Errorf("ssh config: Auth is required")
	case c.Policy == nil:
		return fmt.Errorf("ssh config: Policy is required")
	case c.Recorder == nil:
		return fmt.Errorf("ssh config: Recorder is required")
	case c.DialTimeout < 0:
		return fmt.Errorf("ssh config: DialTimeout must not be negative")
	case c.IdleTimeout < 0:
		return fmt.Errorf("ssh config: IdleTimeout must not be negative")
	case c.MaxAuthFailuresPerMinute < 0:
		return fmt.Errorf("ssh config: MaxAuthFailuresPerMinute must not be negative")
	}
	return nil
}
