package vnc

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

// paintTarget is a desktop.Target with a screen the test paints: each value on paint replaces
// the whole screen (a new image of any size is a resize).
type paintTarget struct {
	// rect, when set, is the only damage a same-size repaint reports (a small change).
	rect image.Rectangle
	// cursor, when set, is the pointer shape sent after the first update, hotspot (2, 3).
	cursor *image.RGBA
	img    *image.RGBA
	paint  chan *image.RGBA
	in     chan frame.Input
}

func newPaintTarget(w, h int, seed uint64) *paintTarget {
	return &paintTarget{img: noise(w, h, seed), paint: make(chan *image.RGBA, 4), in: make(chan frame.Input, 1024)}
}

func noise(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	// solid blocks too, so ZRLE's solid tiles are exercised
	for y := 0; y < min(h, 70); y++ {
		for x := 0; x < min(w, 130); x++ {
			o := img.PixOffset(x, y)
			copy(img.Pix[o:o+4], []byte{10, 200, 30, 0xff})
		}
	}
	return img
}

func (p *paintTarget) Size() (int, int) { return p.img.Rect.Dx(), p.img.Rect.Dy() }

func (p *paintTarget) Run(ctx context.Context, e *frame.Emitter) error {
	img := p.img
	if err := e.Size(img.Rect.Dx(), img.Rect.Dy()); err != nil {
		return err
	}
	if err := e.Update(img, []image.Rectangle{img.Rect}); err != nil {
		return err
	}
	if p.cursor != nil {
		if _, err := e.W.Write(capture.TypeDamage, 0, frame.AppendCursor(nil, p.cursor, image.Pt(2, 3))); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case next := <-p.paint:
			if next.Rect != img.Rect {
				if err := e.Size(next.Rect.Dx(), next.Rect.Dy()); err != nil {
					return err
				}
			}
			damage := next.Rect
			if next.Rect == img.Rect && !p.rect.Empty() {
				damage = p.rect
			}
			img = next
			if err := e.Update(img, []image.Rectangle{damage}); err != nil {
				return err
			}
		}
	}
}

func (p *paintTarget) Input(in frame.Input) error {
	in.Text = append([]byte(nil), in.Text...)
	select {
	case p.in <- in:
	default:
	}
	return nil
}
func (p *paintTarget) Resize(w, h int) error { return errors.ErrUnsupported }
func (p *paintTarget) Close() error          { return nil }

// frontEnd is a running Server whose Open starts a desktop.Session over newTarget.
type frontEnd struct {
	addr   string
	otps   *OTPs
	reg    *desktop.Registry
	srv    *Server
	mu     sync.Mutex
	audits []ServerEvent
}

func startFrontEnd(t testing.TB, newTarget func(ctx context.Context) (desktop.Target, error)) *frontEnd {
	t.Helper()
	fe := &frontEnd{otps: NewOTPs(time.Minute), reg: desktop.NewRegistry()}
	srv, err := NewServer(ServerConfig{Clipboard: true,
		OTPs: fe.otps,
		Open: func(ctx context.Context, g Grant, remote string) (*desktop.Session, error) {
			if g.Target == "missing" {
				return nil, errors.New("no such target")
			}
			tg, err := newTarget(ctx)
			if err != nil {
				return nil, err
			}
			return desktop.Start(context.Background(), desktop.Config{Recorder: &eventRecorder{}, Registry: fe.reg,
				Logger: slog.New(slog.DiscardHandler)},
				desktop.Info{User: g.User, Target: g.Target, Remote: remote, Protocol: "vnc", Via: "rfb"}, tg)
		},
		MaxFailuresPerMinute: 3,
		Audit: func(ev ServerEvent) {
			fe.mu.Lock()
			fe.audits = append(fe.audits, ev)
			fe.mu.Unlock()
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	fe.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fe.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, l := range fe.reg.Sessions() {
			if s, err := fe.reg.Session(l.ID); err == nil {
				s.End(nil)
				<-s.Done()
			}
		}
	})
	return fe
}

func (fe *frontEnd) issue(t *testing.T, user, target string) string {
	t.Helper()
	pw, err := fe.otps.Issue(user, target)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

// waitScreen reads updates until the client's framebuffer equals want.
func waitScreen(t *testing.T, c *Client, want *image.RGBA) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for countDiff(c.Framebuffer(), want) != 0 {
		if _, err := c.Next(ctx); err != nil {
			t.Fatalf("viewer never saw the screen (%d pixels differ): %v", countDiff(c.Framebuffer(), want), err)
		}
	}
}

// TestServerServesSession logs a scripted RFB client in with a one-time password, for each
// encoding, and checks it sees the target's screen exactly, follows a resize, and drives input.
func TestServerServesSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		encs []Encoding
	}{
		{"raw", []Encoding{EncodingRaw, EncodingDesktopSize}},
		{"zrle", []Encoding{EncodingZRLE, EncodingRaw, EncodingDesktopSize}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tg *paintTarget
			fe := startFrontEnd(t, func(context.Context) (desktop.Target, error) {
				tg = newPaintTarget(301, 157, 1)
				return tg, nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "alice", "desk1")), Options{Encodings: tc.encs})
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			defer c.Close()
			if c.Init().Width != 301 || c.Init().Height != 157 || c.Init().Name != "Vigil: desk1" {
				t.Fatalf("server init %+v", c.Init())
			}
			waitScreen(t, c, tg.img)
			next := noise(301, 157, 2)
			tg.paint <- next
			waitScreen(t, c, next)
			bigger := noise(410, 200, 3)
			tg.paint <- bigger
			waitScreen(t, c, bigger)

			if err := c.Pointer(5, 6, 1); err != nil {
				t.Fatal(err)
			}
			if err := c.Key(true, 0xff0d); err != nil {
				t.Fatal(err)
			}
			if err := c.CutText([]byte("caf\xe9")); err != nil {
				t.Fatal(err)
			}
			for _, want := range []frame.Input{{Kind: frame.InputPointer, X: 5, Y: 6, Buttons: 1},
				{Kind: frame.InputKey, Down: true, Keysym: 0xff0d}, {Kind: frame.InputClipboard, Text: []byte("café")}} {
				select {
				case got := <-tg.in:
					if !bytes.Equal(got.Append(nil), want.Append(nil)) {
						t.Fatalf("target got %+v, want %+v", got, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("target never got %+v", want)
				}
			}
			l := fe.reg.Sessions()
			if len(l) != 1 || l[0].User != "alice" || l[0].Via != "rfb" {
				t.Fatalf("live list %+v", l)
			}
			s, _ := fe.reg.Session(l[0].ID)
			c.Close()
			select {
			case <-s.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the session outlived its viewer")
			}
			if !errors.Is(s.Err(), desktop.ErrUserExit) {
				t.Fatalf("cause %v, want user exit", s.Err())
			}
		})
	}
}

// TestServerRefusesBadOTP: a wrong, a reused and an expired password are refused, each audited
// without the password; past the failure limit an address is refused before its password is
// checked.
func TestServerRefusesBadOTP(t *testing.T) {
	fe := startFrontEnd(t, func(context.Context) (desktop.Target, error) { return newPaintTarget(8, 8, 1), nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pw := fe.issue(t, "bob", "desk")
	c, err := Dial(ctx, fe.addr, []byte(pw), Options{})
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	c.Close()
	if _, err := Dial(ctx, fe.addr, []byte(pw), Options{}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("reused password: %v, want ErrAuthFailed", err)
	}
	if _, err := Dial(ctx, fe.addr, []byte("wrongpw1"), Options{}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "bob", "missing")), Options{}); !errors.Is(err, ErrAuthFailed) ||
		!strings.Contains(err.Error(), "no such target") {
		t.Fatalf("unopenable target: %v", err)
	}
	if _, err := Dial(ctx, fe.addr, []byte("wrongpw2"), Options{}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	// Three failures: the limit. Even the right password is refused now.
	if _, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "bob", "desk")), Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("over the limit: %v, want ErrRefused", err)
	}
	fe.mu.Lock()
	defer fe.mu.Unlock()
	var used, failed int
	for _, ev := range fe.audits {
		switch ev.Kind {
		case ServerOTPUsed:
			used++
		case ServerOTPFailed:
			failed++
		}
		if strings.Contains(ev.User+ev.Target+ev.Remote+errString(ev.Err), pw) {
			t.Fatal("a password in the audit log")
		}
	}
	if used != 2 || failed != 4 {
		t.Fatalf("audit: %d used, %d failed; want 2, 4", used, failed)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestServerPauseTerminate: a paused session shows the viewer a dimmed screen and drops its
// input; resume repaints; terminate ends the connection with the auditor's cause.
func TestServerPauseTerminate(t *testing.T) {
	var tg *paintTarget
	fe := startFrontEnd(t, func(context.Context) (desktop.Target, error) {
		tg = newPaintTarget(64, 48, 4)
		return tg, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "carol", "desk")), Options{Encodings: []Encoding{EncodingZRLE}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitScreen(t, c, tg.img)
	s, err := fe.reg.Session(fe.reg.Sessions()[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pause("os:auditor", "look"); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, c, dimmed(tg.img))
	if err := c.Key(true, 0xff0d); err != nil {
		t.Fatal(err)
	}
	// The server reads a viewer's messages in order: once the refresh asked for after the key
	// arrives, the key has been dropped.
	if err := c.Request(false, c.Framebuffer().Rect); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Resume("os:auditor"); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, c, tg.img)
	if err := c.Key(true, 0xff1b); err != nil { // Escape, after the resume
		t.Fatal(err)
	}
	select {
	case got := <-tg.in:
		if got.Keysym != 0xff1b {
			t.Fatalf("target got %#x: the key typed during the pause went through", got.Keysym)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no input after resume")
	}
	if err := s.Terminate("os:auditor", "enough"); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := c.Next(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the viewer stayed connected after terminate")
			}
			break
		}
	}
	<-s.Done()
	if !errors.Is(s.Err(), desktop.ErrTerminated) {
		t.Fatalf("cause %v", s.Err())
	}
}

// TestServerHostileViewers: malformed viewers are cut off and the server keeps serving.
func TestServerHostileViewers(t *testing.T) {
	fe := startFrontEnd(t, func(context.Context) (desktop.Target, error) { return newPaintTarget(32, 32, 5), nil })
	login := func(t *testing.T) net.Conn {
		pw := fe.issue(t, "mallory", "desk")
		conn, err := net.Dial("tcp", fe.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 12)
		io.ReadFull(conn, buf)
		conn.Write([]byte("RFB 003.008\n"))
		io.ReadFull(conn, buf[:2])
		conn.Write([]byte{secVNCAuth})
		if err := vncAuth(conn, conn, []byte(pw)); err != nil {
			t.Fatal(err)
		}
		io.ReadFull(conn, buf[:4])
		if !bytes.Equal(buf[:4], []byte{0, 0, 0, 0}) {
			t.Fatalf("login refused: %v", buf[:4])
		}
		conn.Write([]byte{1})
		return conn
	}
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"garbage type", []byte{0xee, 1, 2, 3}},
		{"huge encodings", []byte{msgSetEncodings, 0, 0xff, 0xff}},
		{"huge clipboard", []byte{msgClientCutText, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{"colour map", appendClientMessage(nil, clientMsg{Type: msgSetPixelFormat, Format: PixelFormat{BPP: 8, Depth: 8}})},
		{"bpp 24", appendClientMessage(nil, clientMsg{Type: msgSetPixelFormat, Format: PixelFormat{BPP: 24, Depth: 24, TrueColour: true}})},
		{"shift 200", appendClientMessage(nil, clientMsg{Type: msgSetPixelFormat, Format: PixelFormat{BPP: 32, Depth: 24, TrueColour: true, RedShift: 200}})},
		{"truncated", []byte{msgKeyEvent, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := login(t)
			defer conn.Close()
			conn.Write(tc.send)
			if tc.name == "truncated" {
				conn.(*net.TCPConn).CloseWrite()
			}
			// The server must close the connection; drain whatever it sent first.
			if _, err := io.Copy(io.Discard, conn); err != nil {
				t.Fatalf("server did not close the connection: %v", err)
			}
		})
	}
	// Garbage instead of a greeting.
	conn, err := net.Dial("tcp", fe.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write(bytes.Repeat([]byte{0xff}, 100))
	io.Copy(io.Discard, conn)
	conn.Close()
	// Still serving.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "alice", "desk")), Options{})
	if err != nil {
		t.Fatalf("after hostile viewers: %v", err)
	}
	c.Close()
}

func TestOTPs(t *testing.T) {
	o := NewOTPs(time.Minute)
	now := time.Unix(1000, 0)
	o.now = func() time.Time { return now }
	respond := func(pw string, ch [16]byte) (resp [16]byte) {
		var b bytes.Buffer
		vncAuth(bytes.NewReader(ch[:]), &b, []byte(pw))
		copy(resp[:], b.Bytes())
		return resp
	}
	var ch [16]byte
	copy(ch[:], "0123456789abcdef")
	pw, err := o.Issue("alice", "web01")
	if err != nil || len(pw) != OTPLen || strings.ContainsAny(pw, "0O1lI") {
		t.Fatalf("issue: %q %v", pw, err)
	}
	other, _ := o.Issue("bob", "db01")
	if g, err := o.Redeem(ch, respond(pw, ch)); err != nil || g != (Grant{"alice", "web01"}) {
		t.Fatalf("redeem: %+v %v", g, err)
	}
	if _, err := o.Redeem(ch, respond(pw, ch)); !errors.Is(err, ErrBadOTP) {
		t.Fatalf("second redeem: %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := o.Redeem(ch, respond(other, ch)); !errors.Is(err, ErrBadOTP) {
		t.Fatalf("expired redeem: %v", err)
	}
	if o.Outstanding() != 0 {
		t.Fatal("expired password kept")
	}
	o.Max = 2
	o.Issue("a", "b")
	o.Issue("a", "b")
	if _, err := o.Issue("a", "b"); !errors.Is(err, ErrTooManyOTPs) {
		t.Fatalf("over Max: %v", err)
	}
}

func TestPixelWriterFormats(t *testing.T) {
	for _, tc := range []struct {
		name string
		pf   PixelFormat
		want []byte // the pixel (255, 128, 0)
	}{
		{"rgba", rgbaFormat, []byte{255, 128, 0, 0}},
		{"bgrx32", PixelFormat{BPP: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16, GreenShift: 8}, []byte{0, 128, 255, 0}},
		{"rgb565be", PixelFormat{BPP: 16, Depth: 16, BigEndian: true, TrueColour: true, RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5}, []byte{0xfc, 0x00}},
		{"bgr233", PixelFormat{BPP: 8, Depth: 8, TrueColour: true, RedMax: 7, GreenMax: 7, BlueMax: 3, RedShift: 0, GreenShift: 3, BlueShift: 6}, []byte{0x7 | 4<<3}},
	} {
		w, err := newPixelWriter(tc.pf)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.pixel(nil, 255, 128, 0); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: pixel %x, want %x", tc.name, got, tc.want)
		}
	}
	// CPIXEL of a 32-bit format with colour in the high bytes, big-endian: the first three bytes.
	w, _ := newPixelWriter(PixelFormat{BPP: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 24, GreenShift: 16, BlueShift: 8})
	if got := w.cpixel(nil, 1, 2, 3); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("cpixel %x", got)
	}
}

// TestServerCursor: the target's pointer shape reaches a viewer that takes the Cursor
// pseudo-encoding, with its hotspot and mask (alpha at least half is opaque).
func TestServerCursor(t *testing.T) {
	cur := image.NewRGBA(image.Rect(0, 0, 11, 7))
	for i := 0; i < len(cur.Pix); i += 4 {
		cur.Pix[i], cur.Pix[i+1], cur.Pix[i+2], cur.Pix[i+3] = byte(i), 0x80, byte(i/4), byte(i*37)
	}
	fe := startFrontEnd(t, func(context.Context) (desktop.Target, error) {
		tg := newPaintTarget(40, 30, 6)
		tg.cursor = cur
		return tg, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "alice", "desk")), Options{Encodings: []Encoding{EncodingRaw, EncodingCursor}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		u, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("no cursor: %v", err)
		}
		if u.Cursor == nil {
			continue
		}
		if u.Cursor.Hotspot != image.Pt(2, 3) || u.Cursor.Image.Rect != cur.Rect {
			t.Fatalf("cursor %v hotspot %v", u.Cursor.Image.Rect, u.Cursor.Hotspot)
		}
		for i := 0; i < len(cur.Pix); i += 4 {
			got := u.Cursor.Image.Pix[i : i+4]
			if cur.Pix[i+3] >= 0x80 {
				if !bytes.Equal(got, append(append([]byte(nil), cur.Pix[i:i+3]...), 0xff)) {
					t.Fatalf("opaque pixel %d: %v, want %v", i/4, got, cur.Pix[i:i+3])
				}
			} else if got[3] != 0 {
				t.Fatalf("transparent pixel %d shown", i/4)
			}
		}
		return
	}
}

// TestServerClipboardOff: with the clipboard policy off (the default), a viewer's clipboard text
// never reaches the target, while its keys do.
func TestServerClipboardOff(t *testing.T) {
	var tg *paintTarget
	fe := startFrontEnd(t, func(context.Context) (desktop.Target, error) {
		tg = newPaintTarget(64, 48, 1)
		return tg, nil
	})
	fe.srv.cfg.Clipboard = false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fe.addr, []byte(fe.issue(t, "alice", "desk1")), Options{})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer c.Close()
	waitScreen(t, c, tg.img)
	if err := c.CutText([]byte("secret to carry out")); err != nil {
		t.Fatal(err)
	}
	if err := c.Key(true, 0xff0d); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-tg.in:
		if got.Kind != frame.InputKey {
			t.Fatalf("target got %+v first; the clipboard should have been dropped", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("target never got the key")
	}
}
