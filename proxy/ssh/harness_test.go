package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// gatewayPassword is alice's password at the gateway; the whole run's log must never contain it,
// nor the target's vaulted password (checked in TestMain).
const gatewayPassword = "gw-Secret-7Qx9"

var (
	logMu      sync.Mutex
	logBuf     bytes.Buffer
	secretsMu  sync.Mutex
	runSecrets = []string{gatewayPassword}
)

type lockedWriter struct{}

func (lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return logBuf.Write(p)
}

func addRunSecret(s string) {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	runSecrets = append(runSecrets, s)
}

// TestMain checks, after every test ran, that the log and audit output of the whole run holds no
// password: neither the user's nor the vaulted one.
func TestMain(m *testing.M) {
	code := m.Run()
	logMu.Lock()
	out := logBuf.String()
	logMu.Unlock()
	if code == 0 {
		if !strings.Contains(out, "ssh login failed") && !strings.Contains(out, "ssh session start") {
			// A log that is empty would pass the check below without proving anything.
			fmt.Fprintln(os.Stderr, "log capture: no gateway log lines captured in a run that logged in")
		}
		secretsMu.Lock()
		for _, s := range runSecrets {
			if strings.Contains(out, s) {
				fmt.Fprintf(os.Stderr, "FAIL: a password appears in the log output of the run\n")
				code = 1
			}
		}
		secretsMu.Unlock()
	}
	os.Exit(code)
}

// fakeAuth knows alice's password and one public key, and counts its calls.
type fakeAuth struct {
	calls atomic.Int64
	key   ssh.PublicKey
}

func (a *fakeAuth) Password(_ context.Context, user string, pw []byte, _ netip.Addr) (Principal, error) {
	a.calls.Add(1)
	if user == "alice" && string(pw) == gatewayPassword {
		return Principal{User: "alice", Role: "admin"}, nil
	}
	return Principal{}, ErrBadCredential
}

func (a *fakeAuth) PublicKey(_ context.Context, user string, key ssh.PublicKey, _ netip.Addr) (Principal, error) {
	a.calls.Add(1)
	if user == "alice" && a.key != nil && bytes.Equal(key.Marshal(), a.key.Marshal()) {
		return Principal{User: "alice", Role: "admin"}, nil
	}
	return Principal{}, ErrBadCredential
}

// fakePolicy maps target names to upstreams.
type fakePolicy struct{ targets map[string]Upstream }

func (p *fakePolicy) Targets(context.Context, Principal) ([]string, error) {
	var names []string
	for n := range p.targets {
		names = append(names, n)
	}
	return names, nil
}

func (p *fakePolicy) Resolve(_ context.Context, _ Principal, target string) (Upstream, error) {
	up, ok := p.targets[target]
	if !ok {
		return Upstream{}, ErrNoSuchTarget
	}
	return up, nil
}

// testRecorder takes a Lossless reader like the real recorder and keeps copies of every event.
type testRecorder struct {
	failStart error
	mu        sync.Mutex
	recs      []*testRecording
	started   chan *testRecording
}

type testRecording struct {
	info   SessionInfo
	done   chan struct{} // closed when the reader drained the closed ring
	closed chan struct{} // closed by Close
	events []capture.Event
	cause  error
}

func newTestRecorder() *testRecorder { return &testRecorder{started: make(chan *testRecording, 100)} }

func (r *testRecorder) Start(_ context.Context, s SessionInfo, ring *capture.Ring) (Recording, error) {
	if r.failStart != nil {
		return nil, r.failStart
	}
	rd := ring.NewReader(capture.Lossless)
	rec := &testRecording{info: s, done: make(chan struct{}), closed: make(chan struct{})}
	go func() {
		defer close(rec.done)
		for {
			ev, err := rd.Next(context.Background())
			if err != nil {
				return
			}
			ev.Payload = bytes.Clone(ev.Payload)
			rec.events = append(rec.events, ev)
		}
	}()
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	r.started <- rec
	return rec, nil
}

func (r *testRecording) Close(cause error) error {
	<-r.done
	r.cause = cause
	close(r.closed)
	return nil
}

// wait returns the recording once it is closed.
func (r *testRecording) wait(t *testing.T) *testRecording {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(20 * time.Second):
		t.Fatal("recording was not closed")
	}
	return r
}

func (r *testRecording) text(types ...capture.Type) string {
	var b strings.Builder
	for _, ev := range r.events {
		for _, ty := range types {
			if ev.Type == ty {
				b.Write(ev.Payload)
			}
		}
	}
	return b.String()
}

func (r *testRecording) count(ty capture.Type) int {
	n := 0
	for _, ev := range r.events {
		if ev.Type == ty {
			n++
		}
	}
	return n
}

func (r *testRecorder) next(t *testing.T) *testRecording {
	t.Helper()
	select {
	case rec := <-r.started:
		return rec
	case <-time.After(20 * time.Second):
		t.Fatal("no recording started")
		return nil
	}
}

// gateway is a running Server on 127.0.0.1 for one test.
type gateway struct {
	srv    *Server
	addr   string
	auth   *fakeAuth
	policy *fakePolicy
	rec    *testRecorder
	audit  *auditLog
	cancel context.CancelFunc
	done   chan error
}

type auditLog struct {
	mu     sync.Mutex
	events []AuditEvent
}

func (a *auditLog) add(ev AuditEvent) {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	// Audit lines go through the same log the secrecy check reads.
	fmt.Fprintf(lockedWriter{}, "audit %+v\n", ev)
}

func (a *auditLog) find(kind string, cause error) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, ev := range a.events {
		if ev.Kind == kind && (cause == nil || errors.Is(ev.Cause, cause)) {
			n++
		}
	}
	return n
}

func (a *auditLog) findDetail(kind, detail string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ev := range a.events {
		if ev.Kind == kind && strings.Contains(ev.Detail, detail) {
			return true
		}
	}
	return false
}

func hostSigner(t testing.TB) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sshdUpstream is the real sshd as a target with its vaulted password.
func sshdUpstream(d *testenv.SSHD, name string) Upstream {
	addRunSecret(d.Password)
	return Upstream{
		Target: name, Account: d.User, Addr: d.Addr,
		Auth:            []ssh.AuthMethod{ssh.Password(d.Password)},
		HostKeyCallback: ssh.FixedHostKey(d.HostKey),
	}
}

func startGateway(t *testing.T, targets map[string]Upstream, edit func(*Config)) *gateway {
	t.Helper()
	g := &gateway{
		auth:   &fakeAuth{},
		policy: &fakePolicy{targets: targets},
		rec:    newTestRecorder(),
		audit:  &auditLog{},
		done:   make(chan error, 1),
	}
	cfg := DefaultConfig()
	cfg.HostSigner = hostSigner(t)
	cfg.Auth, cfg.Policy, cfg.Recorder = g.auth, g.policy, g.rec
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Audit = g.audit.add
	cfg.DialTimeout = 3 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { g.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-g.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return after shutdown")
		}
	})
	return g
}

// dial logs in to the gateway with x/crypto's client, from local (empty: any) address.
func dial(addr, local, user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	conn, chans, reqs, err := ssh.NewClientConn(c, addr, &ssh.ClientConfig{
		User: user, Auth: auth, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return ssh.NewClient(conn, chans, reqs), nil
}

func mustDial(t *testing.T, addr, user string) *ssh.Client {
	t.Helper()
	c, err := dial(addr, "", user, ssh.Password(gatewayPassword))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// syncBuffer collects a session's output for polling.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until out contains want; the bound is a hang guard, not a timing target.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never contained %q; got:\n%s", want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shell opens a pty shell through client and returns its stdin and collected output.
func shell(t *testing.T, c *ssh.Client) (*ssh.Session, io.WriteCloser, *syncBuffer) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	sess.Stdout, sess.Stderr = out, out
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 40, 120, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v (output %q)", err, out.String())
	}
	return sess, in, out
}

// startBenchGateway is startGateway for benchmarks: a gateway to d that records into a test
// recorder, stopped when b ends.
func startBenchGateway(b *testing.B, d *testenv.SSHD) string {
	cfg := DefaultConfig()
	cfg.HostSigner = hostSigner(b)
	cfg.Auth, cfg.Policy, cfg.Recorder = &fakeAuth{}, &fakePolicy{targets: map[string]Upstream{"web01": sshdUpstream(d, "web01")}}, &discardRecorder{}
	srv, err := NewServer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// discardRecorder drains the ring losslessly like a recorder that keeps nothing: the cost
// measured is the gateway's, not the test recorder's copying.
type discardRecorder struct{}

type discardRecording struct{ done chan struct{} }

func (discardRecorder) Start(_ context.Context, _ SessionInfo, ring *capture.Ring) (Recording, error) {
	rd := ring.NewReader(capture.Lossless)
	r := &discardRecording{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			if _, err := rd.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	return r, nil
}

func (r *discardRecording) Close(error) error { <-r.done; return nil }
