package vnc

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// drawScene puts known, varied content on the display: a patterned root window and an xterm
// with coloured text, so that each encoding meets solid areas, palettes and raw tiles.
func drawScene(t *testing.T, v *testenv.VNC) {
	v.Run(t, "xsetroot", "-bitmap", "/usr/include/X11/bitmaps/escherknot", "-fg", "#3060a0", "-bg", "#f0e0c0")
	term := v.Command(t, "xterm", "-geometry", "80x20+40+30", "-bg", "black", "-fg", "gray90", "-e", "sh", "-c",
		`printf '\033[31mred \033[32mgreen \033[34;47mblue on white\033[0m\n'; ls -l /usr/bin | head -15; sleep 600`)
	if err := term.Start(); err != nil {
		t.Skipf("xterm: %v", err)
	}
}

// waitMatch reads updates until the decoded framebuffer equals an xwd screenshot of the display,
// pixel for pixel. x11vnc polls the screen, so it may take a few updates to converge.
func waitMatch(t *testing.T, c *Client, v *testenv.VNC) (cursor *Cursor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var diff int
	var want *image.RGBA
	for i := 0; ; i++ {
		if i%10 == 0 {
			want = v.Screenshot(t)
		}
		if diff = countDiff(c.Framebuffer(), want); diff == 0 {
			return cursor
		}
		uctx, ucancel := context.WithTimeout(ctx, 2*time.Second)
		u, err := c.Next(uctx)
		ucancel()
		if u.Cursor != nil {
			cursor = u.Cursor
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("next: %v", err)
		}
		if err != nil {
			i = i/10*10 + 9 // idle: take a fresh screenshot
		}
	}
	t.Fatalf("framebuffer never matched the screenshot: %d pixels differ", diff)
	return nil
}

func countDiff(a, b *image.RGBA) int {
	if a.Rect != b.Rect {
		return a.Rect.Dx() * a.Rect.Dy()
	}
	n := 0
	for i := 0; i < len(a.Pix); i += 4 {
		if [4]byte(a.Pix[i:i+4]) != [4]byte(b.Pix[i:i+4]) {
			n++
		}
	}
	return n
}

var servers = []struct {
	name  string
	start func(testing.TB) *testenv.VNC
}{{"x11vnc", testenv.StartVNC}, {"tigervnc", testenv.StartTigerVNC}}

func TestRealServerPixelExact(t *testing.T) {
	for _, srv := range servers {
		// Only x11vnc was seen to send the root window's cursor shape on connect.
		t.Run(srv.name, func(t *testing.T) { testPixelExact(t, srv.start(t), srv.name == "x11vnc") })
	}
}

func testPixelExact(t *testing.T, v *testenv.VNC, wantCursor bool) {
	drawScene(t, v)
	time.Sleep(time.Second) // let xterm map and draw before the first screenshot
	for _, tc := range []struct {
		name string
		enc  Encoding
	}{{"raw", EncodingRaw}, {"hextile", EncodingHextile}, {"zrle", EncodingZRLE}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The Cursor pseudo-encoding keeps x11vnc from painting the pointer into the
			// framebuffer, which xwd would not show.
			c, err := Dial(ctx, v.Addr, []byte(v.Password), Options{Shared: true,
				Encodings: []Encoding{tc.enc, EncodingCursor}})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if c.Init().Version != "3.8" || c.Init().Width != 1024 || c.Init().Height != 768 {
				t.Fatalf("server init %+v", c.Init())
			}
			cur := waitMatch(t, c, v)
			if cur == nil || cur.Image.Rect.Empty() {
				if wantCursor {
					t.Errorf("no cursor shape")
				}
			} else {
				t.Logf("cursor %v, hotspot %v", cur.Image.Rect.Size(), cur.Hotspot)
			}
			// Change the screen and see the change arrive.
			v.Run(t, "xsetroot", "-solid", "#12ab34")
			waitMatch(t, c, v)
			if c.dec.seen[tc.enc] == 0 {
				t.Errorf("no %s rectangle decoded; seen %v", tc.name, c.dec.seen)
			}
			if err := c.Pointer(100, 100, 0); err != nil {
				t.Fatal(err)
			}
			if err := c.Key(true, 'a'); err != nil {
				t.Fatal(err)
			}
			if err := c.Key(false, 'a'); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRealServerWrongPassword(t *testing.T) {
	v := testenv.StartVNC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Dial(ctx, v.Addr, []byte("wrong!!!"), Options{})
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: got %v, want ErrAuthFailed", err)
	}
	if strings.Contains(err.Error(), "wrong!!!") || strings.Contains(err.Error(), v.Password) {
		t.Fatalf("a password leaked into the error: %v", err)
	}
	t.Logf("server said: %v", err)
	_, err = Dial(ctx, v.Addr, nil, Options{})
	if !errors.Is(err, ErrNoSecurityType) {
		t.Fatalf("no password: got %v, want ErrNoSecurityType", err)
	}
}

// TestRealServerResize changes the X screen size with xrandr; x11vnc (-xrandr) tells the client
// with a DesktopSize rectangle, and the new framebuffer must match the new screen.
func TestRealServerResize(t *testing.T) {
	v := testenv.StartVNC(t)
	v.Run(t, "xsetroot", "-bitmap", "/usr/include/X11/bitmaps/escherknot", "-fg", "#a03060", "-bg", "#c0f0e0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, v.Addr, []byte(v.Password), Options{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	waitMatch(t, c, v)
	v.Run(t, "xrandr", "--newmode", "800x600", "40", "800", "840", "968", "1056", "600", "601", "605", "628")
	v.Run(t, "xrandr", "--addmode", "screen", "800x600")
	v.Run(t, "xrandr", "--output", "screen", "--mode", "800x600")
	for {
		u, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("no resize seen: %v", err)
		}
		if u.Resized {
			break
		}
	}
	if got := c.Framebuffer().Rect.Size(); got != image.Pt(800, 600) {
		t.Fatalf("resized to %v, want 800x600", got)
	}
	waitMatch(t, c, v)
}

// TestRealServerCopyRect scrolls an xterm on Xtigervnc, which turns the X server's own copies
// into CopyRect. (x11vnc only guesses scrolls, through the RECORD extension, and was not seen to
// send CopyRect on Xvfb.)
func TestRealServerCopyRect(t *testing.T) {
	v := testenv.StartTigerVNC(t)
	v.Run(t, "xsetroot", "-solid", "#203040")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, v.Addr, []byte(v.Password), Options{
		Encodings: []Encoding{EncodingCopyRect, EncodingRaw, EncodingCursor}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	waitMatch(t, c, v)
	term := v.Command(t, "xterm", "-geometry", "60x20+30+30", "-e", "sh", "-c",
		`sleep 1; for i in $(seq 300); do echo "line $i of scrolling text"; sleep 0.01; done; sleep 600`)
	if err := term.Start(); err != nil {
		t.Skipf("xterm: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for c.dec.seen[EncodingCopyRect] == 0 && time.Now().Before(deadline) {
		uctx, ucancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Next(uctx)
		ucancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	if c.dec.seen[EncodingCopyRect] == 0 {
		t.Fatal("Xtigervnc sent no CopyRect for a scrolling xterm")
	}
	time.Sleep(4 * time.Second) // let the scrolling finish
	waitMatch(t, c, v)
	t.Logf("copyrect rectangles: %d, raw: %d", c.dec.seen[EncodingCopyRect], c.dec.seen[EncodingRaw])
}

// TestRealServerInput types into an xterm through Key events, after moving the pointer over it
// (no window manager: focus follows the pointer), and reads what the shell received.
func TestRealServerInput(t *testing.T) {
	v := testenv.StartVNC(t)
	out := filepath.Join(t.TempDir(), "typed")
	term := v.Command(t, "xterm", "-geometry", "40x5+0+0", "-e", "sh", "-c", `read line; echo "$line" > "$0"; sleep 600`, out)
	if err := term.Start(); err != nil {
		t.Skipf("xterm: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, v.Addr, []byte(v.Password), Options{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	time.Sleep(time.Second) // let xterm map before the pointer enters it
	if err := c.Pointer(50, 30, 0); err != nil {
		t.Fatal(err)
	}
	const text = "vigil 42"
	keys := []uint32{}
	for _, r := range text {
		keys = append(keys, uint32(r)) // Latin-1 keysyms equal their code points
	}
	keys = append(keys, 0xff0d) // Return
	for _, k := range keys {
		if err := c.Key(true, k); err != nil {
			t.Fatal(err)
		}
		if err := c.Key(false, k); err != nil {
			t.Fatal(err)
		}
	}
	for ctx.Err() == nil {
		if b, err := os.ReadFile(out); err == nil && strings.TrimSpace(string(b)) == text {
			return
		}
		// Keep reading updates, as a viewer would, so the server is never blocked on us.
		uctx, ucancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := c.Next(uctx)
		ucancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(out)
	t.Fatalf("the shell read %q, want %q", b, text)
}
