package rdp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

func dial(t testing.TB, o Options) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTypeCommand logs in to each server, sees a first frame, types a command into the remote
// xterm through Session.Input and reads its output back from the emitted frames.
func TestTypeCommand(t *testing.T) {
	for _, tc := range []struct {
		server string
		sec    Security
	}{{"xrdp", SecurityTLS}, {"shadow", SecurityNLA}, {"xrdp", SecurityNegotiate}} {
		t.Run(tc.server+"/"+string(tc.sec), func(t *testing.T) {
			f := server(t, tc.server)
			start := time.Now()
			s := dial(t, f.options(tc.sec))
			dialed := time.Since(start)
			scr, stop := run(t, s)
			before := waitFrames(t, scr, 1, 10*time.Second)
			t.Logf("dial %v, first frame %v, %dx%d, certificate %s", dialed.Round(time.Millisecond),
				scr.first.Sub(start).Round(time.Millisecond), before.Rect.Dx(), before.Rect.Dy(), FormatFingerprint(s.Fingerprint()))
			if len(s.Fingerprint()) != 32 {
				t.Errorf("fingerprint %x, want 32 bytes", s.Fingerprint())
			}
			// Let the desktop settle (xrdp paints the session after its own screen).
			time.Sleep(1500 * time.Millisecond)
			before, frames := scr.snapshot()

			typeText(t, s, "echo VIGIL$((6*7))\n")
			waitText(t, scr, "VIGIL42", 15*time.Second)
			after, frames2 := scr.snapshot()
			if frames2 <= frames {
				t.Errorf("no frame after typing (%d, %d)", frames, frames2)
			}
			d := diffRect(before, after)
			if d.Empty() || d.Dx() > 900 || d.Dy() > 500 {
				t.Errorf("typing changed %v, want a region inside the xterm", d)
			}
			if err := stop(); err != nil {
				t.Errorf("Run = %v, want nil when its context ends", err)
			}
			if scr.err != nil {
				t.Errorf("damage that a Framebuffer refused: %v", scr.err)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	for _, tc := range []struct {
		server string
		sec    Security
		want   error
	}{
		// xrdp shows its login dialog again: no session, so no confirmation, so a timeout.
		{"xrdp", SecurityTLS, ErrLogon},
		{"shadow", SecurityNLA, ErrAuth},
	} {
		t.Run(tc.server, func(t *testing.T) {
			f := server(t, tc.server)
			o := f.options(tc.sec)
			o.Password = "not-" + f.pass
			o.LogonTimeout = 5 * time.Second
			s, err := Dial(context.Background(), o)
			if err == nil {
				s.Close()
				t.Fatal("Dial with a wrong password succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Dial = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), o.Password) {
				t.Errorf("the error carries the password: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestCertificatePin: the fingerprint seen on first use is accepted when pinned; any other is
// refused before the credential is sent.
func TestCertificatePin(t *testing.T) {
	for _, tc := range []struct {
		server string
		sec    Security
	}{{"xrdp", SecurityTLS}, {"shadow", SecurityNLA}} {
		t.Run(tc.server, func(t *testing.T) {
			f := server(t, tc.server)
			s := dial(t, f.options(tc.sec))
			fp := s.Fingerprint()
			s.Close()

			o := f.options(tc.sec)
			o.Fingerprint = fp
			dial(t, o).Close()

			changed := bytes.Clone(fp)
			changed[0] ^= 1
			o.Fingerprint = changed
			s2, err := Dial(context.Background(), o)
			if err == nil {
				s2.Close()
				t.Fatal("Dial accepted a certificate that is not the pinned one")
			}
			if !errors.Is(err, ErrCertificate) {
				t.Fatalf("Dial = %v, want ErrCertificate", err)
			}
			if !strings.Contains(err.Error(), FormatFingerprint(fp)) {
				t.Errorf("the error does not name the certificate presented: %v", err)
			}
		})
	}
}

// TestWorkerKilled: a worker killed mid-session ends that session with the cause; this process
// (the gateway) carries on.
func TestWorkerKilled(t *testing.T) {
	f := server(t, "shadow")
	s := dial(t, f.options(SecurityNLA))
	scr, stop := run(t, s)
	waitFrames(t, scr, 1, 10*time.Second)
	if err := syscall.Kill(s.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session still running 10 s after its worker was killed")
	}
	err := stop()
	if !errors.Is(err, ErrWorker) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Run = %v, want ErrWorker naming the kill", err)
	}
	if err := s.Input(keyA(true)); !errors.Is(err, ErrWorker) {
		t.Errorf("Input after the end = %v, want the session's cause", err)
	}
	// The gateway still dials.
	dial(t, f.options(SecurityNLA)).Close()
}

// TestWorkerHung: a worker that stops sending (stopped by SIGSTOP, as a FreeRDP call that never
// returns would) is killed by the watchdog.
func TestWorkerHung(t *testing.T) {
	f := server(t, "shadow")
	o := f.options(SecurityNLA)
	o.Watchdog = 2 * time.Second
	s := dial(t, o)
	if err := syscall.Kill(s.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("hung worker not killed")
	}
	if err := s.Err(); !errors.Is(err, ErrWorkerHung) {
		t.Fatalf("Err = %v, want ErrWorkerHung", err)
	}
}

// TestSecretNotExposed: the password is in neither the worker's command line nor its environment.
func TestSecretNotExposed(t *testing.T) {
	f := server(t, "shadow")
	s := dial(t, f.options(SecurityNLA))
	for _, file := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", s.Pid(), file))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("/proc/%d/%s is empty", s.Pid(), file)
		}
		if bytes.Contains(b, []byte(f.pass)) {
			t.Errorf("the password is in the worker's %s", file)
		}
	}
	if strings.Contains(s.stderr.String(), f.pass) {
		t.Error("the password is in the worker's log")
	}
}

// TestResize asks xrdp for a new desktop size through the display-control channel.
func TestResize(t *testing.T) {
	f := server(t, "xrdp")
	s := dial(t, f.options(SecurityTLS))
	scr, _ := run(t, s)
	waitFrames(t, scr, 1, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Resize(1280, 720)
		if err == nil {
			break
		}
		if !errors.Is(err, errors.ErrUnsupported) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the channel's caps arrive after the logon
	}
	for time.Now().Before(deadline) {
		if w, h := s.Size(); w == 1280 && h == 720 {
			img, _ := scr.snapshot()
			for img.Rect.Dx() != 1280 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				img, _ = scr.snapshot()
			}
			if img.Rect.Dx() != 1280 || img.Rect.Dy() != 720 {
				t.Fatalf("emitted screen %v, want 1280x720", img.Rect)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w, h := s.Size()
	t.Fatalf("size %dx%d after Resize(1280, 720)", w, h)
}

// TestClipboard: text offered through Input reaches the remote clipboard (read back with xclip in
// the xterm), and text copied there comes out of Run as a clipboard event. xrdp only: its chansrv
// bridges the X clipboard.
func TestClipboard(t *testing.T) {
	need(t, "xclip")
	f := server(t, "xrdp")
	s := dial(t, f.options(SecurityTLS))
	scr, _ := run(t, s)
	waitFrames(t, scr, 1, 10*time.Second)
	time.Sleep(1500 * time.Millisecond)

	if err := s.Input(frame.Input{Kind: frame.InputClipboard, Text: []byte("VIGILCLIP7")}); err != nil {
		t.Fatal(err)
	}
	typeText(t, s, "clear; xclip -o -selection clipboard; echo\n")
	waitText(t, scr, "VIGILCLIP7", 15*time.Second)

	typeText(t, s, "echo -n VIGILOUT9 | xclip -selection clipboard\n")
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr.mu.Lock()
		clips := strings.Join(scr.clips, "\n")
		scr.mu.Unlock()
		if strings.Contains(clips, "VIGILOUT9") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clipboard text from the server not seen; got %q", clips)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerConfined: the worker runs under the configured address-space and CPU limits.
func TestWorkerConfined(t *testing.T) {
	f := server(t, "shadow")
	o := f.options(SecurityNLA)
	o.MemoryLimit, o.CPULimit = 3<<30, 2*time.Hour
	s := dial(t, o)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", s.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{{"Max address space", fmt.Sprint(3 << 30)}, {"Max cpu time", "7200"}} {
		found := false
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, want[0]) {
				found = true
				if f := strings.Fields(strings.TrimPrefix(l, want[0])); len(f) < 2 || f[0] != want[1] || f[1] != want[1] {
					t.Errorf("%s: %q, want soft and hard %s", want[0], l, want[1])
				}
			}
		}
		if !found {
			t.Errorf("no %q in /proc/pid/limits", want[0])
		}
	}
}

// TestBadWorker: a worker that dies at once or speaks another protocol fails Dial with a cause.
func TestBadWorker(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want error
	}{
		{[]string{"/bin/false"}, ErrWorker},
		// cat echoes the Connect frame: not a Hello.
		{[]string{"/bin/cat"}, ErrProtocol},
	} {
		o := testOptions()
		o.Worker = tc.argv
		o.Host, o.User, o.Password = "127.0.0.1", "u", "pw-VIGILSECRET"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := Dial(ctx, o)
		cancel()
		if err == nil {
			s.Close()
			t.Fatalf("%v: Dial succeeded", tc.argv)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%v: Dial = %v, want %v", tc.argv, err, tc.want)
		}
		if strings.Contains(err.Error(), "VIGILSECRET") {
			t.Errorf("%v: the error carries the password: %v", tc.argv, err)
		}
	}
}

// TestServerEnds: the user's session ends on the server (the xterm, xrdp's whole session, exits):
// the session ends with ErrDisconnected.
func TestServerEnds(t *testing.T) {
	f := server(t, "xrdp")
	s := dial(t, f.options(SecurityTLS))
	scr, stop := run(t, s)
	waitFrames(t, scr, 1, 10*time.Second)
	time.Sleep(time.Second)
	typeText(t, s, "exit\n")
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("session still running 20 s after its X session ended")
	}
	if err := stop(); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Run = %v, want ErrDisconnected", err)
	}
}

// TestProductionWorker runs the real `vigil rdp-worker` when VIGIL_RDP_WORKER_BIN names a built
// vigil binary (go build -o /tmp/vigil ./cmd/vigil): the dispatch in cmd/vigil's main.
func TestProductionWorker(t *testing.T) {
	bin := os.Getenv("VIGIL_RDP_WORKER_BIN")
	if bin == "" {
		t.Skip("VIGIL_RDP_WORKER_BIN not set")
	}
	f := server(t, "shadow")
	o := f.options(SecurityNLA)
	o.Worker, o.WorkerEnv = []string{bin, "rdp-worker"}, nil
	s := dial(t, o)
	scr, _ := run(t, s)
	waitFrames(t, scr, 1, 10*time.Second)
}
