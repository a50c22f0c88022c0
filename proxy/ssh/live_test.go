package ssh

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// readShadow reads sh until what it returned contains want; the bound is a hang guard.
func readShadow(t *testing.T, sh *Shadow, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b strings.Builder
	for !strings.Contains(b.String(), want) {
		c, err := sh.Next(ctx)
		if err != nil {
			t.Fatalf("shadow never showed %q (%v); got:\n%q", want, err, b.String())
		}
		b.Write(c.Data)
	}
	return b.String()
}

// liveShell opens a shell through the gateway and returns it with its live handle.
// wait returns the shell's exit and closes the client connection, as a user's ssh would.
type liveSess struct {
	*ssh.Session
	c *ssh.Client
}

func (s liveSess) Wait() error {
	err := s.Session.Wait()
	s.c.Close()
	return err
}

func liveShell(t *testing.T, g *gateway) (liveSess, io.WriteCloser, *syncBuffer, *testRecording, *Live) {
	t.Helper()
	c := mustDial(t, g.addr, "alice@web01")
	sess, in, out := shell(t, c)
	rec := g.rec.next(t)
	l, err := g.srv.Session(rec.info.ID)
	if err != nil {
		t.Fatal(err)
	}
	return liveSess{sess, c}, in, out, rec, l
}

func TestLiveListAndShadow(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	sess, in, out, rec, l := liveShell(t, g)

	list := g.srv.Sessions()
	if len(list) != 1 {
		t.Fatalf("Sessions() = %+v, want one", list)
	}
	if got := list[0]; got.ID != rec.info.ID || got.User != "alice" || got.Target != "web01" ||
		got.Account != "vigiltest" || got.Cols != 120 || got.Rows != 40 || got.Paused || got.Start.IsZero() {
		t.Errorf("live session = %+v", got)
	}
	if _, err := g.srv.Session("no-such-id"); !errors.Is(err, ErrNoSession) {
		t.Errorf("Session(unknown) = %v, want ErrNoSession", err)
	}

	ctx := context.Background()
	shadows := make([]*Shadow, 2) // several viewers at once, each with its own stream
	for i := range shadows {
		sh, err := l.Shadow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sh.Close()
		c, err := sh.Next(ctx)
		if err != nil || !c.Keyframe || c.Cols != 120 || c.Rows != 40 {
			t.Fatalf("first chunk = %+v, %v; want a 120x40 keyframe", c, err)
		}
		shadows[i] = sh
	}
	in.Write([]byte("echo shadow-$((6*7))\n"))
	waitFor(t, out, "shadow-42")
	for _, sh := range shadows {
		got := readShadow(t, sh, "shadow-42")
		if !strings.Contains(got, "echo shadow-$((6*7))") {
			t.Errorf("shadow lacks the typed command's echo: %q", got)
		}
	}
	// A shadow that joins later starts from the screen as it is: the command is on it.
	late, err := l.Shadow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := late.Next(ctx); err != nil || !c.Keyframe || !strings.Contains(string(c.Data), "shadow-42") {
		t.Errorf("late shadow's keyframe = %q, %v; want the screen with shadow-42", c.Data, err)
	}

	in.Write([]byte("exit\n"))
	if err := sess.Wait(); err != nil {
		t.Fatalf("shell exit: %v", err)
	}
	rec.wait(t)
	for _, sh := range append(shadows, late) {
		var err error
		for err == nil {
			_, err = sh.Next(ctx)
		}
		if err != io.EOF {
			t.Errorf("shadow after the session ended: %v, want io.EOF", err)
		}
	}
	if list := g.srv.Sessions(); len(list) != 0 {
		t.Errorf("Sessions() after the end = %+v", list)
	}
	if _, err := l.Shadow(ctx); !errors.Is(err, ErrNoSession) {
		t.Errorf("Shadow after the end = %v, want ErrNoSession", err)
	}
}

// TestLiveSlowShadowResyncs: a viewer that reads nothing while the target floods does not slow
// the session (its output completes), and when it reads again it is repainted and caught up.
func TestLiveSlowShadowResyncs(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	sess, in, out, rec, l := liveShell(t, g)
	ctx := context.Background()
	sh, err := l.Shadow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if _, err := sh.Next(ctx); err != nil {
		t.Fatal(err)
	}
	// About 1.3 MB, five times what a shadow may have queued.
	in.Write([]byte("seq 1 200000; echo flood-$((40+2))\n"))
	waitFor(t, out, "flood-42") // the session finished while the shadow was blocked
	readShadow(t, sh, "flood-42")
	if sh.Resyncs() < 1 {
		t.Errorf("Resyncs() = %d after falling %d bytes behind, want >= 1", sh.Resyncs(), 1300000)
	}
	in.Write([]byte("exit\n"))
	sess.Wait()
	rec.wait(t)
	if got := rec.text(capture.TypeOutput); !strings.Contains(got, "\n199999\r\n200000\r\n") {
		t.Error("the recording lost output while a shadow was behind")
	}
}

func TestLivePauseHoldsInput(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	sess, in, out, rec, l := liveShell(t, g)
	in.Write([]byte("echo ready-$((1+1))\n"))
	waitFor(t, out, "ready-2")

	if err := l.Pause("os:carol", "checking"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "vigil: session paused by an auditor")
	if err := l.Pause("os:carol", ""); !errors.Is(err, ErrAlreadyPaused) {
		t.Errorf("second Pause = %v, want ErrAlreadyPaused", err)
	}
	if list := g.srv.Sessions(); len(list) != 1 || !list[0].Paused {
		t.Errorf("Sessions() while paused = %+v", list)
	}
	marker := filepath.Join(os.TempDir(), "vigil-pause-"+rec.info.ID)
	defer os.Remove(marker)
	in.Write([]byte("touch " + marker + "; echo ran-$((40+2))\n"))
	// Wait until the gateway holds the input: from then on, had it been forwarded, it would run.
	deadline := time.Now().Add(20 * time.Second)
	for l.s.held.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the input pump never held the input")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a command typed while paused ran")
	}
	if strings.Contains(out.String(), "touch "+marker) {
		t.Error("input typed while paused reached the target (its echo is on screen)")
	}
	if n := strings.Count(out.String(), "paused by an auditor"); n != 1 {
		t.Errorf("the user was told %d times, want once", n)
	}

	if err := l.Resume("os:carol"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "ran-42")
	waitFor(t, out, "vigil: session resumed")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the held command did not run after resume: %v", err)
	}
	if err := l.Resume("os:carol"); !errors.Is(err, ErrNotPaused) {
		t.Errorf("second Resume = %v, want ErrNotPaused", err)
	}
	in.Write([]byte("exit\n"))
	sess.Wait()
	rec.wait(t)
	markers := rec.text(capture.TypeMarker)
	if !strings.Contains(markers, `"kind":"paused"`) || !strings.Contains(markers, `"kind":"resumed"`) {
		t.Errorf("recording lacks pause/resume markers: %s", markers)
	}
	for _, kind := range []string{AuditPause, AuditResume} {
		if !g.audit.findActor(kind, "os:carol") {
			t.Errorf("audit log lacks %s by os:carol", kind)
		}
	}
}

func TestLiveTerminate(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	sess, _, out, rec, l := liveShell(t, g)
	for _, tt := range []struct{ by, reason string }{{"", "x"}, {" \x1b ", "x"}} {
		if err := l.Terminate(tt.by, tt.reason); !errors.Is(err, ErrNoActor) {
			t.Errorf("Terminate(%q) = %v, want ErrNoActor", tt.by, err)
		}
	}
	// An escape sequence in the reason must not reach the user's terminal.
	if err := l.Terminate("os:carol", "policy breach\x1b[2J"); err != nil {
		t.Fatal(err)
	}
	err := sess.Wait()
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 255 {
		t.Errorf("client exit = %v, want exit status 255", err)
	}
	waitFor(t, out, "vigil: session terminated by os:carol: policy breach")
	if strings.Contains(out.String(), "\x1b[2J") {
		t.Error("the reason's escape sequence reached the user")
	}
	rec.wait(t)
	var te *TerminatedError
	if !errors.Is(rec.cause, ErrTerminated) || !errors.As(rec.cause, &te) || te.By != "os:carol" ||
		!strings.Contains(rec.cause.Error(), "os:carol: policy breach") {
		t.Errorf("recording cause = %v, want terminated by os:carol: policy breach", rec.cause)
	}
	if g.audit.find(AuditTerminate, ErrTerminated) != 1 || !g.audit.findActor(AuditTerminate, "os:carol") ||
		g.audit.find(AuditSessionEnd, ErrTerminated) != 1 {
		t.Errorf("audit trail lacks the termination: %+v", g.audit.events)
	}
	if err := l.Terminate("os:carol", "again"); !errors.Is(err, ErrNoSession) {
		t.Errorf("Terminate after the end = %v, want ErrNoSession", err)
	}
}

func (a *auditLog) findActor(kind, actor string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ev := range a.events {
		if ev.Kind == kind && ev.Actor == actor && strings.Contains(ev.Detail, actor) {
			return true
		}
	}
	return false
}
