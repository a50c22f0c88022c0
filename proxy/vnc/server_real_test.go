package vnc

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

// realFrontEnd puts Vigil's RFB server in front of a real x11vnc target showing drawScene and an
// xterm that writes the line it reads to a file.
func realFrontEnd(t *testing.T) (v *testenv.VNC, fe *frontEnd, typed string) {
	t.Helper()
	v = testenv.StartVNC(t)
	drawScene(t, v)
	typed = filepath.Join(t.TempDir(), "typed")
	term := v.Command(t, "xterm", "-geometry", "40x5+600+500", "-e", "sh", "-c", `read line; echo "$line" > "$0"; sleep 600`, typed)
	if err := term.Start(); err != nil {
		t.Skipf("xterm: %v", err)
	}
	time.Sleep(time.Second) // let the xterms map
	fe = startFrontEnd(t, func(ctx context.Context) (desktop.Target, error) {
		return DialTarget(ctx, v.Addr, []byte(v.Password), Options{Shared: true,
			Encodings: []Encoding{EncodingZRLE, EncodingHextile, EncodingCopyRect, EncodingRaw, EncodingDesktopSize, EncodingCursor}})
	})
	return v, fe, typed
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("the target's shell read %q, want %q", b, want)
}

// TestFrontEndRealTargetPixelExact: a scripted RFB client logs in to Vigil with a one-time
// password and sees the real X screen pixel for pixel, through Vigil's ZRLE and Raw; it types a
// line that reaches the target's shell.
func TestFrontEndRealTargetPixelExact(t *testing.T) {
	v, fe, typed := realFrontEnd(t)
	for _, enc := range []Encoding{EncodingZRLE, EncodingRaw} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "alice", "desk")), Options{Encodings: []Encoding{enc, EncodingDesktopSize}})
		cancel()
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		waitMatch(t, c, v)
		v.Run(t, "xsetroot", "-solid", "#3355"+map[Encoding]string{EncodingZRLE: "77", EncodingRaw: "99"}[enc])
		waitMatch(t, c, v)
		if enc == EncodingRaw {
			c.Pointer(620, 520, 0) // focus follows the pointer: no window manager
			time.Sleep(200 * time.Millisecond)
			for _, r := range "via vigil" {
				c.Key(true, uint32(r))
				c.Key(false, uint32(r))
			}
			c.Key(true, 0xff0d)
			c.Key(false, 0xff0d)
			waitFile(t, typed, "via vigil")
		}
		c.Close()
	}
}

// TestFrontEndVNCViewer: TigerVNC's vncviewer, on a second X display, logs in to Vigil with a
// one-time password and shows the target's screen; keys typed into the viewer's display with
// xdotool reach the target's shell. A reused password is refused.
func TestFrontEndVNCViewer(t *testing.T) {
	for _, bin := range []string{"vncviewer", "tigervncpasswd", "xdotool"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (Debian tigervnc-viewer, tigervnc-tools, xdotool)", bin)
		}
	}
	v, fe, typed := realFrontEnd(t)
	view := testenv.StartVNC(t) // only its X display is used, to run the viewer on
	otp := fe.issue(t, "alice", "desk")
	pwFile := filepath.Join(t.TempDir(), "passwd")
	enc := exec.Command("tigervncpasswd", "-f")
	enc.Stdin = strings.NewReader(otp + "\n")
	out, err := enc.Output()
	if err != nil {
		t.Fatalf("tigervncpasswd: %v", err)
	}
	if err := os.WriteFile(pwFile, out, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(fe.addr)
	viewer := view.Command(t, "vncviewer", "-passwd", pwFile, "-FullScreen", "-AutoSelect=0", "-FullColor",
		"-PreferredEncoding=ZRLE", "-DotWhenNoCursor", "127.0.0.1::"+port)
	logFile, _ := os.Create(filepath.Join(t.TempDir(), "viewer.log"))
	viewer.Stdout, viewer.Stderr = logFile, logFile
	if err := viewer.Start(); err != nil {
		t.Fatal(err)
	}
	// The viewer's display shows the target's screen.
	deadline := time.Now().Add(20 * time.Second)
	diff := -1
	for time.Now().Before(deadline) {
		if diff = countDiff(view.Screenshot(t), v.Screenshot(t)); diff == 0 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if diff != 0 {
		b, _ := os.ReadFile(logFile.Name())
		t.Fatalf("the viewer's screen never matched the target's: %d pixels differ\n%s", diff, b)
	}
	if l := fe.reg.Sessions(); len(l) != 1 || l[0].User != "alice" {
		t.Fatalf("live list %+v", l)
	}
	// The viewer sent no pointer event for a bare warp of the pointer; a click does send one,
	// and moves the target's pointer (and so its focus: no window manager) onto the xterm.
	view.Run(t, "xdotool", "mousemove", "620", "520")
	view.Run(t, "xdotool", "mousemove_relative", "5", "5")
	view.Run(t, "xdotool", "click", "1")
	time.Sleep(300 * time.Millisecond)
	view.Run(t, "xdotool", "type", "--delay", "30", "from tigervnc")
	view.Run(t, "xdotool", "key", "Return")
	waitFile(t, typed, "from tigervnc")

	// The same password a second time is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Dial(ctx, fe.addr, []byte(otp), Options{}); err == nil {
		t.Fatal("a used one-time password logged in again")
	}
}
