package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

type liveAuth struct{}

func (liveAuth) Password(_ context.Context, user string, pw []byte, _ netip.Addr) (proxyssh.Principal, error) {
	if user == "alice" && string(pw) == "live-pw" {
		return proxyssh.Principal{User: "alice"}, nil
	}
	return proxyssh.Principal{}, proxyssh.ErrBadCredential
}

func (liveAuth) PublicKey(context.Context, string, ssh.PublicKey, netip.Addr) (proxyssh.Principal, error) {
	return proxyssh.Principal{}, proxyssh.ErrBadCredential
}

type livePolicy struct{ d *testenv.SSHD }

func (p livePolicy) Targets(context.Context, proxyssh.Principal) ([]string, error) {
	return []string{"web01"}, nil
}

func (p livePolicy) Resolve(_ context.Context, _ proxyssh.Principal, target string) (proxyssh.Upstream, error) {
	if target != "web01" {
		return proxyssh.Upstream{}, proxyssh.ErrNoSuchTarget
	}
	return proxyssh.Upstream{Target: "web01", Account: p.d.User, Addr: p.d.Addr,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(p.d.Key)}, HostKeyCallback: ssh.FixedHostKey(p.d.HostKey)}, nil
}

type drainRecorder struct{}

type drainRecording struct{ done chan struct{} }

func (drainRecorder) Start(_ context.Context, _ proxyssh.SessionInfo, ring *capture.Ring) (proxyssh.Recording, error) {
	rd := ring.NewReader(capture.Lossless)
	r := &drainRecording{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			if _, err := rd.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	return r, nil
}

func (r *drainRecording) Close(error) error { <-r.done; return nil }

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitOut(t *testing.T, what string, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing target
	for !strings.Contains(get(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s (%q); got:\n%q", what, want, get())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLiveCLI drives a real shell through a real gateway with the CLI: vigil live lists it,
// vigil shadow follows it, pause and resume answer, terminate ends it with the reason.
func TestLiveCLI(t *testing.T) {
	d := testenv.StartSSHD(t)
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	host, _ := ssh.NewSignerFromKey(priv)
	cfg := proxyssh.DefaultConfig()
	cfg.HostSigner, cfg.Auth, cfg.Policy, cfg.Recorder = host, liveAuth{}, livePolicy{d}, drainRecorder{}
	cfg.NewScreen = gateway.NewScreen
	srv, err := proxyssh.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served, controlled := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	go func() {
		controlled <- gateway.ServeControl(ctx, filepath.Join(data, "vigil.sock"), ix, slog.New(slog.DiscardHandler), srv)
	}()
	defer func() { cancel(); <-served; <-controlled; ix.Close() }()

	client, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{User: "alice@web01",
		Auth: []ssh.AuthMethod{ssh.Password("live-pw")}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuf{}
	sess.Stdout, sess.Stderr = out, out
	stdin, _ := sess.StdinPipe()
	if err := sess.RequestPty("xterm", 40, 120, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	waitOut(t, "a prompt", out.String, "$ ")

	list := mustVigil(t, data, "", "live")
	var id string
	for _, l := range srv.Sessions() {
		id = l.ID
	}
	if id == "" || !strings.Contains(list, id) || !strings.Contains(list, "alice") ||
		!strings.Contains(list, "web01") || !strings.Contains(list, "120x40") || !strings.Contains(list, "running") {
		t.Fatalf("vigil live = %q (session %q)", list, id)
	}

	shadowOut := &syncBuf{}
	sh := exec.Command(vigilBin, "--data-dir", data, "shadow", id)
	sh.Stdout, sh.Stderr = shadowOut, shadowOut
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	shadowDone := make(chan error, 1)
	go func() { shadowDone <- sh.Wait() }()
	defer sh.Process.Kill() // by PID; a no-op once it has exited and was waited for
	waitOut(t, "the screen in vigil shadow", shadowOut.String, "~$")
	io.WriteString(stdin, "echo cli-$((6*7))\n")
	waitOut(t, "the command in vigil shadow", shadowOut.String, "cli-42")

	mustVigil(t, data, "", "pause", id, "--reason", "look")
	waitOut(t, "the pause notice", out.String, "vigil: session paused by an auditor")
	if list := mustVigil(t, data, "", "live"); !strings.Contains(list, "paused") {
		t.Errorf("vigil live while paused = %q", list)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", id}, "already paused"},
		{[]string{"pause", "no-such-id"}, "no such live session"},
		{[]string{"terminate", id}, "--reason"},
	} {
		if got, err := vigil(t, data, "", tt.args...); err == nil || !strings.Contains(got, tt.want) {
			t.Errorf("vigil %v = %v, %q; want an error naming %q", tt.args, err, got, tt.want)
		}
	}
	mustVigil(t, data, "", "resume", id)
	waitOut(t, "the resume notice", out.String, "vigil: session resumed")

	mustVigil(t, data, "", "terminate", id, "--reason", "end of window")
	var ee *ssh.ExitError
	if err := sess.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 255 {
		t.Errorf("client exit = %v, want status 255", err)
	}
	waitOut(t, "the reason", out.String, "vigil: session terminated by "+osActor()+": end of window")
	select {
	case err := <-shadowDone:
		if err != nil || !strings.Contains(shadowOut.String(), "vigil: session "+id+" ended") {
			t.Errorf("vigil shadow at the session's end: %v, %q", err, shadowOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("vigil shadow did not end with the session")
	}
}
