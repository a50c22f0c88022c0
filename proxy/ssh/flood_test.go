package ssh

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

func TestWrongPasswordAuditedAndRateLimited(t *testing.T) {
	g := startGateway(t, nil, func(c *Config) { c.MaxAuthFailuresPerMinute = 3 })
	for i := range 5 {
		_, err := dial(g.addr, "", "alice@web01", ssh.Password("nope"))
		if err == nil {
			t.Fatalf("attempt %d: login with a wrong password succeeded", i)
		}
	}
	if n := g.auth.calls.Load(); n != 3 {
		t.Errorf("authenticator called %d times, want 3 (the limit)", n)
	}
	if n := g.audit.find(AuditLoginFailed, ErrBadCredential); n != 3 {
		t.Errorf("%d bad-credential failures audited, want 3", n)
	}
	if n := g.audit.find(AuditLoginFailed, ErrRateLimited); n < 2 {
		t.Errorf("%d rate-limited attempts audited, want at least 2", n)
	}
	// The right password is refused too while the address is over the limit.
	if _, err := dial(g.addr, "", "alice@web01", ssh.Password(gatewayPassword)); err == nil {
		t.Error("login allowed from a rate-limited address")
	}
}

// TestFloodDoesNotLockOutOthers sends 1,000 bad logins from 127.0.0.1 while alice logs in from
// 127.0.0.2. Bounded: 1,000 attempts, 16 at a time, each with the client's own timeouts.
func TestFloodDoesNotLockOutOthers(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	const attempts, workers = 1000, 16
	var next, succeeded atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= attempts {
				if c, err := dial(g.addr, "127.0.0.1", "mallory@web01", ssh.Password("guess")); err == nil {
					succeeded.Add(1)
					c.Close()
				}
			}
		}()
	}
	// Good logins from another address during the flood.
	for range 3 {
		c, err := dial(g.addr, "127.0.0.2", "alice@web01", ssh.Password(gatewayPassword))
		if err != nil {
			t.Fatalf("good login during the flood: %v", err)
		}
		out, err := mustSession(t, c).Output("echo fine")
		if err != nil || strings.TrimSpace(string(out)) != "fine" {
			t.Fatalf("session during the flood: %q %v", out, err)
		}
		c.Close()
	}
	wg.Wait()
	if succeeded.Load() != 0 {
		t.Fatalf("%d bad logins succeeded", succeeded.Load())
	}
	// Only the burst reached the authenticator (plus tokens refilled during the run, plus
	// alice's three logins).
	if n := g.auth.calls.Load(); n > 40 {
		t.Errorf("authenticator called %d times during a flood; the limiter should refuse most", n)
	}
}

func mustSession(t *testing.T, c *ssh.Client) *ssh.Session {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSudoPasswordRedacted types the target password at a real sudo prompt and checks it never
// reaches the recording: only a TypeRedacted event stands for it.
func TestSudoPasswordRedacted(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c := mustDial(t, g.addr, "alice@web01")
	sess, in, out := shell(t, c)
	rec := g.rec.next(t)
	waitFor(t, out, "$ ")
	in.Write([]byte("sudo -k; sudo echo sudo-ok-$((2+2))\n"))
	waitFor(t, out, "password for vigiltest")
	// Typed as a person would: one key at a time.
	for _, c := range d.Password {
		in.Write([]byte(string(c)))
	}
	in.Write([]byte("\r"))
	waitFor(t, out, "sudo-ok-4")
	in.Write([]byte("exit\n"))
	sess.Wait()
	c.Close()
	rec.wait(t)
	for _, ev := range rec.events {
		if strings.Contains(string(ev.Payload), d.Password) {
			t.Fatalf("the sudo password is in a recorded %v event", ev.Type)
		}
	}
	if rec.count(capture.TypeRedacted) == 0 {
		t.Fatal("no TypeRedacted event for the password")
	}
	var withheld uint32
	for _, ev := range rec.events {
		if ev.Type == capture.TypeRedacted {
			n, err := capture.ParseRedacted(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			withheld += n
		}
	}
	if withheld < uint32(len(d.Password)) {
		t.Errorf("%d bytes withheld, want at least the password's %d", withheld, len(d.Password))
	}
	if !errors.Is(rec.cause, ErrUserExit) {
		t.Errorf("cause = %v", rec.cause)
	}
}
