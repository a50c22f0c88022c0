package ssh

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

func TestShellRecordedWithResize(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c := mustDial(t, g.addr, "alice@web01")
	sess, in, out := shell(t, c)
	rec := g.rec.next(t)
	if rec.info.User != "alice" || rec.info.Target != "web01" || rec.info.Account != "vigiltest" ||
		rec.info.Cols != 120 || rec.info.Rows != 40 || rec.info.Protocol != "ssh" {
		t.Errorf("session info = %+v", rec.info)
	}
	if err := sess.WindowChange(30, 100); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("echo size=$(stty size) hello-$((6*7))\n"))
	waitFor(t, out, "hello-42")
	waitFor(t, out, "size=30 100")
	in.Write([]byte("exit\n"))
	if err := sess.Wait(); err != nil {
		t.Fatalf("shell exit: %v", err)
	}
	c.Close()
	rec.wait(t)
	if !errors.Is(rec.cause, ErrUserExit) {
		t.Errorf("cause = %v, want ErrUserExit", rec.cause)
	}
	if got := rec.text(capture.TypeOutput); !strings.Contains(got, "hello-42") {
		t.Errorf("recorded output lacks the command's output: %q", got)
	}
	if got := rec.text(capture.TypeInput); !strings.Contains(got, "echo size=") {
		t.Errorf("recorded input lacks the typed command: %q", got)
	}
	var sizes [][2]uint16
	for _, ev := range rec.events {
		if ev.Type == capture.TypeResize {
			cols, rows, err := capture.ParseResize(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, [2]uint16{cols, rows})
		}
	}
	if len(sizes) != 2 || sizes[0] != [2]uint16{120, 40} || sizes[1] != [2]uint16{100, 30} {
		t.Errorf("resize events = %v, want [120x40 100x30]", sizes)
	}
	if g.audit.find(AuditLoginOK, nil) != 1 || g.audit.find(AuditSessionStart, nil) != 1 ||
		g.audit.find(AuditSessionEnd, ErrUserExit) != 1 {
		t.Errorf("audit trail incomplete: %+v", g.audit.events)
	}
}

func TestExecEnvAndExitStatus(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c := mustDial(t, g.addr, "alice@web01")

	tests := []struct {
		name     string
		cmd      string
		env      map[string]string
		wantOut  string
		wantExit int
	}{
		{"exit status", "echo out; exit 3", nil, "out\n", 3},
		{"env passes", "echo $VIGIL_COLOR", map[string]string{"VIGIL_COLOR": "teal"}, "teal\n", 0},
		{"stderr", "echo oops >&2", nil, "oops\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			for k, v := range tt.env {
				if err := sess.Setenv(k, v); err != nil {
					t.Fatal(err)
				}
			}
			out, err := sess.CombinedOutput(tt.cmd)
			code := 0
			var ee *ssh.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitStatus()
			} else if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.wantOut || code != tt.wantExit {
				t.Fatalf("got %q exit %d, want %q exit %d", out, code, tt.wantOut, tt.wantExit)
			}
		})
	}
	c.Close()
	rec := g.rec.next(t).wait(t)
	markers := rec.text(capture.TypeMarker)
	for _, want := range []string{`"command":"echo out; exit 3"`, `"kind":"exit-status","status":3`} {
		if !strings.Contains(markers, want) {
			t.Errorf("markers lack %s: %s", want, markers)
		}
	}
	channels := map[uint16]bool{}
	for _, ev := range rec.events {
		channels[ev.Channel] = true
	}
	if len(channels) != 3 {
		t.Errorf("events on %d channels, want 3 (one per exec)", len(channels))
	}
}

func TestUpstreamFailuresAreOneClearLine(t *testing.T) {
	d := testenv.StartSSHD(t)
	good := sshdUpstream(d, "web01")
	closedPort := func() string {
		// A port that was free a moment ago: connection refused.
		ln, err := testListen()
		if err != nil {
			t.Fatal(err)
		}
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	badCred := good
	badCred.Target = "badcred"
	badCred.Auth = []ssh.AuthMethod{ssh.Password("wrong-vaulted-Pw-3x")}
	addRunSecret("wrong-vaulted-Pw-3x")
	badKey := good
	badKey.Target = "badkey"
	badKey.HostKeyCallback = ssh.FixedHostKey(hostSigner(t).PublicKey())
	down := good
	down.Target, down.Addr = "down", closedPort

	g := startGateway(t, map[string]Upstream{"badcred": badCred, "badkey": badKey, "down": down}, nil)
	tests := []struct {
		login string
		want  string
		cause error
	}{
		{"alice@down", "vigil: target down is unreachable: connection refused", ErrUpstream},
		{"alice@badcred", "vigil: target badcred refused the vaulted credential", ErrUpstream},
		{"alice@badkey", "vigil: host key of badkey does not match the pinned key", ErrUpstream},
		{"alice@nosuch", "vigil: no such target: nosuch", ErrNoSuchTarget},
	}
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			c := mustDial(t, g.addr, tt.login)
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			var stderr, stdout bytes.Buffer
			sess.Stderr, sess.Stdout = &stderr, &stdout
			err = sess.Run("echo should-not-run")
			var ee *ssh.ExitError
			if !errors.As(err, &ee) || ee.ExitStatus() == 0 {
				t.Errorf("err = %v, want a non-zero exit status", err)
			}
			if got := strings.TrimSpace(stderr.String()); got != tt.want {
				t.Errorf("stderr = %q, want %q", got, tt.want)
			}
			if strings.Contains(stderr.String(), "wrong-vaulted") || stdout.Len() != 0 {
				t.Errorf("unexpected output: stdout %q stderr %q", stdout.String(), stderr.String())
			}
			if g.audit.find(AuditRefused, tt.cause) == 0 {
				t.Errorf("no refusal audited with cause %v", tt.cause)
			}
		})
	}
}

func TestRecordingUnavailableRefusesSession(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	g.rec.failStart = errors.New("spool full")
	c := mustDial(t, g.addr, "alice@web01")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	err = sess.Run("echo hi")
	if err == nil {
		t.Fatal("session ran without a recording")
	}
	if got := strings.TrimSpace(stderr.String()); got != "vigil: recording unavailable, session refused" {
		t.Errorf("stderr = %q", got)
	}
	if g.audit.find(AuditRefused, ErrRecordingFailure) != 1 {
		t.Errorf("refusal not audited as a recording failure")
	}
}

func TestEndCauses(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)

	t.Run("target closes mid-session", func(t *testing.T) {
		c := mustDial(t, g.addr, "alice@web01")
		_, in, out := shell(t, c)
		rec := g.rec.next(t)
		in.Write([]byte("echo ready-$((1+1))\n"))
		waitFor(t, out, "ready-2")
		// The shell's parent is the target's sshd process for this connection.
		in.Write([]byte("kill -9 $PPID\n"))
		rec.wait(t)
		if !errors.Is(rec.cause, ErrTargetClosed) {
			t.Errorf("cause = %v, want ErrTargetClosed", rec.cause)
		}
		waitFor(t, out, "vigil: target web01 closed the connection")
	})
	t.Run("client vanishes", func(t *testing.T) {
		c := mustDial(t, g.addr, "alice@web01")
		_, in, out := shell(t, c)
		rec := g.rec.next(t)
		in.Write([]byte("echo ready-$((2+2))\n"))
		waitFor(t, out, "ready-4")
		c.Conn.Close() // the TCP connection drops, no exit, no channel close
		rec.wait(t)
		if !errors.Is(rec.cause, ErrClientGone) {
			t.Errorf("cause = %v, want ErrClientGone", rec.cause)
		}
	})
}

func TestIdleTimeoutAndShutdown(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, func(c *Config) {
		c.IdleTimeout = 500 * time.Millisecond
	})
	c := mustDial(t, g.addr, "alice@web01")
	_, _, out := shell(t, c)
	rec := g.rec.next(t).wait(t)
	if !errors.Is(rec.cause, ErrIdleTimeout) {
		t.Errorf("cause = %v, want ErrIdleTimeout", rec.cause)
	}
	waitFor(t, out, "vigil: session ended: idle timeout")

	g2 := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c2 := mustDial(t, g2.addr, "alice@web01")
	_, in2, out2 := shell(t, c2)
	rec2 := g2.rec.next(t)
	in2.Write([]byte("echo up-$((3+3))\n"))
	waitFor(t, out2, "up-6")
	g2.cancel()
	rec2.wait(t)
	if !errors.Is(rec2.cause, ErrShutdown) {
		t.Errorf("cause = %v, want ErrShutdown", rec2.cause)
	}
	waitFor(t, out2, "gateway shutting down")
}

func TestMenuPicksTarget(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c := mustDial(t, g.addr, "alice")
	sess, in, out := shell(t, c)
	waitFor(t, out, "1) web01")
	in.Write([]byte("1\r"))
	rec := g.rec.next(t)
	// Bash may flush typeahead while it sets up the terminal: type after its prompt.
	waitFor(t, out, "$ ")
	if rec.info.Target != "web01" {
		t.Fatalf("target = %q", rec.info.Target)
	}
	in.Write([]byte("echo picked-$((5*5))\n"))
	waitFor(t, out, "picked-25")
	in.Write([]byte("exit\n"))
	if err := sess.Wait(); err != nil {
		t.Fatalf("shell exit: %v", err)
	}
	c.Close()
	rec.wait(t)
	if !strings.Contains(rec.text(capture.TypeOutput), "picked-25") {
		t.Error("menu session output not recorded")
	}
}

func TestForwardingRefused(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c := mustDial(t, g.addr, "alice@web01")
	if conn, err := c.Dial("tcp", d.Addr); err == nil {
		conn.Close()
		t.Fatal("direct-tcpip was allowed without Upstream.PortForward")
	}
	if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Fatal("tcpip-forward was allowed without Upstream.PortForward")
	}
	if !g.audit.findDetail(AuditRefused, "direct-tcpip") || !g.audit.findDetail(AuditRefused, "tcpip-forward") {
		t.Errorf("refusals not audited: %+v", g.audit.events)
	}
}

func TestForwardingAllowed(t *testing.T) {
	d := testenv.StartSSHD(t)
	up := sshdUpstream(d, "web01")
	up.PortForward = true
	g := startGateway(t, map[string]Upstream{"web01": up}, nil)
	c := mustDial(t, g.addr, "alice@web01")
	// Forward to the target's own sshd and read its version line through the tunnel.
	conn, err := c.Dial("tcp", d.Addr)
	if err != nil {
		t.Fatalf("direct-tcpip: %v", err)
	}
	buf := make([]byte, 8)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(buf); err != nil || !bytes.HasPrefix(buf, []byte("SSH-2.0")) {
		t.Fatalf("read through tunnel: %q %v", buf, err)
	}
	conn.Close()
	c.Close()
	rec := g.rec.next(t).wait(t)
	if !strings.Contains(rec.text(capture.TypeOutput), "SSH-2.0-OpenSSH") {
		t.Error("tunnel bytes not recorded")
	}
}
