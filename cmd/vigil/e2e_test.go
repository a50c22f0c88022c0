package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"golang.org/x/crypto/ssh"
)

// vigilBin builds the vigil binary once per test binary run.
var vigilBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-bin-")
	if err != nil {
		panic(err)
	}
	vigilBin = filepath.Join(dir, "vigil")
	out, err := exec.Command("go", "build", "-o", vigilBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// vigil runs the binary with the data dir and stdin given and returns its combined output.
func vigil(t *testing.T, dataDir, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(vigilBin, append([]string{"--data-dir", dataDir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustVigil(t *testing.T, dataDir, stdin string, args ...string) string {
	t.Helper()
	out, err := vigil(t, dataDir, stdin, args...)
	if err != nil {
		t.Fatalf("vigil %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (make deps-test installs it)", p)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// gatewayUserKey writes an ed25519 key pair for the gateway user alice.
func gatewayUserKey(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(sk, "alice")
	if err != nil {
		t.Fatal(err)
	}
	priv = filepath.Join(dir, "alice_ed25519")
	if err := os.WriteFile(priv, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pk)
	pub = priv + ".pub"
	if err := os.WriteFile(pub, ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// startServe runs `vigil serve` until the test ends and returns its log file.
func startServe(t *testing.T, dataDir, addr string) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vigilBin, "serve", "--data-dir", dataDir, "--ssh-listen", addr, "--web-listen", "127.0.0.1:0", "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("vigil serve did not stop within 10s of SIGINT")
		}
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return logPath
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("vigil serve did not listen on %s:\n%s", addr, b)
	return ""
}

// sshArgs are the OpenSSH client arguments to reach the gateway at addr as login.
func sshArgs(addr, key, login string) []string {
	host, port, _ := net.SplitHostPort(addr)
	return []string{"-p", port, "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10", "-l", login, host}
}

// TestGatewayEndToEnd drives the real binary: configure with the CLI, serve, log in through the
// gateway with OpenSSH to a real sshd using the vaulted credential, type a sudo password, then
// list, replay and export the recording, and check the password is nowhere.
func TestGatewayEndToEnd(t *testing.T) {
	need(t, "ssh", "tmux", "script", "asciinema")
	sshd := testenv.StartSSHD(t)
	data := filepath.Join(t.TempDir(), "data")
	priv, pub := gatewayUserKey(t, t.TempDir())
	host, port, _ := net.SplitHostPort(sshd.Addr)

	mustVigil(t, data, "", "user", "add", "alice", "--role", "user", "--key", pub)
	mustVigil(t, data, "", "target", "add", "web01", "--host", host, "--port", port)
	mustVigil(t, data, sshd.Password+"\n", "credential", "set", "web01", sshd.User)
	mustVigil(t, data, "", "grant", "add", "alice", "web01", sshd.User)
	mustVigil(t, data, "audit-pass-1234\n", "user", "add", "audrey", "--role", "auditor", "--password")
	gw := freeAddr(t)
	logPath := startServe(t, data, gw)

	// Exec: output and exit status come back through the gateway.
	cmd := exec.Command("ssh", append(sshArgs(gw, priv, "alice@web01"), "echo exec-$((6*7)); whoami; exit 3")...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("ssh exec through the gateway: %v (want exit status 3)\n%s", err, out)
	}
	if !strings.Contains(string(out), "exec-42") || !strings.Contains(string(out), sshd.User) {
		t.Fatalf("exec output %q lacks exec-42 and %s", out, sshd.User)
	}
	if strings.Contains(string(out), sshd.Password) {
		t.Fatal("the vaulted credential reached the user")
	}

	// Interactive: a pty session in tmux, with a password typed at a real sudo prompt.
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	line := "ssh -tt " + strings.Join(sshArgs(gw, priv, "alice@web01"), " ")
	tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "e2e", line)
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	pane := func() string { return tmux("capture-pane", "-p", "-t", "e2e") }
	waitFor := func(what string, re *regexp.Regexp) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if re.MatchString(pane()) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("waiting for %s; the screen shows:\n%s", what, pane())
	}
	waitFor("a shell prompt", regexp.MustCompile(`(?m)\$\s*$`))
	tmux("send-keys", "-t", "e2e", "echo interactive-marker-$((7*6))", "Enter")
	waitFor("the command's output", regexp.MustCompile(`interactive-marker-42`))
	// While it runs, the session is live: listed through serve's control socket.
	if live := mustVigil(t, data, "", "live"); !strings.Contains(live, "alice") || !strings.Contains(live, "web01") {
		t.Errorf("vigil live does not list the open session:\n%s", live)
	}
	tmux("send-keys", "-t", "e2e", "sudo -k; sudo -p '[sudo] password for vigiltest: ' id -u", "Enter")
	// Anchored at the line start: the echoed command line holds the same words after the shell
	// prompt, and a password typed before sudo turns echo off is echoed by the target's tty.
	waitFor("the sudo prompt", regexp.MustCompile(`(?m)^\[sudo\] password for vigiltest: *$`))
	tmux("send-keys", "-t", "e2e", "-l", sshd.Password)
	tmux("send-keys", "-t", "e2e", "Enter")
	waitFor("sudo's answer", regexp.MustCompile(`(?m)^0\s*$`))
	tmux("send-keys", "-t", "e2e", "exit", "Enter")
	deadline := time.Now().Add(15 * time.Second)
	for exec.Command("tmux", "-S", sock, "has-session", "-t", "e2e").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the ssh client did not exit; screen:\n%s", pane())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The recordings: both sessions, each ended with a cause.
	var list string
	deadline = time.Now().Add(15 * time.Second)
	for {
		list = mustVigil(t, data, "", "recordings")
		if strings.Count(list, "web01") >= 2 && !strings.Contains(list, "in progress") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recordings did not both end:\n%s", list)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var interactive string
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] != "SESSION" {
			if played := mustVigil(t, data, "", "play", f[0], "--speed", "1000", "--skip-idle"); strings.Contains(played, "interactive-marker-42") {
				interactive = f[0]
			}
		}
	}
	if interactive == "" {
		t.Fatalf("no recording replays the interactive session:\n%s", list)
	}

	// Export to asciicast, with keystrokes, and let the real asciinema read it.
	cast := filepath.Join(t.TempDir(), "session.cast")
	mustVigil(t, data, "", "export", "--format", "asciicast", "--input", "-o", cast, interactive)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	catOut, err := exec.CommandContext(ctx, "script", "-qec", "asciinema cat "+cast, "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("asciinema cat: %v\n%s", err, catOut)
	}
	if !bytes.Contains(catOut, []byte("interactive-marker-42")) {
		t.Errorf("asciinema cat of the export lacks the command output:\n%q", catOut)
	}
	castBytes, _ := os.ReadFile(cast)
	if !bytes.Contains(castBytes, []byte(`"i"`)) {
		t.Error("the export with --input holds no keystrokes: the test would not notice a leaked password")
	}

	// The password typed at sudo (also the vaulted credential) appears nowhere: not in the
	// replay, the export with keystrokes, the log, nor any file of the data directory.
	played := mustVigil(t, data, "", "play", interactive, "--speed", "1000", "--skip-idle")
	logBytes, _ := os.ReadFile(logPath)
	for name, content := range map[string][]byte{"replay": []byte(played), "asciicast export": castBytes, "serve log": logBytes, "asciinema cat": catOut} {
		if i := bytes.Index(content, []byte(sshd.Password)); i >= 0 {
			t.Errorf("the password appears in the %s: %q", name, content[max(0, i-300):min(len(content), i+100)])
		}
	}
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(sshd.Password)) {
				t.Errorf("the password appears in %s", path)
			}
		}
		return nil
	})
	// The recording is sealed: it verifies end to end, and its signed final manifest counts the
	// redaction and names the cause.
	if out := mustVigil(t, data, "", "verify", interactive, "--decrypt"); !strings.Contains(out, interactive) {
		t.Errorf("vigil verify: %s", out)
	}
	manifests, _ := filepath.Glob(filepath.Join(data, "store", "recordings", "*", "*", "*", interactive, "manifest.json"))
	if len(manifests) != 1 {
		t.Fatalf("manifest.json of %s: found %v", interactive, manifests)
	}
	var m struct {
		End struct {
			Cause string         `json:"cause"`
			Extra map[string]any `json:"extra"`
		} `json:"end"`
	}
	if b, err := os.ReadFile(manifests[0]); err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("read %s: %v", manifests[0], err)
	}
	if r, _ := m.End.Extra["redactions"].(float64); r < 1 {
		t.Errorf("the recording counts %v redactions: the password typed at sudo was not withheld as such", m.End.Extra["redactions"])
	}
	if m.End.Cause == "" {
		t.Error("the recording has no end cause")
	}

	// Search, while the gateway runs: the command typed is found, in the interactive session;
	// the password typed at sudo is not.
	var found string
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := vigil(t, data, "", "search", "echo interactive-marker", "--kind", "command")
		if err == nil && strings.Contains(out, interactive) {
			found = out
			break
		}
		found = out
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(found, interactive) {
		t.Errorf("vigil search did not find the typed command in %s:\n%s", interactive, found)
	}
	if out, _ := vigil(t, data, "", "search", sshd.Password); strings.Contains(out, interactive) || strings.Contains(out, sshd.Password) {
		t.Errorf("searching for the password finds something:\n%s", out)
	}

	// The web UI of the same serve: the auditor logs in and sees the interactive session; a wrong
	// password is refused.
	webAddr := regexp.MustCompile(`web UI listening.*addr=(\S+)`).FindSubmatch(logBytes)
	if webAddr == nil {
		t.Fatalf("serve log has no web UI address:\n%s", logBytes)
	}
	web := "http://" + string(webAddr[1])
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	login := func(pw string) int {
		resp, err := client.Post(web+"/api/login", "application/json",
			strings.NewReader(`{"user":"audrey","password":"`+pw+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := login("wrong"); code != http.StatusUnauthorized {
		t.Errorf("web login with a wrong password: %d, want 401", code)
	}
	if code := login("audit-pass-1234"); code != http.StatusOK {
		t.Fatalf("web login: %d", code)
	}
	resp, err := client.Get(web + "/api/sessions")
	if err != nil {
		t.Fatal(err)
	}
	sessionsJSON, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(sessionsJSON, []byte(interactive)) {
		t.Errorf("web /api/sessions: %d, without %s:\n%s", resp.StatusCode, interactive, sessionsJSON)
	}
	if bytes.Contains(sessionsJSON, []byte(sshd.Password)) {
		t.Error("the password appears in the web API")
	}
	// Live sessions are wired into the web UI of serve (all sessions have ended by now).
	resp, err = client.Get(web + "/api/live")
	if err != nil {
		t.Fatal(err)
	}
	liveJSON, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bytes.Contains(liveJSON, []byte(interactive)) {
		t.Errorf("web /api/live after the sessions ended: %d\n%s", resp.StatusCode, liveJSON)
	}

	// The audit log: hash chain intact, logins and both sessions with their end cause.
	if out := mustVigil(t, data, "", "audit", "--verify"); !strings.Contains(out, "hash chain intact") {
		t.Errorf("vigil audit --verify: %s", out)
	}
	auditOut := mustVigil(t, data, "", "audit")
	for _, want := range []string{`"kind":"login-ok"`, `"kind":"session-start"`, `"kind":"session-end"`, `"session":"` + interactive + `"`} {
		if !strings.Contains(auditOut, want) {
			t.Errorf("audit log lacks %s:\n%s", want, auditOut)
		}
	}
	if strings.Count(mustVigil(t, data, "", "audit", "--kind", "session-end"), "\n") < 2 {
		t.Error("audit log has fewer than two session ends")
	}
	if !strings.Contains(string(logBytes), "ssh gateway listening") {
		t.Errorf("serve log lacks the listening line:\n%s", logBytes)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
