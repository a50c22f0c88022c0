package ssh

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// TestChannelSizesBounded: an SSH client asking for a pty of 65535 x 65535 cells and then for
// window changes just as silly (each would become an emulator of that many cells in the recorder,
// the indexer and the live hub) gets the classic 80 x 24, its nonsense resizes are dropped before
// the ring or the target sees them, and the session goes on with the sane resize that follows.
func TestChannelSizesBounded(t *testing.T) {
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	c := mustDial(t, g.addr, "alice@web01")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	sess.Stdout, sess.Stderr = out, out
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 0xffff, 0xffff, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v (output %q)", err, out.String())
	}
	rec := g.rec.next(t)
	if rec.info.Cols != 80 || rec.info.Rows != 24 {
		t.Errorf("session size %dx%d, want 80x24", rec.info.Cols, rec.info.Rows)
	}
	in.Write([]byte("echo first=$(stty size)\n"))
	waitFor(t, out, "first=24 80")

	for _, ws := range []struct{ rows, cols int }{
		{0xffff, 0xffff}, {50, maxFrontendSide + 1}, {maxFrontendSide + 1, 50}, {0, 80}, {24, 0}, {1 << 31, 1 << 31},
	} {
		if err := sess.WindowChange(ws.rows, ws.cols); err != nil {
			t.Fatalf("window-change %dx%d: %v", ws.cols, ws.rows, err)
		}
	}
	if err := sess.WindowChange(maxFrontendSide, maxFrontendSide); err != nil { // the largest allowed
		t.Fatal(err)
	}
	if err := sess.WindowChange(30, 100); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "now=30 100") {
		if time.Now().After(deadline) {
			t.Fatalf("the sane resize did not reach the target: %q", out.String())
		}
		in.Write([]byte("echo now=$(stty size)\n"))
		time.Sleep(100 * time.Millisecond)
	}
	in.Write([]byte("exit\n"))
	if err := sess.Wait(); err != nil {
		t.Fatalf("shell exit: %v", err)
	}
	c.Close()
	rec.wait(t)
	if !errors.Is(rec.cause, ErrUserExit) {
		t.Errorf("cause = %v, want ErrUserExit", rec.cause)
	}
	var sizes [][2]uint16
	for _, ev := range rec.events {
		if ev.Type != capture.TypeResize {
			continue
		}
		cols, rows, err := capture.ParseResize(ev.Payload)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, [2]uint16{cols, rows})
	}
	want := [][2]uint16{{80, 24}, {maxFrontendSide, maxFrontendSide}, {100, 30}}
	if len(sizes) != len(want) {
		t.Fatalf("recorded resizes %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Errorf("recorded resizes %v, want %v", sizes, want)
			break
		}
	}
}

func TestSanePty(t *testing.T) {
	for _, tc := range []struct {
		cols, rows, wantCols, wantRows uint32
	}{
		{80, 24, 80, 24},
		{1, 1, 1, 1},
		{maxFrontendSide, maxFrontendSide, maxFrontendSide, maxFrontendSide},
		{maxFrontendSide + 1, 24, 80, 24},
		{80, maxFrontendSide + 1, 80, 24},
		{0, 24, 80, 24},
		{80, 0, 80, 24},
		{0xffffffff, 0xffffffff, 80, 24},
	} {
		p := sanePty(ptyRequest{Term: "xterm", Cols: tc.cols, Rows: tc.rows, Width: 640, Height: 480})
		if p.Cols != tc.wantCols || p.Rows != tc.wantRows || p.Term != "xterm" {
			t.Errorf("sanePty(%dx%d) = %dx%d %q", tc.cols, tc.rows, p.Cols, p.Rows, p.Term)
		}
	}
}
