package ssh

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// pipeFrontend is a Frontend over pipes: the test types into in and reads out.
type pipeFrontend struct {
	r       *io.PipeReader
	in      *io.PipeWriter
	out     syncBuffer
	resizes chan WindowSize

	mu     sync.Mutex
	closes int
}

func newPipeFrontend() *pipeFrontend {
	r, w := io.Pipe()
	return &pipeFrontend{r: r, in: w, resizes: make(chan WindowSize, 4)}
}

func (f *pipeFrontend) Read(p []byte) (int, error)  { return f.r.Read(p) }
func (f *pipeFrontend) Write(p []byte) (int, error) { return f.out.Write(p) }
func (f *pipeFrontend) Resizes() <-chan WindowSize  { return f.resizes }
func (f *pipeFrontend) Close() error {
	f.mu.Lock()
	f.closes++
	f.mu.Unlock()
	return f.r.Close()
}

func (f *pipeFrontend) type_(s string) { io.WriteString(f.in, s) }

func (f *pipeFrontend) closed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closes
}

// serveFrontend runs ServeFrontend in the background; the cause arrives on the channel.
func serveFrontend(ctx context.Context, g *gateway, fe Frontend, target string) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- g.srv.ServeFrontend(ctx, fe, FrontendInfo{User: Principal{User: "alice", Role: "user"},
			Target: target, Remote: "192.0.2.7:5555", Via: "web", Cols: 100, Rows: 30})
	}()
	return done
}

func waitCause(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("ServeFrontend did not return")
		return nil
	}
}

// TestFrontendSSH: a frontend session to a real sshd goes through the session core: banner,
// pty size, resize, output recorded, the sudo password typed at the no-echo prompt redacted, the
// session in the live registry under the frontend's user, audited as via web, and a clean exit.
func TestFrontendSSH(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	fe := newPipeFrontend()
	done := serveFrontend(context.Background(), g, fe, "web01")
	rec := g.rec.next(t)
	if rec.info.User != "alice" || rec.info.Target != "web01" || rec.info.Protocol != "ssh" ||
		rec.info.Cols != 100 || rec.info.Rows != 30 || rec.info.Remote != "192.0.2.7:5555" {
		t.Errorf("session info = %+v", rec.info)
	}
	waitFor(t, &fe.out, "$ ")
	if !strings.HasPrefix(fe.out.String(), "This session is recorded by Vigil.\r\n") {
		t.Errorf("the user was not told first that the session is recorded: %q", fe.out.String())
	}
	live := g.srv.Sessions()
	if len(live) != 1 || live[0].User != "alice" || live[0].Target != "web01" || live[0].ID != rec.info.ID {
		t.Fatalf("live registry = %+v", live)
	}
	fe.type_("echo size=$(stty size) $TERM web-$((6*7))\r")
	waitFor(t, &fe.out, "size=30 100 xterm-256color web-42")
	fe.resizes <- WindowSize{Cols: 0, Rows: 10} // nonsense: dropped
	fe.resizes <- WindowSize{Cols: 132, Rows: 43}
	// The resize is asynchronous to the input: ask until the target saw it.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(fe.out.String(), "now=43 132") {
		if time.Now().After(deadline) {
			t.Fatalf("the resize did not reach the target: %q", fe.out.String())
		}
		fe.type_("echo now=$(stty size)\r")
		time.Sleep(100 * time.Millisecond)
	}
	fe.type_("sudo -k; sudo echo sudo-ok-$((2+2))\r")
	waitFor(t, &fe.out, "password for vigiltest")
	for _, c := range d.Password {
		fe.type_(string(c))
	}
	fe.type_("\r")
	waitFor(t, &fe.out, "sudo-ok-4")
	fe.type_("exit\r")
	if err := waitCause(t, done); !errors.Is(err, ErrUserExit) {
		t.Errorf("cause = %v, want ErrUserExit", err)
	}
	rec.wait(t)
	if !errors.Is(rec.cause, ErrUserExit) {
		t.Errorf("recording cause = %v", rec.cause)
	}
	if got := rec.text(capture.TypeOutput); !strings.Contains(got, "web-42") || !strings.Contains(got, "sudo-ok-4") {
		t.Errorf("recorded output lacks the commands' output: %q", got)
	}
	if in := rec.text(capture.TypeInput); !strings.Contains(in, "sudo echo") {
		t.Errorf("input is not recorded (the redaction check would prove nothing): %q", in)
	}
	for _, ev := range rec.events {
		if strings.Contains(string(ev.Payload), d.Password) {
			t.Fatalf("the sudo password is in a recorded %v event", ev.Type)
		}
	}
	if rec.count(capture.TypeRedacted) == 0 {
		t.Error("no TypeRedacted event for the password")
	}
	if rec.count(capture.TypeResize) < 2 {
		t.Errorf("%d resize events recorded, want the initial size and the change", rec.count(capture.TypeResize))
	}
	if !g.audit.findDetail(AuditSessionStart, "via web") || g.audit.find(AuditSessionEnd, ErrUserExit) != 1 {
		t.Errorf("audit trail: %+v", g.audit.events)
	}
	if n := fe.closed(); n != 1 {
		t.Errorf("frontend closed %d times, want once", n)
	}
	if len(g.srv.Sessions()) != 0 {
		t.Error("the session is still in the live registry")
	}
}

// TestFrontendTelnet: a telnet target through a frontend, with the user's password redacted.
func TestFrontendTelnet(t *testing.T) {
	td := testenv.StartTelnetd(t)
	addRunSecret(td.Password)
	g := startGateway(t, map[string]Upstream{"router1": telnetUpstream(td, "router1", td.Password)}, nil)
	fe := newPipeFrontend()
	done := serveFrontend(context.Background(), g, fe, "router1")
	rec := g.rec.next(t)
	fe.type_("echo size=$(stty size) tn-$((6*7))\r")
	waitFor(t, &fe.out, "size=30 100 tn-42")
	fe.type_("read -s -p 'Pass''word: ' v; echo; echo got-${#v}\r")
	waitFor(t, &fe.out, "Password: ")
	fe.type_("typed-secret-9\r")
	waitFor(t, &fe.out, "got-14")
	fe.type_("exit\r")
	if err := waitCause(t, done); !errors.Is(err, ErrUserExit) {
		t.Errorf("cause = %v, want ErrUserExit", err)
	}
	rec.wait(t)
	if rec.info.Protocol != "telnet" || !strings.Contains(rec.text(capture.TypeOutput), "tn-42") {
		t.Errorf("recording: info %+v, output %q", rec.info, rec.text(capture.TypeOutput))
	}
	if in := rec.text(capture.TypeInput); !strings.Contains(in, "read -s") || strings.Contains(in, "typed-secret-9") {
		t.Errorf("input recorded as %q: want the command, not the secret", in)
	}
	for _, ev := range rec.events {
		if strings.Contains(string(ev.Payload), td.Password) {
			t.Fatalf("the vaulted password is in a recorded %v event", ev.Type)
		}
	}
}

// TestFrontendEnds: every other way a frontend session ends, with the cause returned and told.
func TestFrontendEnds(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)

	t.Run("no such target", func(t *testing.T) {
		fe := newPipeFrontend()
		err := waitCause(t, serveFrontend(context.Background(), g, fe, "db9"))
		if !errors.Is(err, ErrNoSuchTarget) {
			t.Errorf("cause = %v, want ErrNoSuchTarget", err)
		}
		if !strings.Contains(fe.out.String(), "no such target: db9") {
			t.Errorf("the user was not told: %q", fe.out.String())
		}
	})
	t.Run("no target named", func(t *testing.T) {
		fe := newPipeFrontend()
		if err := waitCause(t, serveFrontend(context.Background(), g, fe, "")); !errors.Is(err, ErrNoTarget) {
			t.Errorf("cause = %v, want ErrNoTarget", err)
		}
	})
	t.Run("user gone", func(t *testing.T) {
		fe := newPipeFrontend()
		done := serveFrontend(context.Background(), g, fe, "web01")
		rec := g.rec.next(t)
		waitFor(t, &fe.out, "$ ")
		fe.in.Close() // the websocket dropped
		if err := waitCause(t, done); !errors.Is(err, ErrClientGone) {
			t.Errorf("cause = %v, want ErrClientGone", err)
		}
		if rec.wait(t); !errors.Is(rec.cause, ErrClientGone) {
			t.Errorf("recording cause = %v", rec.cause)
		}
	})
	t.Run("terminated", func(t *testing.T) {
		fe := newPipeFrontend()
		done := serveFrontend(context.Background(), g, fe, "web01")
		rec := g.rec.next(t)
		waitFor(t, &fe.out, "$ ")
		l, err := g.srv.Session(rec.info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Terminate("carol", "policy breach"); err != nil {
			t.Fatal(err)
		}
		err = waitCause(t, done)
		var te *TerminatedError
		if !errors.As(err, &te) || te.By != "carol" {
			t.Errorf("cause = %v, want terminated by carol", err)
		}
		waitFor(t, &fe.out, "vigil: session terminated by carol: policy breach")
		rec.wait(t)
	})
	t.Run("shutdown", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		fe := newPipeFrontend()
		done := serveFrontend(ctx, g, fe, "web01")
		rec := g.rec.next(t)
		waitFor(t, &fe.out, "$ ")
		cancel()
		if err := waitCause(t, done); !errors.Is(err, ErrShutdown) {
			t.Errorf("cause = %v, want ErrShutdown", err)
		}
		waitFor(t, &fe.out, "gateway shutting down")
		rec.wait(t)
	})
}
