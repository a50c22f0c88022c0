package gateway_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// webLiveRig is an in-process gateway (real recorder, store, audit log) in front of a real sshd,
// its web UI on an httptest server, and an OpenSSH client in tmux logged in through it.
type webLiveRig struct {
	web, auditPath string
	pane           func() string
	tmuxSock       string
}

func startWebLiveRig(t *testing.T) *webLiveRig {
	t.Helper()
	for _, p := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	d := testenv.StartSSHD(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	store := gateway.NewRecordings(backend, keys, nil)
	ix, err := index.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	auditLog, err := audit.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := access.HashPassword([]byte("audrey-pw"))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{Users: []access.User{{Name: "audrey", PasswordHash: hash, Role: access.RoleAuditor}}})
	if err != nil {
		t.Fatal(err)
	}

	// alice's key for the OpenSSH client.
	pk, sk, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(sk, "alice")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "alice_ed25519")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	alicePub, _ := ssh.NewPublicKey(pk)

	log := slog.New(slog.DiscardHandler)
	sc := proxyssh.DefaultConfig()
	sc.HostSigner = keys.Host
	sc.Auth, sc.Policy = keyAuth{user: "alice", key: alicePub}, sshdPolicy{target: "web01", addr: d.Addr, sshd: d}
	sc.Recorder = &gateway.Recorder{Store: store, Log: log}
	sc.NewScreen = gateway.NewScreen
	sc.Logger = log
	sc.Audit = func(e proxyssh.AuditEvent) {
		ev := audit.Event{Time: e.Time, Kind: e.Kind, User: e.User, Target: e.Target, Session: e.Session,
			Remote: e.Remote, Detail: e.Detail, Actor: e.Actor}
		if e.Cause != nil {
			ev.Cause = e.Cause.Error()
		}
		if err := auditLog.Append(ev); err != nil {
			t.Errorf("audit: %v", err)
		}
	}
	srv, err := proxyssh.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	h, err := gateway.NewWebServer(cfg, store, acc, ix, auditLog, log, false, srv)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		cancel()
		<-served
		ix.Close()
		auditLog.Close()
	})

	rig := &webLiveRig{web: ts.URL, auditPath: auditPath, tmuxSock: filepath.Join(dir, "tmux.sock")}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	// The shell around ssh prints its exit status and stays, so the test reads both.
	line := "ssh -tt -p " + port + " -i " + keyPath + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no" +
		" -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -l alice@web01 " + host +
		"; echo vigil-ssh-exit=$?; sleep 120"
	rig.tmux(t, "new-session", "-d", "-x", "100", "-y", "30", "-s", "live", "sh", "-c", line)
	t.Cleanup(func() { exec.Command("tmux", "-S", rig.tmuxSock, "kill-server").Run() })
	rig.pane = func() string { return rig.tmux(t, "capture-pane", "-p", "-t", "live") }
	rig.waitPane(t, "a shell prompt", "~$")
	return rig
}

func (r *webLiveRig) tmux(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", r.tmuxSock}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (r *webLiveRig) waitPane(t *testing.T, what, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing target
	for !strings.Contains(r.pane(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s (%q); the screen shows:\n%s", what, want, r.pane())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wsShadow is a second viewer: a websocket client with the auditor's cookie, collecting output.
type wsShadow struct {
	mu        sync.Mutex
	out       bytes.Buffer
	keyframes int
	closeCode int
}

func (s *wsShadow) text() string { s.mu.Lock(); defer s.mu.Unlock(); return s.out.String() }

func openWSShadow(t *testing.T, web, id, user, pw string) *wsShadow {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := c.Post(web+"/api/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"`+pw+`"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login %s: %v %v", user, err, res)
	}
	res.Body.Close()
	u, _ := url.Parse(web)
	wsURL := "ws://" + u.Host + "/api/live/" + id + "/shadow"
	hdr := http.Header{"Origin": {web}}
	for _, ck := range jar.Cookies(u) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	// From another origin the same cookie is refused.
	evil := http.Header{"Origin": {"http://evil.example"}, "Cookie": hdr["Cookie"]}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, evil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("websocket from a foreign origin: err %v, response %v; want 403", err, resp)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, hdr)
	if err != nil {
		t.Fatalf("websocket shadow: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &wsShadow{}
	go func() {
		for {
			typ, b, err := conn.ReadMessage()
			s.mu.Lock()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					s.closeCode = ce.Code
				}
				s.mu.Unlock()
				return
			}
			if typ == websocket.TextMessage && strings.Contains(string(b), `"keyframe"`) {
				s.keyframes++
			} else if typ == websocket.BinaryMessage {
				s.out.Write(b)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// TestLiveWebUIInChromium: an auditor watches a live SSH session in headless Chromium while a
// websocket client watches too; a command typed in the real OpenSSH client shows in both; the
// auditor terminates the session with a reason from the page; the client is told and exits
// non-zero; the audit log names the auditor.
func TestLiveWebUIInChromium(t *testing.T) {
	chromium := needChromium(t)
	rig := startWebLiveRig(t)

	artifacts := artifactsDir(t)
	ctx := startBrowser(t, chromium, chromedp.WindowSize(1200, 800))
	bctx := ctx
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	type C = chromedp.CSS
	shot := func(name string) chromedp.Action[chromedp.Void] { return screenshot(artifacts, name) }
	fail := func(what string, err error) {
		t.Helper()
		fctx, fcancel := context.WithTimeout(bctx, 10*time.Second)
		_ = chromedp.Do(fctx, shot("live-failed"))
		fcancel()
		t.Fatalf("%s: %v (screenshots in %s)", what, err, artifacts)
	}
	screen := func() string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.vigilLive ? window.vigilLive.screenText() : ''`))
		if err != nil {
			fail("screen text", err)
		}
		return s
	}
	var watchHref string
	err := chromedp.Do(ctx,
		chromedp.Navigate(rig.web+"/"),
		chromedp.WaitVisible(C("#login")),
		chromedp.SendKeys(C("#user"), "audrey"),
		chromedp.SendKeys(C("#password"), "audrey-pw"),
		chromedp.Click(C(`#login button[type="submit"]`)),
		chromedp.WaitVisible(C("a.watch")),
		shot("live-1-sessions"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Evaluate[string](`document.querySelector('a.watch').getAttribute('href')`)(ctx, tg)
			watchHref = v
			return err
		}),
		chromedp.Click(C("a.watch")),
		chromedp.WaitVisible(C("#term .xterm")),
	)
	if err != nil {
		fail("open the live view", err)
	}
	id := strings.TrimPrefix(watchHref, "#/live/")
	// The current screen shows at once: the prompt typed before the page opened.
	waitScreen := func(what, want string) time.Duration {
		t.Helper()
		start := time.Now()
		for !strings.Contains(screen(), want) {
			if time.Since(start) > 20*time.Second { // a hang guard, not a timing target
				fail(what, nil)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitScreen("the first keyframe (the prompt drawn before the page opened)", "~$")

	ws := openWSShadow(t, rig.web, id, "audrey", "audrey-pw")
	for deadline := time.Now().Add(10 * time.Second); ; {
		ws.mu.Lock()
		k := ws.keyframes
		ws.mu.Unlock()
		if k > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the websocket shadow got no keyframe")
		}
		time.Sleep(20 * time.Millisecond)
	}

	rig.tmux(t, "send-keys", "-t", "live", "echo live-marker-$((6*7))", "Enter")
	sent := time.Now()
	delay := waitScreen("the command's output in the browser", "live-marker-42")
	t.Logf("typed command's output reached the browser terminal %v after tmux send-keys returned (polled every 10 ms; includes the shell's echo and run)", delay.Round(time.Millisecond))
	for !strings.Contains(ws.text(), "live-marker-42") {
		if time.Since(sent) > 20*time.Second {
			t.Fatalf("the websocket shadow did not see the command:\n%q", ws.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, shot("live-2-watching")); err != nil {
		fail("screenshot", err)
	}

	// Pause and resume from the page; the state shows.
	stateIs := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.getElementById('live-state').textContent === '`+want+`'`, chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			return err
		})
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(C("#reason"), "looking closer"),
		chromedp.Click(C("#pause")),
		stateIs("paused"),
		shot("live-3-paused"),
		chromedp.Click(C("#resume")),
		stateIs("live"),
	)
	if err != nil {
		fail("pause and resume", err)
	}
	rig.waitPane(t, "the pause notice", "paused")

	// Terminate with a reason typed on the page.
	reason := "unapproved change"
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { document.getElementById('reason').value = ''; return true; })()`)(ctx, tg)
			return err
		}),
		chromedp.SendKeys(C("#reason"), reason),
		chromedp.Click(C("#terminate")),
	)
	if err != nil {
		fail("terminate", err)
	}
	rig.waitPane(t, "the termination notice", "vigil: session terminated by audrey: "+reason)
	rig.waitPane(t, "the client's exit status", "vigil-ssh-exit=")
	if p := rig.pane(); strings.Contains(p, "vigil-ssh-exit=0") {
		t.Errorf("ssh exited with status 0 after termination:\n%s", p)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		ws.mu.Lock()
		code := ws.closeCode
		ws.mu.Unlock()
		if code == websocket.CloseNormalClosure {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the websocket shadow was not closed with 1000 at the session's end (code %d)", code)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The browser's shadow ends too, and the page says so.
	if err := chromedp.Do(ctx, stateIs("ended"), shot("live-4-terminated")); err != nil {
		fail("the page after the session ended", err)
	}

	// The audit log: the gateway's session-terminate with the auditor as actor, and the web's
	// own record of who pressed what.
	var events []audit.Event
	f, err := os.Open(rig.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := audit.Verify(f, func(e audit.Event) error { events = append(events, e); return nil }); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	found := map[string]bool{}
	for _, e := range events {
		switch {
		case e.Kind == proxyssh.AuditTerminate && e.Actor == "audrey" && e.Session == id && strings.Contains(e.Detail, reason):
			found["session-terminate"] = true
		case e.Kind == proxyssh.AuditPause && e.Actor == "audrey":
			found["session-pause"] = true
		case e.Kind == "web.live.terminate" && e.User == "audrey" && e.Detail == reason:
			found["web.live.terminate"] = true
		case e.Kind == "web.live.shadow" && e.User == "audrey":
			found["web.live.shadow"] = true
		}
	}
	for _, k := range []string{"session-terminate", "session-pause", "web.live.terminate", "web.live.shadow"} {
		if !found[k] {
			t.Errorf("audit log lacks %s by audrey: %+v", k, events)
		}
	}
	t.Logf("screenshots in %s", artifacts)
}
