package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// liveRig is a real gateway to a real sshd, its control socket and one shell through it.
type liveRig struct {
	srv    *proxyssh.Server
	client *http.Client
	sess   *ssh.Session
	stdin  io.Writer
	out    *lockedBuffer
	mu     sync.Mutex
	audit  []proxyssh.AuditEvent
	ended  chan error // the recording's end cause
}

// causeRecorder drains the ring like a recorder and reports the cause it was closed with.
type causeRecorder struct{ ended chan error }

type causeRecording struct {
	done  chan struct{}
	ended chan error
}

func (r causeRecorder) Start(_ context.Context, _ proxyssh.SessionInfo, ring *capture.Ring) (proxyssh.Recording, error) {
	rd := ring.NewReader(capture.Lossless)
	rec := &causeRecording{done: make(chan struct{}), ended: r.ended}
	go func() {
		defer close(rec.done)
		for {
			if _, err := rd.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	return rec, nil
}

func (r *causeRecording) Close(cause error) error { <-r.done; r.ended <- cause; return nil }

func startLiveRig(t *testing.T) *liveRig {
	d := startBenchSSHD(t)
	rig := &liveRig{ended: make(chan error, 1), out: &lockedBuffer{}}
	log := slog.New(slog.DiscardHandler)
	cfg := proxyssh.DefaultConfig()
	cfg.HostSigner = newHostSigner(t)
	cfg.Auth = benchAuth(d)
	cfg.Policy = benchPolicy(d)
	cfg.Recorder = causeRecorder{ended: rig.ended}
	cfg.Logger = log
	cfg.NewScreen = gateway.NewScreen
	cfg.Audit = func(ev proxyssh.AuditEvent) { rig.mu.Lock(); rig.audit = append(rig.audit, ev); rig.mu.Unlock() }
	srv, err := proxyssh.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rig.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "vigil.sock")
	ctx, cancel := context.WithCancel(context.Background())
	served, controlled := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	go func() { controlled <- gateway.ServeControl(ctx, sock, ix, log, srv) }()
	t.Cleanup(func() { cancel(); <-served; <-controlled; ix.Close() })
	rig.client = gateway.LiveClient(sock)

	client, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{
		User: benchLogin, Auth: []ssh.AuthMethod{ssh.PublicKeys(d.Key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if rig.sess, err = client.NewSession(); err != nil {
		t.Fatal(err)
	}
	rig.sess.Stdout, rig.sess.Stderr = rig.out, rig.out
	if rig.stdin, err = rig.sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := rig.sess.RequestPty("xterm", 40, 120, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := rig.sess.Shell(); err != nil {
		t.Fatal(err)
	}
	waitContains(t, "a prompt", rig.out.String, "$ ")
	return rig
}

// waitContains polls get until it contains want; the bound is a hang guard, not a timing target.
func waitContains(t *testing.T, what string, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s (%q); got:\n%q", what, want, get())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rig *liveRig) post(t *testing.T, id, action, body string) int {
	t.Helper()
	resp, err := rig.client.Post("http://vigil/api/live/"+id+"/"+action, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLiveControlSocket drives a live session through the control socket's routes and the
// websocket handler: list, shadow both ways, pause and resume, terminate.
func TestLiveControlSocket(t *testing.T) {
	rig := startLiveRig(t)
	resp, err := rig.client.Get("http://vigil/api/live")
	if err != nil {
		t.Fatal(err)
	}
	var list []proxyssh.LiveSession
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 || list[0].User != "bench" {
		t.Fatalf("GET /api/live: %v, %+v", err, list)
	}
	resp.Body.Close()
	id := list[0].ID

	// The raw stream: the screen (with the prompt), then what happens.
	resp, err = rig.client.Get("http://vigil/api/live/" + id + "/shadow")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET shadow: %v %v", err, resp)
	}
	stream := &lockedBuffer{}
	streamDone := make(chan struct{})
	go func() { io.Copy(stream, resp.Body); resp.Body.Close(); close(streamDone) }()
	waitContains(t, "the keyframe's prompt", stream.String, "~$")

	ws := httptest.NewServer(func() http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /ws/{id}", gateway.ShadowWebSocket(rig.srv, nil, slog.New(slog.DiscardHandler)))
		return mux
	}())
	defer ws.Close()
	wsURL := "ws" + strings.TrimPrefix(ws.URL, "http") + "/ws/" + id
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"http://evil.example"}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("websocket from a foreign origin: %v, %v; want 403", err, resp)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {ws.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var first gateway.ShadowMessage
	if err := conn.ReadJSON(&first); err != nil || first.Type != "keyframe" || first.Cols != 120 || first.Rows != 40 {
		t.Fatalf("first websocket message = %+v, %v", first, err)
	}
	wsText := &lockedBuffer{}
	wsDone := make(chan error, 1)
	go func() {
		for {
			typ, p, err := conn.ReadMessage()
			if err != nil {
				wsDone <- err
				return
			}
			if typ == websocket.BinaryMessage {
				wsText.Write(p)
			}
		}
	}()

	io.WriteString(rig.stdin, "echo live-$((6*7))\n")
	waitContains(t, "the command on the raw shadow", stream.String, "live-42")
	waitContains(t, "the command on the websocket", wsText.String, "live-42")

	for _, tt := range []struct {
		id, action, body string
		want             int
	}{
		{id, "pause", `{"by":""}`, http.StatusBadRequest},
		{id, "pause", `{"by":"os:carol","reason":"look"}`, http.StatusNoContent},
		{id, "pause", `{"by":"os:carol"}`, http.StatusConflict},
		{id, "resume", `{"by":"os:carol"}`, http.StatusNoContent},
		{id, "resume", `{"by":"os:carol"}`, http.StatusConflict},
		{id, "explode", `{"by":"os:carol"}`, http.StatusNotFound},
		{"no-such-id", "terminate", `{"by":"os:carol"}`, http.StatusNotFound},
		{id, "terminate", `not json`, http.StatusBadRequest},
	} {
		if got := rig.post(t, tt.id, tt.action, tt.body); got != tt.want {
			t.Errorf("POST %s %s %s = %d, want %d", tt.id, tt.action, tt.body, got, tt.want)
		}
	}
	waitContains(t, "the pause notice", rig.out.String, "vigil: session paused by an auditor")

	if got := rig.post(t, id, "terminate", `{"by":"os:carol","reason":"done here"}`); got != http.StatusNoContent {
		t.Fatalf("terminate = %d", got)
	}
	var ee *ssh.ExitError
	if err := rig.sess.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 255 {
		t.Errorf("client exit = %v, want status 255", err)
	}
	waitContains(t, "the reason", rig.out.String, "vigil: session terminated by os:carol: done here")
	select {
	case cause := <-rig.ended:
		if !errors.Is(cause, proxyssh.ErrTerminated) || !strings.Contains(cause.Error(), "os:carol: done here") {
			t.Errorf("recording end cause = %v", cause)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("recording not closed")
	}
	for _, done := range []<-chan struct{}{streamDone} {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the raw shadow stream did not end with the session")
		}
	}
	select {
	case err := <-wsDone:
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Errorf("websocket ended with %v, want a normal close", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the websocket did not close with the session")
	}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	var kinds []string
	for _, ev := range rig.audit {
		if ev.Actor == "os:carol" {
			kinds = append(kinds, ev.Kind)
		}
	}
	if got := strings.Join(kinds, ","); got != "session-pause,session-resume,session-terminate" {
		t.Errorf("audited actions by os:carol = %s", got)
	}
}
