package ssh

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// TestFrontendSizesBounded: a browser asking for a terminal of 70000 x 70000 cells (each size
// becomes an emulator of that many cells in the recorder and the indexer) gets the classic
// 80 x 24, and a huge resize is dropped, before the session or the target sees either.
func TestFrontendSizesBounded(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	fe := newPipeFrontend()
	done := make(chan error, 1)
	go func() {
		done <- g.srv.ServeFrontend(context.Background(), fe, FrontendInfo{User: Principal{User: "alice", Role: "user"},
			Target: "web01", Remote: "192.0.2.7:5555", Via: "web", Cols: 70000, Rows: 70000})
	}()
	rec := g.rec.next(t)
	if rec.info.Cols != 80 || rec.info.Rows != 24 {
		t.Errorf("session size %dx%d, want 80x24", rec.info.Cols, rec.info.Rows)
	}
	waitFor(t, &fe.out, "$ ")
	fe.resizes <- WindowSize{Cols: maxFrontendSide + 1, Rows: 50}
	fe.resizes <- WindowSize{Cols: 0xffff, Rows: 0xffff}
	fe.resizes <- WindowSize{Cols: 132, Rows: 43}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(fe.out.String(), "now=43 132") {
		if time.Now().After(deadline) {
			t.Fatalf("the sane resize did not reach the target: %q", fe.out.String())
		}
		fe.type_("echo now=$(stty size)\r")
		time.Sleep(100 * time.Millisecond)
	}
	fe.type_("exit\r")
	if err := waitCause(t, done); !errors.Is(err, ErrUserExit) {
		t.Errorf("cause = %v", err)
	}
	rec.wait(t)
	for _, ev := range rec.events {
		if ev.Type != capture.TypeResize {
			continue
		}
		if cols, rows, err := capture.ParseResize(ev.Payload); err != nil || cols > maxFrontendSide || rows > maxFrontendSide {
			t.Errorf("recorded resize %dx%d (%v)", cols, rows, err)
		}
	}
}

// TestFrontendResizeFlood: resizes arriving faster than frontendResizeEvery replace each other
// instead of each becoming a window-change (and a new emulator in the recorder and the indexer).
func TestFrontendResizeFlood(t *testing.T) {
	frontendResizeEvery = time.Hour
	t.Cleanup(func() { frontendResizeEvery = 100 * time.Millisecond })
	fe := newPipeFrontend()
	c := newFrontConn(fe, FrontendInfo{Target: "web01", Cols: 80, Rows: 24})
	for _, want := range []string{"pty-req", "shell"} {
		if r := <-c.reqs; r.Type != want {
			t.Fatalf("request %q, want %q", r.Type, want)
		}
	}
	fe.resizes <- WindowSize{Cols: 100, Rows: 30}
	if r := <-c.reqs; r.Type != "window-change" {
		t.Fatalf("request %q, want the first window-change", r.Type)
	}
	for i := range 3 {
		fe.resizes <- WindowSize{Cols: 101 + i, Rows: 30}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(fe.resizes) > 0 { // taken by forwardResizes
		if time.Now().After(deadline) {
			t.Fatal("the resizes were not taken")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.hangUp()
	c.reqsWG.Wait()
	var sent []windowChange
	for r := range c.reqs {
		var w windowChange
		if ssh.Unmarshal(r.Payload, &w) == nil {
			sent = append(sent, w)
		}
	}
	if len(sent) != 0 {
		t.Errorf("%d window-changes within frontendResizeEvery of the first: %+v", len(sent), sent)
	}
}
