package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
	"github.com/seed18fc72c3/vigil/vault"
)

// Errors of Desktops.Open, besides the dial's and the recorder's.
var (
	ErrDesktopDenied   = errors.New("access denied")
	ErrNoDesktopTarget = errors.New("no such graphical target")
)

// DesktopRecorder records graphical sessions into the store: H.264 video segments beside an
// event log of the input (encode/video), sealed like text recordings.
type DesktopRecorder struct {
	Store   *Recordings
	Options video.Options
	Log     *slog.Logger
	// OCR, when set, reads each session's screen into the search index as it runs.
	OCR *OCRFeed
}

var _ desktop.Recorder = (*DesktopRecorder)(nil)

func (g *DesktopRecorder) Start(ctx context.Context, s desktop.Info, ring *capture.Ring) (desktop.Recording, error) {
	meta := encode.SessionMeta{ID: s.ID, User: s.User, Target: s.Target, Account: s.Account,
		Protocol: s.Protocol, Remote: s.Remote, Start: ring.Start(), Cols: s.Width, Rows: s.Height}
	sink, err := g.Store.Sink(meta)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", s.ID, err)
	}
	opts := g.Options
	// A recording that cannot be persisted ends its session at once (fail closed).
	opts.OnFailure = func(err error) { ring.Fail(fmt.Errorf("%w: %w", desktop.ErrRecordingFailure, err)) }
	rd := ring.NewReader(capture.Lossless)
	if g.OCR != nil {
		g.OCR.Start(ctx, index.SessionInfo{ID: s.ID, User: s.User, Target: s.Target, Protocol: s.Protocol, Start: meta.Start}, ring)
	}
	rec := &gatewayRecording{causeSet: make(chan struct{}), done: make(chan struct{})}
	r := video.NewRecorder(meta, sink, opts)
	go func() {
		defer close(rec.done)
		sum, err := r.Run(context.WithoutCancel(ctx), rd, rec.waitCause)
		rec.err = err
		lvl := slog.LevelInfo
		if err != nil {
			lvl = slog.LevelError
		}
		g.Log.Log(ctx, lvl, "desktop recording closed", "session", s.ID, "user", s.User, "target", s.Target,
			"segments", len(sum.Segments), "redactions", sum.Redactions, "cause", sum.Cause, "err", err)
	}()
	return rec, nil
}

// Desktops opens graphical sessions (access check, vaulted credential, dial, recording) and
// issues the one-time passwords of the native VNC front end. Sessions live until they end or
// Ctx ends (serve's context), not as long as the request that opened them.
type Desktops struct {
	Ctx         context.Context
	Access      *Access
	Recorder    desktop.Recorder
	Registry    *desktop.Registry
	OTPs        *vnc.OTPs
	Keys        desktop.KeyPolicy
	Ring        capture.Config // zero: desktop.RingConfig()
	DialTimeout time.Duration  // default 10 s
	// Audit is the gateway's audit sink (serve's auditTo): session start/end with cause, live
	// controls, one-time passwords issued, used and refused. Never a password.
	Audit func(proxyssh.AuditEvent)
	Log   *slog.Logger
	// Listen is the VNC front end's address, told to those who get a one-time password.
	Listen string
	// Clipboard lets VNC viewers' clipboard text pass to and from targets (config vnc.clipboard;
	// the web UI's desktops follow the same setting through player.Config).
	Clipboard bool
	// RDP is how RDP targets are dialed (the worker, timeouts).
	RDP RDPConfig
}

// Audit kinds of the one-time passwords.
const (
	AuditOTPIssued = "otp-issued"
	AuditOTPUsed   = vnc.ServerOTPUsed
	AuditOTPFailed = vnc.ServerOTPFailed
)

// desktopTarget authorizes user for target and returns the target and its vaulted password.
// The caller zeroes the password.
func (d *Desktops) desktopTarget(user, target string) (access.Target, access.Grant, []byte, error) {
	t, g, err := d.Access.Store.Authorize(user, target)
	switch {
	case errors.Is(err, access.ErrNoSuchTarget):
		return t, g, nil, fmt.Errorf("%w: %q", ErrNoDesktopTarget, target)
	case errors.Is(err, access.ErrDenied):
		return t, g, nil, fmt.Errorf("%w: %w", ErrDesktopDenied, err)
	case err != nil:
		return t, g, nil, err
	}
	if !graphical(t.Protocol) {
		return t, g, nil, fmt.Errorf("%w: target %q speaks %s", ErrNoDesktopTarget, t.Name, t.Protocol)
	}
	secret, err := d.Access.Vault.Get(t.Name, g.Account)
	if errors.Is(err, vault.ErrNotFound) {
		return t, g, nil, fmt.Errorf("%w: no credential for %s@%s in the vault", ErrDesktopDenied, g.Account, t.Name)
	}
	if err != nil {
		return t, g, nil, fmt.Errorf("vault: %w", err)
	}
	clear(secret.PrivateKey)
	return t, g, secret.Password, nil
}

// graphical reports whether Desktops opens targets of protocol.
func graphical(protocol string) bool { return protocol == "vnc" || protocol == "rdp" }

// Open starts a graphical session for user (already authenticated) to target, from remote,
// through the front end via ("rfb", "web"), at the target's own size. It returns errors wrapping
// ErrNoDesktopTarget or ErrDesktopDenied, or the dial's or the recorder's error.
func (d *Desktops) Open(ctx context.Context, user, target, remote, via string) (*desktop.Session, error) {
	return d.OpenSize(ctx, user, target, remote, via, 0, 0)
}

// OpenSize is Open asking for a desktop of w x h (the browser's viewport; 0 for the target's
// choice). RDP targets are dialed at that size; VNC targets keep theirs (the caller may Resize).
// A dial that fails is audited as refused with its cause (wrong password, changed certificate,
// unconfirmed logon), and that cause is in the error for the user.
func (d *Desktops) OpenSize(ctx context.Context, user, target, remote, via string, w, h int) (*desktop.Session, error) {
	t, g, pw, err := d.desktopTarget(user, target)
	if err != nil {
		d.audit(proxyssh.AuditEvent{Kind: proxyssh.AuditRefused, User: user, Target: target, Remote: remote,
			Detail: "desktop via " + via, Cause: err})
		return nil, err
	}
	var tg desktop.Target
	if t.Protocol == "rdp" {
		tg, err = d.dialRDP(ctx, t, g.Account, pw, w, h)
	} else {
		tg, err = d.dialVNC(ctx, t, pw)
	}
	clear(pw)
	if err != nil {
		err = fmt.Errorf("dial %s: %w", t.Name, err)
		d.audit(proxyssh.AuditEvent{Kind: proxyssh.AuditRefused, User: user, Target: t.Name, Remote: remote,
			Detail: "desktop via " + via, Cause: err})
		return nil, err
	}
	parent := d.Ctx
	if parent == nil {
		parent = context.Background()
	}
	return desktop.Start(parent, desktop.Config{Ring: d.Ring, Keys: d.Keys, Recorder: d.Recorder,
		Registry: d.Registry, Audit: d.auditSession, Logger: d.Log},
		desktop.Info{User: user, Target: t.Name, Account: g.Account, Remote: remote, Protocol: t.Protocol, Via: via}, tg)
}

func (d *Desktops) dialVNC(ctx context.Context, t access.Target, pw []byte) (desktop.Target, error) {
	timeout := d.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return vnc.DialTarget(dctx, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), pw, vnc.Options{Shared: true})
}

// IssueOTP returns a one-time password for user to open target from a VNC viewer, after checking
// the grant (so a password is never issued for a target the user may not open). The password is
// audited as issued, never itself written anywhere.
func (d *Desktops) IssueOTP(user, target string) (string, error) {
	t, _, pw, err := d.desktopTarget(user, target)
	clear(pw)
	if err != nil {
		return "", err
	}
	otp, err := d.OTPs.Issue(user, t.Name)
	if err != nil {
		return "", err
	}
	d.audit(proxyssh.AuditEvent{Kind: AuditOTPIssued, User: user, Target: t.Name,
		Detail: "valid " + d.OTPs.TTL.String()})
	return otp, nil
}

// ServeVNC runs the native VNC front end on ln until ctx ends.
func (d *Desktops) ServeVNC(ctx context.Context, ln net.Listener) error {
	srv, err := vnc.NewServer(vnc.ServerConfig{
		OTPs:      d.OTPs,
		Clipboard: d.Clipboard,
		Open: func(ctx context.Context, g vnc.Grant, remote string) (*desktop.Session, error) {
			return d.Open(ctx, g.User, g.Target, remote, "rfb")
		},
		Audit: func(ev vnc.ServerEvent) {
			d.audit(proxyssh.AuditEvent{Time: ev.Time, Kind: ev.Kind, User: ev.User, Target: ev.Target,
				Remote: ev.Remote, Session: ev.Session, Cause: ev.Err})
		},
		Logger: d.Log,
	})
	if err != nil {
		return err
	}
	d.Log.Info("vnc front end listening", "addr", ln.Addr().String())
	return srv.Serve(ctx, ln)
}

func (d *Desktops) auditSession(ev desktop.AuditEvent) {
	d.audit(proxyssh.AuditEvent{Time: ev.Time, Kind: ev.Kind, Session: ev.Session, User: ev.User,
		Target: ev.Target, Remote: ev.Remote, Detail: ev.Detail, Cause: ev.Cause, Actor: ev.Actor})
}

func (d *Desktops) audit(ev proxyssh.AuditEvent) {
	if d.Audit == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	d.Audit(ev)
}
