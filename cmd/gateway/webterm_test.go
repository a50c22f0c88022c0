package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/vault"
)

// webTermRig is the gateway as vigil serve wires it (access store and vault behind the policy,
// the indexing recorder, the audit log, the web UI) in front of a real sshd (web01) and a real
// telnetd (router1). alice holds grants to both, bob to none, audrey is an auditor.
type webTermRig struct {
	web       string
	srv       *proxyssh.Server
	store     *gateway.Recordings
	ix        *index.Index
	ixDir     string
	auditPath string
	sshd      *testenv.SSHD
	telnetd   *testenv.Telnetd
}

func startWebTermRig(t *testing.T) *webTermRig {
	t.Helper()
	d := testenv.StartSSHD(t)
	td := testenv.StartTelnetd(t)
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
	rig := &webTermRig{store: gateway.NewRecordings(backend, keys, nil), ixDir: filepath.Join(dir, "index"),
		auditPath: filepath.Join(dir, "audit.jsonl"), sshd: d, telnetd: td}
	if rig.ix, err = index.Open(rig.ixDir); err != nil {
		t.Fatal(err)
	}
	auditLog, err := audit.Open(rig.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	var users []access.User
	for _, u := range []struct {
		name string
		role access.Role
	}{{"alice", access.RoleUser}, {"bob", access.RoleUser}, {"audrey", access.RoleAuditor}} {
		hash, err := access.HashPassword([]byte(u.name + "-pw"))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, access.User{Name: u.name, PasswordHash: hash, Role: u.role})
	}
	sshHost, sshPort, _ := net.SplitHostPort(d.Addr)
	tnHost, tnPort, _ := net.SplitHostPort(td.Addr)
	port := func(s string) int { p, _ := strconv.Atoi(s); return p }
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{
		Users: users,
		Targets: []access.Target{
			{Name: "web01", Host: sshHost, Port: port(sshPort), Protocol: "ssh",
				HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.HostKey)))},
			{Name: "router1", Host: tnHost, Port: port(tnPort), Protocol: "telnet"},
		},
		Grants: []access.Grant{{User: "alice", Target: "web01", Account: d.User}, {User: "alice", Target: "router1", Account: td.User}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range []string{"web01", "router1"} {
		if err := v.Set(tg, d.User, vault.Secret{Password: []byte(d.Password)}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	pol := &gateway.Access{Store: acc, Vault: v, Log: log}
	sc := proxyssh.DefaultConfig()
	sc.HostSigner = newHostSigner(t)
	sc.Auth, sc.Policy = pol, pol
	sc.Recorder = &gateway.IndexingRecorder{Index: rig.ix, Store: rig.store, Log: log,
		Recorder: &gateway.Recorder{Store: rig.store, Log: log, Options: encode.DefaultOptions()}}
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
	if rig.srv, err = proxyssh.NewServer(sc); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- rig.srv.Serve(ctx, ln) }()
	h, err := gateway.NewWebServer(cfg, rig.store, acc, rig.ix, auditLog, log, false, rig.srv)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	rig.web = ts.URL
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		cancel()
		<-served
		rig.ix.Close()
		auditLog.Close()
	})
	return rig
}

// webLogin logs user in and returns the cookie header and the CSRF token.
func webLogin(t *testing.T, web, user string) (cookie, csrf string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := c.Post(web+"/api/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"`+user+`-pw"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login %s: %v %v", user, err, res)
	}
	defer res.Body.Close()
	var me struct{ CSRF string }
	json.NewDecoder(res.Body).Decode(&me)
	u, _ := url.Parse(web)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; "), me.CSRF
}

// wsTerm is the browser's side of a terminal websocket.
type wsTerm struct {
	conn      *websocket.Conn
	mu        sync.Mutex
	out       bytes.Buffer
	end       string // the reason of the "end" message
	closeCode int
	done      chan struct{}
}

func dialTerm(web, cookie, origin, target string) (*wsTerm, *http.Response, error) {
	u, _ := url.Parse(web)
	hdr := http.Header{"Cookie": {cookie}}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/terminal/"+target+"/ws?cols=100&rows=30", hdr)
	if err != nil {
		return nil, resp, err
	}
	w := &wsTerm{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			typ, b, err := conn.ReadMessage()
			w.mu.Lock()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					w.closeCode = ce.Code
				}
				w.mu.Unlock()
				return
			}
			if typ == websocket.BinaryMessage {
				w.out.Write(b)
			} else {
				var m gateway.TermMessage
				if json.Unmarshal(b, &m) == nil && m.Type == "end" {
					w.end = m.Reason
				}
			}
			w.mu.Unlock()
		}
	}()
	return w, resp, nil
}

func (w *wsTerm) text() string { w.mu.Lock(); defer w.mu.Unlock(); return w.out.String() }

func (w *wsTerm) send(t *testing.T, s string) {
	t.Helper()
	if err := w.conn.WriteMessage(websocket.BinaryMessage, []byte(s)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func (w *wsTerm) resize(t *testing.T, cols, rows int) {
	t.Helper()
	b, _ := json.Marshal(gateway.TermMessage{Type: "resize", Cols: cols, Rows: rows})
	if err := w.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("resize: %v", err)
	}
}

func (w *wsTerm) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing target
	for !strings.Contains(w.text(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q; the terminal shows:\n%q", want, w.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEnd waits for the socket to close and returns the end message's reason and the close code.
func (w *wsTerm) waitEnd(t *testing.T) (string, int) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the terminal websocket was not closed")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.end, w.closeCode
}

// TestWebTerminalAccess: the websocket admits only a logged-in user, from this origin, on a
// target the access store grants them.
func TestWebTerminalAccess(t *testing.T) {
	rig := startWebTermRig(t)
	alice, _ := webLogin(t, rig.web, "alice")
	bob, _ := webLogin(t, rig.web, "bob")
	for _, tt := range []struct {
		name, cookie, origin, target string
		code                         int
	}{
		{"foreign origin", alice, "http://evil.example", "web01", http.StatusForbidden},
		{"no origin", alice, "", "web01", http.StatusForbidden},
		{"no grant", bob, rig.web, "web01", http.StatusNotFound},
		{"unknown target", alice, rig.web, "db9", http.StatusNotFound},
		{"not logged in", "vigil_session=forged", rig.web, "web01", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, resp, err := dialTerm(rig.web, tt.cookie, tt.origin, tt.target)
			if err == nil {
				w.conn.Close()
				t.Fatal("the websocket opened")
			}
			if resp == nil || resp.StatusCode != tt.code {
				t.Fatalf("response %v, want %d", resp, tt.code)
			}
		})
	}
	if n := len(rig.srv.Sessions()); n != 0 {
		t.Errorf("%d sessions started by refused requests", n)
	}
}

// TestWebTerminalSSH: a browser terminal session on a real sshd is the gateway's session: live
// in the registry under the web user, resizable, recorded with its output, the sudo password
// typed at the no-echo prompt in neither the recording nor the index, audited via web.
func TestWebTerminalSSH(t *testing.T) {
	rig := startWebTermRig(t)
	password := rig.sshd.Password
	cookie, _ := webLogin(t, rig.web, "alice")
	w, _, err := dialTerm(rig.web, cookie, rig.web, "web01")
	if err != nil {
		t.Fatal(err)
	}
	defer w.conn.Close()
	w.waitFor(t, "This session is recorded by Vigil.")
	w.waitFor(t, "$ ")
	live := rig.srv.Sessions()
	if len(live) != 1 || live[0].User != "alice" || live[0].Target != "web01" || live[0].Cols != 100 || live[0].Rows != 30 {
		t.Fatalf("live registry = %+v", live)
	}
	id := live[0].ID
	w.send(t, "echo size=$(stty size) web-$((6*7))\r")
	w.waitFor(t, "size=30 100 web-42")
	w.resize(t, 132, 43)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(w.text(), "now=43 132"); {
		if time.Now().After(deadline) {
			t.Fatalf("the resize did not reach the target:\n%q", w.text())
		}
		w.send(t, "echo now=$(stty size)\r")
		time.Sleep(100 * time.Millisecond)
	}
	w.send(t, "sudo -k; sudo echo sudo-ok-$((2+2))\r")
	w.waitFor(t, "password for vigiltest")
	for _, c := range password {
		w.send(t, string(c)) // typed as a person would, one key a message
	}
	w.send(t, "\r")
	w.waitFor(t, "sudo-ok-4")
	w.send(t, "exit\r")
	if reason, code := w.waitEnd(t); reason != "session ended" || code != websocket.CloseNormalClosure {
		t.Errorf("end = %q, close %d; want \"session ended\", 1000", reason, code)
	}
	if n := len(rig.srv.Sessions()); n != 0 {
		t.Errorf("%d sessions still live", n)
	}

	recs := waitRecordings(t, rig.store, 1)
	if recs[0].ID != id || recs[0].Session.User != "alice" || recs[0].Session.Protocol != "ssh" {
		t.Errorf("recording %s %+v, want session %s of alice over ssh", recs[0].ID, recs[0].Session, id)
	}
	var out, in []byte
	err = eachRecord(rig.store, recs[0], func(r eventlog.Record) error {
		if bytes.Contains(r.Payload, []byte(password)) {
			t.Errorf("the sudo password is in a recorded record of type %d", r.Type)
		}
		switch r.Type {
		case eventlog.TypeOutput:
			out = append(out, r.Payload...)
		case eventlog.TypeInput:
			in = append(in, r.Payload...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("web-42")) || !bytes.Contains(out, []byte("sudo-ok-4")) {
		t.Errorf("the recording lacks the output:\n%q", out)
	}
	if !bytes.Contains(in, []byte("sudo -k")) {
		t.Errorf("the typed commands are not recorded (the password check would prove nothing):\n%q", in)
	}

	// The index: the session's commands arrive, the password never.
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := rig.ix.Search(context.Background(), index.Query{Text: "sudo", Kind: index.KindCommand, Session: id})
		if err == nil && len(res.Hits) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session's commands were not indexed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, err := rig.ix.Search(context.Background(), index.Query{Text: password}); err != nil || len(res.Hits) != 0 {
		t.Errorf("search for the password: %v, %d hits", err, len(res.Hits))
	}
	filepath.WalkDir(rig.ixDir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(password))) {
				t.Errorf("the password appears in %s", path)
			}
		}
		return nil
	})
	if b, _ := os.ReadFile(rig.auditPath); !bytes.Contains(b, []byte(`"via web"`)) || bytes.Contains(b, []byte(password)) {
		t.Errorf("audit log: want a session-start via web and no password:\n%s", b)
	}
}

// TestWebTerminalTerminate: an auditor terminates a browser session from the web API; the
// browser is told who and why.
func TestWebTerminalTerminate(t *testing.T) {
	rig := startWebTermRig(t)
	cookie, _ := webLogin(t, rig.web, "alice")
	w, _, err := dialTerm(rig.web, cookie, rig.web, "web01")
	if err != nil {
		t.Fatal(err)
	}
	defer w.conn.Close()
	w.waitFor(t, "$ ")
	live := rig.srv.Sessions()
	if len(live) != 1 {
		t.Fatalf("live registry = %+v", live)
	}
	acookie, csrf := webLogin(t, rig.web, "audrey")
	req, _ := http.NewRequest("POST", rig.web+"/api/live/"+live[0].ID+"/terminate", strings.NewReader(`{"reason":"policy check"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", acookie)
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("terminate: %v %v", err, res)
	}
	res.Body.Close()
	w.waitFor(t, "vigil: session terminated by audrey: policy check")
	if reason, code := w.waitEnd(t); !strings.Contains(reason, "terminated by audrey") || code != websocket.CloseNormalClosure {
		t.Errorf("end = %q, close %d", reason, code)
	}
	recs := waitRecordings(t, rig.store, 1)
	if c := recs[0].End; c == nil || !strings.Contains(c.Cause, "terminated by audrey: policy check") {
		t.Errorf("recording end = %+v", c)
	}
}

// TestWebTerminalTelnet: the browser terminal on a real telnetd, with a secret typed at a
// no-echo prompt kept out of the recording.
func TestWebTerminalTelnet(t *testing.T) {
	rig := startWebTermRig(t)
	cookie, _ := webLogin(t, rig.web, "alice")
	w, _, err := dialTerm(rig.web, cookie, rig.web, "router1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.conn.Close()
	w.send(t, "echo size=$(stty size) tn-$((6*7))\r")
	w.waitFor(t, "size=30 100 tn-42")
	w.send(t, "read -s -p 'Pass''word: ' v; echo; echo got-${#v}\r")
	w.waitFor(t, "Password: ")
	w.send(t, "typed-secret-9\r")
	w.waitFor(t, "got-14")
	w.send(t, "exit\r")
	if reason, _ := w.waitEnd(t); reason != "session ended" {
		t.Errorf("end = %q", reason)
	}
	recs := waitRecordings(t, rig.store, 1)
	if recs[0].Session.Protocol != "telnet" || recs[0].Session.User != "alice" {
		t.Errorf("recording %+v", recs[0].Session)
	}
	out, in, err := recordedStreams(rig.store, recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("tn-42")) {
		t.Errorf("the recording lacks the output:\n%q", out)
	}
	if !bytes.Contains(in, []byte("read -s")) || bytes.Contains(in, []byte("typed-secret-9")) {
		t.Errorf("input recorded as %q: want the command, not the secret", in)
	}
	if bytes.Contains(out, []byte(rig.telnetd.Password)) || bytes.Contains(in, []byte(rig.telnetd.Password)) {
		t.Error("the vaulted password is in the recording")
	}
}
