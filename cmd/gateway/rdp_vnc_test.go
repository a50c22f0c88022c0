package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// X11 keysyms a viewer sends that are not the character itself.
const (
	xkShiftL = 0xffe1
	xkReturn = 0xff0d
)

// viewerXterm is the fixture's xterm (80x20 at the origin, Monospace 14): where typing shows.
var viewerXterm = image.Rect(0, 0, 820, 420)

// typeKeysyms types text from a viewer as a real one does on a US keyboard: keysyms only, Shift_L
// held around upper-case letters and shifted symbols, '\n' as Return.
func typeKeysyms(t *testing.T, c *vnc.Client, text string) {
	t.Helper()
	key := func(down bool, ks uint32) {
		if err := c.Key(down, ks); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range text {
		ks := uint32(r)
		if r == '\n' {
			ks = xkReturn
		}
		shift := r >= 'A' && r <= 'Z' || strings.ContainsRune(`~!@#$%^&*()_+{}|:"<>?`, r)
		if shift {
			key(true, xkShiftL)
		}
		key(true, ks)
		key(false, ks)
		if shift {
			key(false, xkShiftL)
		}
	}
}

// pumpViewer reads the viewer's updates until ok accepts its framebuffer (checked at most every
// 200 ms, and once more at the end) or within passes; it reports whether ok did.
func pumpViewer(t *testing.T, c *vnc.Client, within time.Duration, ok func(*image.RGBA) bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	var checked time.Time
	for {
		if time.Since(checked) >= 200*time.Millisecond {
			checked = time.Now()
			if fb := c.Framebuffer(); fb != nil && ok(fb) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := c.Next(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("viewer: %v", err)
		}
	}
}

// changedIn is the bounding box of the pixels that differ between a and b (same size).
func changedIn(a, b *image.RGBA) image.Rectangle {
	var r image.Rectangle
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			i := a.PixOffset(x, y)
			if !bytes.Equal(a.Pix[i:i+3], b.Pix[i:i+3]) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// viewerOCR reads r of img with the tesseract CLI, grey, inverted (the xterm is white on black,
// which reads badly) and scaled 2x, as proxy/rdp's tests do.
func viewerOCR(t *testing.T, img *image.RGBA, r image.Rectangle) string {
	t.Helper()
	r = r.Intersect(img.Bounds())
	big := image.NewGray(image.Rect(0, 0, 2*r.Dx(), 2*r.Dy()))
	for y := 0; y < big.Rect.Dy(); y++ {
		for x := 0; x < big.Rect.Dx(); x++ {
			c := img.RGBAAt(r.Min.X+x/2, r.Min.Y+y/2)
			big.SetGray(x, y, color.Gray{255 - uint8((int(c.R)+int(c.G)+int(c.B))/3)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, big); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "viewer.png")
	if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tesseract", in, "stdout", "--psm", "6")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1") // DESIGN.md: without it OCR crawls on 2 cores
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	return string(out)
}

// TestRDPFromVNCViewer (issue #10): a native VNC viewer, logged in with a one-time password,
// reaches an RDP target (the xrdp fixture) through the gateway's VNC front end. A viewer sends
// keysyms only, so what it types reaches xrdp only through the keysym-to-scancode mapping of
// proxy/rdp; the typed command must change the xterm's pixels, read back by OCR where tesseract
// is installed, and the session's recording must verify after it ends.
func TestRDPFromVNCViewer(t *testing.T) {
	rig := startRDPRig(t)
	rig.d.OTPs = vnc.NewOTPs(time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		rig.d.ServeVNC(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-served }) // runs before startRDPRig's cleanups

	otp, err := rig.d.IssueOTP("alice", "win1")
	if err != nil {
		t.Fatal(err)
	}
	// xrdp starts an X session per logon: the gateway's logon takes seconds on a loaded machine.
	dctx, dcancel := context.WithTimeout(context.Background(), 40*time.Second)
	c, err := vnc.Dial(dctx, ln.Addr().String(), []byte(otp), vnc.Options{})
	dcancel()
	if err != nil {
		t.Fatalf("viewer login: %v", err)
	}
	defer c.Close()
	live := rig.d.Registry.Sessions()
	if len(live) != 1 || live[0].Protocol != "rdp" || live[0].Target != "win1" || live[0].User != "alice" {
		t.Fatalf("live sessions %+v, want alice's one rdp session to win1", live)
	}
	s, err := rig.d.Registry.Session(live[0].ID)
	if err != nil {
		t.Fatal(err)
	}

	// The first screen: xrdp paints its own, then the session's xterm; let it settle.
	if !pumpViewer(t, c, 15*time.Second, func(fb *image.RGBA) bool {
		for i := 0; i < len(fb.Pix); i += 4 {
			if fb.Pix[i]|fb.Pix[i+1]|fb.Pix[i+2] != 0 {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the viewer never showed a painted screen")
	}
	pumpViewer(t, c, 1500*time.Millisecond, func(*image.RGBA) bool { return false })
	before := image.NewRGBA(c.Framebuffer().Rect)
	copy(before.Pix, c.Framebuffer().Pix)

	typeKeysyms(t, c, "echo VIGIL$((6*7))\n")
	if !pumpViewer(t, c, 15*time.Second, func(fb *image.RGBA) bool { return !changedIn(before, fb).Empty() }) {
		t.Fatal("the typed keysyms changed nothing on the viewer's screen")
	}
	// Let the echo and the next prompt arrive before judging where the change is.
	pumpViewer(t, c, time.Second, func(*image.RGBA) bool { return false })
	ch := changedIn(before, c.Framebuffer())
	if !ch.In(viewerXterm) {
		t.Errorf("the screen changed at %v, outside the xterm at %v", ch, viewerXterm)
	}
	t.Logf("typing changed %v of the viewer's %v", ch, c.Framebuffer().Rect)
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Log("tesseract (Debian tesseract-ocr) not installed: OCR check skipped")
	} else {
		var text string
		ok := pumpViewer(t, c, 15*time.Second, func(fb *image.RGBA) bool {
			text = viewerOCR(t, fb, viewerXterm)
			// The echoed line reads VIGIL42; the typed one VIGIL$((6*7)) does not match.
			return strings.Contains(strings.ReplaceAll(text, " ", ""), "VIGIL42")
		})
		if !ok {
			t.Fatalf("VIGIL42 not on the viewer's screen; OCR read:\n%s", text)
		}
		t.Logf("OCR of the viewer's xterm:\n%s", text)
	}

	c.Close()
	s.End(desktop.ErrUserExit)
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not end 20 s after it was ended")
	}
	ref := rig.verifyRecording(t, s.ID())
	if ref.Session.Protocol != "rdp" || ref.Session.Target != "win1" || ref.End == nil {
		t.Errorf("recording %+v end %+v", ref.Session, ref.End)
	}
	used := rig.auditsOf(gateway.AuditOTPUsed)
	if len(used) != 1 || used[0].User != "alice" || used[0].Target != "win1" {
		t.Errorf("otp use audited as %+v", used)
	}
}
