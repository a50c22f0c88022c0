package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// TestTelnetTargetThroughServe: a telnet target reached with OpenSSH through the real binary. The
// user's leg is SSH, the target's is telnet with the vaulted password; the session is recorded as
// telnet and replays, and the password is in no log or replay.
func TestTelnetTargetThroughServe(t *testing.T) {
	need(t, "ssh", "tmux")
	td := testenv.StartTelnetd(t)
	data := filepath.Join(t.TempDir(), "data")
	priv, pub := gatewayUserKey(t, t.TempDir())
	host, port, _ := net.SplitHostPort(td.Addr)
	mustVigil(t, data, "", "user", "add", "alice", "--key", pub)
	mustVigil(t, data, "", "target", "add", "router1", "--host", host, "--port", port, "--protocol", "telnet")
	mustVigil(t, data, td.Password+"\n", "credential", "set", "router1", td.User)
	mustVigil(t, data, "", "grant", "add", "alice", "router1", td.User)
	gw := freeAddr(t)
	logPath := startServe(t, data, gw)

	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", "tn", "ssh -tt "+strings.Join(sshArgs(gw, priv, "alice@router1"), " "))
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	waitFor := func(what string, re *regexp.Regexp) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if re.MatchString(tmux("capture-pane", "-p", "-t", "tn")) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("waiting for %s; the screen shows:\n%s", what, tmux("capture-pane", "-p", "-t", "tn"))
	}
	waitFor("a shell prompt", regexp.MustCompile(`(?m)\$\s*$`))
	tmux("send-keys", "-t", "tn", "echo telnet-$((20+22)) $(stty size)", "Enter")
	waitFor("the command's output", regexp.MustCompile(`telnet-42 30 100`))
	tmux("send-keys", "-t", "tn", "exit", "Enter")

	var list string
	deadline := time.Now().Add(20 * time.Second)
	for {
		list = mustVigil(t, data, "", "recordings")
		if strings.Contains(list, "router1") && !strings.Contains(list, "in progress") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the telnet recording did not end:\n%s", list)
		}
		time.Sleep(200 * time.Millisecond)
	}
	id := ""
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(line, "router1") {
			id = f[0]
		}
	}
	played := mustVigil(t, data, "", "play", id, "--speed", "1000", "--skip-idle")
	if !strings.Contains(played, "telnet-42 30 100") {
		t.Errorf("the replay lacks the command output:\n%q", played)
	}
	mustVigil(t, data, "", "verify", id)
	logBytes := mustVigil(t, data, "", "audit")
	if !strings.Contains(logBytes, `"target":"router1"`) {
		t.Errorf("audit log has no session on router1:\n%s", logBytes)
	}
	serveLog := readFile(t, logPath)
	for name, content := range map[string]string{"replay": played, "serve log": serveLog, "audit log": logBytes} {
		if strings.Contains(content, td.Password) {
			t.Errorf("the telnet password appears in the %s", name)
		}
	}
}
