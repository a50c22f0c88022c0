package ssh

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/proxy/telnet"
)

func telnetUpstream(td *testenv.Telnetd, name, password string) Upstream {
	return Upstream{Target: name, Account: td.User, Addr: td.Addr, Protocol: "telnet", Password: []byte(password)}
}

// TestTelnetTargetThroughGateway: the user's leg is SSH, the target's is telnet (real
// inetutils-telnetd); recorded like any session, with the vaulted password nowhere in the ring.
func TestTelnetTargetThroughGateway(t *testing.T) {
	td := testenv.StartTelnetd(t)
	addRunSecret(td.Password)
	g := startGateway(t, map[string]Upstream{
		"router1": telnetUpstream(td, "router1", td.Password),
		"router2": telnetUpstream(td, "router2", "wrong-"+td.Password),
	}, nil)

	t.Run("shell", func(t *testing.T) {
		c := mustDial(t, g.addr, "alice@router1")
		sess, in, out := shell(t, c)
		rec := g.rec.next(t)
		if rec.info.Protocol != "telnet" || rec.info.Target != "router1" || rec.info.Cols != 120 || rec.info.Rows != 40 {
			t.Errorf("session info = %+v", rec.info)
		}
		in.Write([]byte("echo size=$(stty size) hello-$((6*7)) $TERM\r"))
		waitFor(t, out, "size=40 120 hello-42 xterm-256color")
		if err := sess.WindowChange(30, 100); err != nil {
			t.Fatal(err)
		}
		// The user's own typing at a password prompt goes through the redact tracker.
		in.Write([]byte("read -s -p 'Pass''word: ' v; echo; echo got-${#v} size=$(stty size)\r"))
		waitFor(t, out, "Password: ")
		in.Write([]byte("typed-secret-9\r"))
		waitFor(t, out, "got-14 size=30 100")
		in.Write([]byte("exit\r"))
		if err := sess.Wait(); err != nil {
			t.Fatalf("shell exit: %v (output %q)", err, out.String())
		}
		c.Close()
		rec.wait(t)
		if !errors.Is(rec.cause, ErrUserExit) {
			t.Errorf("cause = %v, want ErrUserExit", rec.cause)
		}
		if got := rec.text(capture.TypeOutput); !strings.Contains(got, "hello-42") {
			t.Errorf("recorded output lacks the command's output: %q", got)
		}
		for _, ev := range rec.events {
			if strings.Contains(string(ev.Payload), td.Password) {
				t.Fatalf("the vaulted password is in the recording (event type %v)", ev.Type)
			}
		}
		// Input is recorded (else the next check would prove nothing), but not the password.
		if input := rec.text(capture.TypeInput); !strings.Contains(input, "read -s") {
			t.Errorf("the typed commands are not recorded as input: %q", input)
		} else if strings.Contains(input, "typed-secret-9") {
			t.Error("the password the user typed at a prompt is recorded in clear")
		}
		redacted := 0
		for _, ev := range rec.events {
			if ev.Type == capture.TypeRedacted {
				redacted++
			}
		}
		if redacted == 0 {
			t.Error("no redaction recorded for the password typed at the prompt")
		}
	})

	t.Run("refused credential", func(t *testing.T) {
		c := mustDial(t, g.addr, "alice@router2")
		_, _, out := shell(t, c)
		waitFor(t, out, "vigil: target router2 refused the vaulted credential: the target said \"login incorrect\"")
	})

	t.Run("target never prompts", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		up := Upstream{Target: "mute", Account: "x", Addr: ln.Addr().String(), Protocol: "telnet", Password: []byte("p")}
		up.Telnet = telnetQuick()
		g.policy.targets["mute"] = up
		c := mustDial(t, g.addr, "alice@mute")
		_, _, out := shell(t, c)
		waitFor(t, out, "vigil: target mute: telnet login timed out: no login prompt")
	})
}

// TestTelnetTargetOpenSSHClient drives a telnet target with the real OpenSSH client.
func TestTelnetTargetOpenSSHClient(t *testing.T) {
	for _, tool := range []string{"sshpass", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian openssh-client, sshpass)", tool)
		}
	}
	td := testenv.StartTelnetd(t)
	addRunSecret(td.Password)
	g := startGateway(t, map[string]Upstream{"router1": telnetUpstream(td, "router1", td.Password)}, nil)
	host, port, _ := net.SplitHostPort(g.addr)
	cmd := exec.Command("sshpass", "-e", "ssh", "-tt", "-p", port, "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no", "alice@router1@"+host)
	cmd.Env = append(os.Environ(), "SSHPASS="+gatewayPassword)
	cmd.WaitDelay = 5 * time.Second // sshpass's child ssh holds the output pipe after a kill
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when ssh has exited; waitErr is its result
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill() // by pid: the one this test started
			<-done
		}
	})
	// stdin stays open until the shell is done: its EOF would hang up the telnet session.
	stdin.Write([]byte("echo via-openssh-$((6*7))\r"))
	waitFor(t, out, "via-openssh-42")
	stdin.Write([]byte("exit\r"))
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("ssh: %v\n%s", waitErr, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("ssh did not exit after exit; output %q", out.String())
	}
	rec := g.rec.next(t).wait(t)
	if rec.info.Protocol != "telnet" || !strings.Contains(rec.text(capture.TypeOutput), "via-openssh-42") {
		t.Errorf("recording: info %+v, output %q", rec.info, rec.text(capture.TypeOutput))
	}
}

func telnetQuick() *telnet.Config {
	cfg := telnet.DefaultConfig()
	cfg.LoginTimeout = time.Second
	return &cfg
}
