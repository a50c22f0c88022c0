package main

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// TestTargetTelnetLoginFlags: the telnet login options are stored with the target, listed, and
// refused on a target that does not speak telnet.
func TestTargetTelnetLoginFlags(t *testing.T) {
	data := t.TempDir()
	okVigil(t, data, "", "target", "add", "router1", "--host", "10.0.0.1", "--protocol", "telnet",
		"--telnet-user-prompt", "Benutzername:", "--telnet-user-prompt", "Kennung:",
		"--telnet-password-prompt", "Kennwort:", "--telnet-shell-prompt", "router1#",
		"--telnet-failure", "Zugriff verweigert", "--telnet-login-timeout", "40s")
	okVigil(t, data, "", "target", "add", "router2", "--host", "10.0.0.2", "--protocol", "telnet")
	out := okVigil(t, data, "", "target", "list")
	for _, want := range []string{"TELNET LOGIN", "user: Benutzername: | Kennung:", "password: Kennwort:",
		"shell: router1#", "failure: Zugriff verweigert", "timeout 40s"} {
		if !strings.Contains(out, want) {
			t.Errorf("target list lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "router2 ") && strings.Contains(line, "timeout") {
			t.Errorf("router2 has login options it was not given: %q", line)
		}
	}
	failVigil(t, data, "", "telnet login options on a ssh target", "target", "add", "web01", "--host", "h", "--telnet-shell-prompt", "$")
	failVigil(t, data, "", "login_timeout", "target", "add", "router3", "--host", "h", "--protocol", "telnet", "--telnet-login-timeout", "-1s")
	failVigil(t, data, "", "password_prompts[0]", "target", "add", "router3", "--host", "h", "--protocol", "telnet", "--telnet-password-prompt", " ")
}

// TestTargetTelnetPromptsReachTheDialer: the stored options are what the gateway logs in with.
// The same real telnetd logs in with the default patterns (TestTelnetTargetThroughServe); here
// the target's failure pattern is "$", which the shell prompt after the password contains, so the
// login must be refused with that pattern as the reason the user reads.
func TestTargetTelnetPromptsReachTheDialer(t *testing.T) {
	need(t, "ssh")
	td := testenv.StartTelnetd(t)
	data := filepath.Join(t.TempDir(), "data")
	priv, pub := gatewayUserKey(t, t.TempDir())
	host, port, _ := net.SplitHostPort(td.Addr)
	mustVigil(t, data, "", "user", "add", "alice", "--key", pub)
	mustVigil(t, data, "", "target", "add", "router1", "--host", host, "--port", port, "--protocol", "telnet",
		"--telnet-failure", "$", "--telnet-login-timeout", "20s")
	mustVigil(t, data, td.Password+"\n", "credential", "set", "router1", td.User)
	mustVigil(t, data, "", "grant", "add", "alice", "router1", td.User)
	gw := freeAddr(t)
	startServe(t, data, gw)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", append([]string{"-tt"}, sshArgs(gw, priv, "alice@router1")...)...).CombinedOutput()
	if err == nil {
		t.Fatalf("the login succeeded although the target's failure pattern matched:\n%s", out)
	}
	if !strings.Contains(string(out), `refused the vaulted credential: the target said "$"`) {
		t.Fatalf("the user was not told the configured failure pattern matched:\n%s", out)
	}
	if strings.Contains(string(out), td.Password) {
		t.Fatal("the password reached the user")
	}
}
