package player

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/flate"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// desktopFixture is the server's fixture with graphical sessions: alice may connect to desk01
// (conn); d-live is a graphical session in progress, and l-bob, which the live list knows, too.
type desktopFixture struct {
	*fixture
	desks *fakeDesktops
	conn  *fakeDesktop
}

func newDesktopFixture(t *testing.T, cfg capture.Config) *desktopFixture {
	f := newFixture(t)
	conn := newFakeDesktop(t, "d-conn", testScreen(600, 300, 1), cfg)
	live := newFakeDesktop(t, "d-live", testScreen(320, 200, 2), cfg)
	live.readOnly = true
	bob := newFakeDesktop(t, "l-bob", testScreen(64, 64, 3), cfg)
	bob.readOnly = true
	desks := &fakeDesktops{conn: conn, live: map[string]*fakeDesktop{"d-live": live, "l-bob": bob}}
	// Before the first request: handlers read cfg per request.
	f.srv.cfg.Desktops = desks
	f.srv.cfg.DesktopClipboard = true
	return &desktopFixture{fixture: f, desks: desks, conn: conn}
}

// viewer is the browser side of a desktop websocket, in Go: it keeps the screen the messages
// paint and acknowledges frames as the page does.
type viewer struct {
	t      *testing.T
	ws     *websocket.Conn
	img    *image.RGBA
	frames int
	text   []map[string]any // every text message, in order
	closed *websocket.CloseError
}

func (f *desktopFixture) dial(t *testing.T, c *client, path string, hello map[string]any) (*viewer, *http.Response, error) {
	t.Helper()
	h := http.Header{"Origin": {f.ts.URL}}
	if c != nil {
		h.Set("Cookie", c.cookie.String())
	}
	ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.ts.URL, "http")+path, h)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { ws.Close() })
	if hello != nil {
		if err := ws.WriteJSON(hello); err != nil {
			t.Fatal(err)
		}
	}
	return &viewer{t: t, ws: ws}, res, nil
}

func (f *desktopFixture) connect(t *testing.T, user string) *viewer {
	t.Helper()
	c := f.mustLogin(t, user)
	v, res, err := f.dial(t, c, "/api/desktop/connect/desk01", map[string]any{"type": "hello", "csrf": c.csrf, "w": 1024, "h": 768})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	return v
}

// next reads and applies one message; false once the socket closed.
func (v *viewer) next() bool {
	v.t.Helper()
	_ = v.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, data, err := v.ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			v.closed = ce
			return false
		}
		v.t.Fatalf("read: %v", err)
	}
	if typ == websocket.TextMessage {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			v.t.Fatalf("text message %q: %v", data, err)
		}
		v.text = append(v.text, m)
		if m["type"] == "size" {
			v.img = image.NewRGBA(image.Rect(0, 0, int(m["w"].(float64)), int(m["h"].(float64))))
		}
		return true
	}
	switch data[0] {
	case msgTile:
		u := func(i int) int { return int(binary.BigEndian.Uint16(data[1+2*i:])) }
		r := image.Rect(u(0), u(1), u(0)+u(2), u(1)+u(3))
		pix := data[10:]
		if data[9] == tileDeflate || data[9] == tileLeftRGB {
			var err error
			if pix, err = io.ReadAll(flate.NewReader(bytes.NewReader(pix))); err != nil {
				v.t.Fatalf("inflate tile %v: %v", r, err)
			}
		}
		if data[9] == tileLeftRGB {
			if len(pix) != r.Dx()*r.Dy()*3 {
				v.t.Fatalf("tile %v: %d RGB bytes", r, len(pix))
			}
			pix = unLeftRGB(nil, pix, r.Dx())
		}
		if v.img == nil || !r.In(v.img.Bounds()) || len(pix) != r.Dx()*r.Dy()*4 {
			v.t.Fatalf("tile %v of %d bytes on a screen of %v", r, len(pix), v.img)
		}
		for y := 0; y < r.Dy(); y++ {
			copy(v.img.Pix[v.img.PixOffset(r.Min.X, r.Min.Y+y):], pix[y*r.Dx()*4:(y+1)*r.Dx()*4])
		}
	case msgFrameEnd:
		v.frames++
		if err := v.ws.WriteJSON(map[string]any{"type": "ack", "seq": binary.BigEndian.Uint32(data[1:])}); err != nil {
			v.t.Fatal(err)
		}
	default:
		v.t.Fatalf("unknown binary message %d", data[0])
	}
	return true
}

// waitScreen reads until a frame ends with the screen equal to want.
func (v *viewer) waitScreen(want *image.RGBA) {
	v.t.Helper()
	for {
		frames := v.frames
		if !v.next() {
			v.t.Fatalf("closed before the screen matched: %v", v.closed)
		}
		if v.frames > frames && v.img != nil && v.img.Bounds() == want.Bounds() && bytes.Equal(v.img.Pix, want.Pix) {
			return
		}
	}
}

// waitText reads until a text message of that type arrives.
func (v *viewer) waitText(typ string) map[string]any {
	v.t.Helper()
	for {
		for _, m := range v.text {
			if m["type"] == typ {
				return m
			}
		}
		if !v.next() {
			v.t.Fatalf("closed before a %q message: %v", typ, v.closed)
		}
	}
}

// waitClose reads until the socket closes and returns its close code.
func (v *viewer) waitClose() int {
	v.t.Helper()
	for v.next() {
	}
	return v.closed.Code
}

func TestDesktopScreenPixelExact(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	if m := v.waitText("session"); m["id"] != "d-conn" || m["readonly"] != false {
		t.Fatalf("session message %v", m)
	}
	want := testScreen(600, 300, 1)
	v.waitScreen(want)

	// An update of two rectangles, one across tile borders.
	next := testScreen(600, 300, 9)
	rects := []image.Rectangle{image.Rect(250, 10, 530, 290), image.Rect(0, 0, 3, 1)}
	f.conn.update(next, rects...)
	for _, r := range rects {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			copy(want.Pix[want.PixOffset(r.Min.X, y):want.PixOffset(r.Max.X, y)], next.Pix[next.PixOffset(r.Min.X, y):])
		}
	}
	v.waitScreen(want)

	// A copy (a scroll), as VNC's CopyRect sends it.
	f.conn.mu.Lock()
	if err := f.conn.em.Copy(image.Rect(0, 0, 600, 200), image.Pt(0, 100)); err == nil {
		err = f.conn.em.Frame()
	}
	want = f.conn.fb.Snapshot()
	f.conn.mu.Unlock()
	v.waitScreen(want)

	// A new desktop size.
	bigger := testScreen(800, 520, 4)
	f.conn.resize(bigger)
	v.waitScreen(bigger)
	if sizes := countText(v.text, "size"); sizes != 2 {
		t.Errorf("%d size messages, want 2", sizes)
	}
	if got := f.desks.connects; len(got) != 1 || got[0] != "alice desk01 1024x768" {
		t.Errorf("connects %v", got)
	}
}

func countText(msgs []map[string]any, typ string) int {
	n := 0
	for _, m := range msgs {
		if m["type"] == typ {
			n++
		}
	}
	return n
}

// TestDesktopResyncAfterOverrun holds the server's reader while the session writes more than the
// ring holds: the reader is overrun, attaches again, and the browser still ends on the exact
// screen.
func TestDesktopResyncAfterOverrun(t *testing.T) {
	var gate atomic.Pointer[chan struct{}]
	desktopReadHook = func() {
		if g := gate.Load(); g != nil {
			<-*g
		}
	}
	t.Cleanup(func() { desktopReadHook = nil })
	small := capture.Config{ArenaBytes: 256 << 10, Records: 16, MaxRead: 64 << 10, StallTimeout: time.Second}
	f := newDesktopFixture(t, small)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))

	block := make(chan struct{})
	gate.Store(&block)
	var last *image.RGBA
	for i := range 40 { // 80 events through a ring of 16
		last = testScreen(600, 300, uint64(10+i))
		f.conn.update(last, image.Rect(i*10, 0, i*10+64, 64), image.Rect(0, 100, 600, 110))
	}
	f.conn.mu.Lock()
	want := f.conn.fb.Snapshot()
	f.conn.mu.Unlock()
	gate.Store(nil)
	close(block)
	v.waitScreen(want)
	if n := f.conn.attaches.Load(); n < 2 {
		t.Errorf("%d attaches: the reader was not overrun and resynced", n)
	}
}

func TestDesktopInput(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))
	msgs := []map[string]any{
		{"type": "key", "code": "ShiftLeft", "key": "Shift", "down": true},
		{"type": "key", "code": "KeyA", "key": "A", "down": true},
		{"type": "key", "code": "ShiftLeft", "key": "Shift", "down": false},
		{"type": "key", "code": "KeyA", "key": "a", "down": false}, // goes up as it went down
		{"type": "key", "code": "ArrowUp", "key": "ArrowUp", "down": true},
		{"type": "key", "code": "Fn", "key": "Fn", "down": true}, // unmapped: dropped
		{"type": "pointer", "x": 10, "y": 20, "buttons": 2},      // browser right
		{"type": "wheel", "x": 11, "y": 21, "dy": 3},
		{"type": "pointer", "x": 12, "y": 22, "buttons": 0},
		{"type": "clipboard", "text": "hello from the browser"},
		{"type": "resize", "w": 1280, "h": 10}, // clamped to the minimum
		{"type": "nonsense"},
		{"type": "pointer", "x": -5, "y": 0}, // malformed: dropped
	}
	for _, m := range msgs {
		if err := v.ws.WriteJSON(m); err != nil {
			t.Fatal(err)
		}
	}
	// Resizes go to the target from a goroutine of their own; one still waiting when the
	// browser leaves is dropped.
	waitFor(t, "the resize", func() bool { return len(f.conn.gotResizes()) > 0 })
	v.ws.Close()
	select {
	case <-f.conn.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the session was not closed when the browser left")
	}
	key := func(down bool, ks uint32, sc uint16) frame.Input {
		return frame.Input{Kind: frame.InputKey, Down: down, Keysym: ks, Scancode: sc}
	}
	ptr := func(x, y int, b uint8) frame.Input {
		return frame.Input{Kind: frame.InputPointer, X: x, Y: y, Buttons: b}
	}
	want := []frame.Input{
		key(true, 0xffe1, 0x2a), key(true, 'A', 0x1e), key(false, 0xffe1, 0x2a), key(false, 'A', 0x1e),
		key(true, 0xff52, 0x148),
		ptr(10, 20, frame.ButtonRight),
		ptr(11, 21, frame.ButtonRight|frame.ButtonWheelDown), ptr(11, 21, frame.ButtonRight),
		ptr(12, 22, 0),
		{Kind: frame.InputClipboard, Text: []byte("hello from the browser")},
		key(false, 0xff52, 0x148), // released when the browser left
	}
	got := f.conn.gotInputs()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inputs\n got %v\nwant %v", got, want)
	}
	if got := f.conn.gotResizes(); fmt.Sprint(got) != fmt.Sprint([]image.Point{{1280, minDesktopSide}}) {
		t.Errorf("resizes %v", got)
	}
}

func TestDesktopShadowIsReadOnly(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	c := f.mustLogin(t, "carol")
	v, _, err := f.dial(t, c, "/api/desktop/shadow/d-live", map[string]any{"type": "hello", "csrf": c.csrf})
	if err != nil {
		t.Fatal(err)
	}
	if m := v.waitText("session"); m["readonly"] != true || m["clipboard"] != false {
		t.Errorf("session message %v", m)
	}
	v.waitScreen(testScreen(320, 200, 2))
	for _, m := range []map[string]any{
		{"type": "key", "code": "KeyA", "key": "a", "down": true},
		{"type": "pointer", "x": 1, "y": 1, "buttons": 1},
		{"type": "clipboard", "text": "x"},
		{"type": "resize", "w": 800, "h": 600},
	} {
		if err := v.ws.WriteJSON(m); err != nil {
			t.Fatal(err)
		}
	}
	v.ws.Close()
	d := f.desks.live["d-live"]
	select {
	case <-d.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the shadow was not detached")
	}
	if in := d.gotInputs(); len(in) != 0 || len(d.gotResizes()) != 0 {
		t.Errorf("a shadow sent input %v, resizes %v", in, d.gotResizes())
	}
	if !f.audited("web.live.shadow", "carol", "d-live") {
		t.Error("the shadow was not audited")
	}
}

func (f *desktopFixture) audited(kind, user, session string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.audits {
		if a.Kind == kind && a.User == user && a.Session == session {
			return true
		}
	}
	return false
}

// TestDesktopRefused covers every way in that must not open a session.
func TestDesktopRefused(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	alice, bob, carol := f.mustLogin(t, "alice"), f.mustLogin(t, "bob"), f.mustLogin(t, "carol")
	tests := []struct {
		name   string
		c      *client
		path   string
		hello  map[string]any
		origin string
		status int // refused at the handshake, or
		close  int // closed after it
	}{
		{"no login", nil, "/api/desktop/connect/desk01", nil, "", http.StatusUnauthorized, 0},
		{"foreign origin", alice, "/api/desktop/connect/desk01", nil, "https://evil.example", http.StatusForbidden, 0},
		{"user may not shadow", alice, "/api/desktop/shadow/d-live", nil, "", http.StatusForbidden, 0},
		{"no csrf token", alice, "/api/desktop/connect/desk01", map[string]any{"type": "hello", "w": 800, "h": 600}, "", 0, closeForbidden},
		{"wrong csrf token", alice, "/api/desktop/connect/desk01", map[string]any{"type": "hello", "csrf": bob.csrf}, "", 0, closeForbidden},
		{"not a hello", alice, "/api/desktop/connect/desk01", map[string]any{"type": "key", "code": "KeyA"}, "", 0, closeBadHello},
		{"no grant", bob, "/api/desktop/connect/desk01", map[string]any{"type": "hello", "csrf": bob.csrf}, "", 0, closeForbidden},
		{"unknown target", alice, "/api/desktop/connect/nope", map[string]any{"type": "hello", "csrf": alice.csrf}, "", 0, closeNotFound},
		{"unknown session", carol, "/api/desktop/shadow/nope", map[string]any{"type": "hello", "csrf": carol.csrf}, "", 0, closeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Origin": {f.ts.URL}}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			if tt.c != nil {
				h.Set("Cookie", tt.c.cookie.String())
			}
			ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.ts.URL, "http")+tt.path, h)
			if tt.status != 0 {
				if err == nil || res == nil || res.StatusCode != tt.status {
					t.Fatalf("handshake: %v, %v; want status %d", err, res, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			if err := ws.WriteJSON(tt.hello); err != nil {
				t.Fatal(err)
			}
			v := &viewer{t: t, ws: ws}
			if code := v.waitClose(); code != tt.close {
				t.Errorf("close %d (%s), want %d", code, v.closed.Text, tt.close)
			}
			if countText(v.text, "session") != 0 {
				t.Error("a session message was sent")
			}
		})
	}
	for _, c := range f.desks.connects {
		if strings.HasPrefix(c, "alice desk01") {
			t.Errorf("a refused request connected: %v", f.desks.connects)
		}
	}
}

func TestDesktopEndsWithCause(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))
	f.conn.endCause = "terminated by carol: audit"
	f.conn.end(errors.New("terminated by carol: audit: via 10.9.8.7:5900"))
	m := v.waitText("end")
	if m["cause"] != "terminated by carol: audit" {
		t.Errorf("end message %v", m)
	}
	if code := v.waitClose(); code != websocket.CloseNormalClosure {
		t.Errorf("close %d, want 1000", code)
	}
}

// TestDesktopClipboardAndCursor: the target's clipboard and cursor reach the browser.
func TestDesktopClipboardAndCursor(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))
	f.conn.writeRaw(capture.TypeOutput, frame.Input{Kind: frame.InputClipboard, Text: []byte("from the target")}.Append(nil))
	cur := image.NewRGBA(image.Rect(0, 0, 4, 4))
	f.conn.writeRaw(capture.TypeDamage, frame.AppendCursor(nil, cur, image.Pt(1, 2)))
	f.conn.update(testScreen(600, 300, 1), image.Rect(0, 0, 1, 1))
	if m := v.waitText("clipboard"); m["text"] != "from the target" {
		t.Errorf("clipboard message %v", m)
	}
	if m := v.waitText("cursor"); m["x"] != 1.0 || m["y"] != 2.0 || m["png"] == "" {
		t.Errorf("cursor message %v", m)
	}
}

// TestDesktopPausedStatus: pausing the session from the live controls shows on its shadow.
func TestDesktopPausedStatus(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	c := f.mustLogin(t, "carol")
	v, _, err := f.dial(t, c, "/api/desktop/shadow/l-bob", map[string]any{"type": "hello", "csrf": c.csrf})
	if err != nil {
		t.Fatal(err)
	}
	v.waitScreen(testScreen(64, 64, 3))
	if r := f.do(t, c, "POST", "/api/live/l-bob/pause", `{"reason":"look"}`, nil); r.code != http.StatusOK {
		t.Fatalf("pause: %d %s", r.code, r.body)
	}
	if m := v.waitText("status"); m["paused"] != true {
		t.Errorf("status message %v", m)
	}
}

func TestDesktopTargets(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	for _, tt := range []struct{ user, want string }{
		{"alice", `{"targets":[{"name":"desk01","protocol":"vnc"},{"name":"win01","protocol":"rdp"}]}`},
		{"bob", `{"targets":[]}`},
	} {
		r := f.do(t, f.mustLogin(t, tt.user), "GET", "/api/desktop/targets", "", nil)
		if r.code != http.StatusOK || strings.TrimSpace(r.body) != tt.want {
			t.Errorf("%s: %d %s, want %s", tt.user, r.code, r.body, tt.want)
		}
	}
}

func TestCoalesce(t *testing.T) {
	b := image.Rect(0, 0, 1000, 1000)
	tests := []struct {
		name string
		in   []image.Rectangle
		want int // rectangles out
	}{
		{"none", nil, 0},
		{"outside", []image.Rectangle{image.Rect(2000, 0, 2100, 10)}, 0},
		{"same twice", []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(0, 0, 10, 10)}, 1},
		{"adjacent", []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(10, 0, 20, 10)}, 1},
		{"far apart", []image.Rectangle{image.Rect(0, 0, 100, 100), image.Rect(800, 800, 900, 900)}, 2},
		{"chain", []image.Rectangle{image.Rect(0, 0, 100, 100), image.Rect(800, 0, 900, 100), image.Rect(100, 0, 800, 100)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := coalesce(tt.in, b)
			if len(out) != tt.want {
				t.Fatalf("coalesce(%v) = %v, want %d rectangles", tt.in, out, tt.want)
			}
			// Everything that changed is still covered.
			for _, r := range tt.in {
				r = r.Intersect(b)
				covered := r.Empty()
				for _, o := range out {
					covered = covered || r.In(o)
				}
				if !covered {
					t.Errorf("%v lost from %v", r, out)
				}
			}
		})
	}
	many := make([]image.Rectangle, desktopMaxRects+1)
	for i := range many {
		many[i] = image.Rect(i*100, i*100, i*100+2, i*100+2) // too far apart to merge
	}
	if out := coalesce(many[:desktopMaxRects], image.Rect(0, 0, 8000, 8000)); len(out) != desktopMaxRects {
		t.Errorf("%d rectangles came out of %d", len(out), desktopMaxRects)
	}
	if out := coalesce(many, image.Rect(0, 0, 8000, 8000)); len(out) != 1 || out[0] != image.Rect(0, 0, desktopMaxRects*100+2, desktopMaxRects*100+2) {
		t.Errorf("many rectangles: %v", out)
	}
}

// FuzzParseClientMsg: whatever a browser sends, parsing does not panic, and what it accepts is
// in bounds and survives a round trip.
func FuzzParseClientMsg(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","csrf":"x","w":800,"h":600}`, `{"type":"key","code":"KeyA","key":"a","down":true}`,
		`{"type":"pointer","x":1,"y":2,"buttons":5}`, `{"type":"wheel","dy":-1}`, `{"type":"ack","seq":4}`,
		`{"type":"clipboard","text":"hi"}`, `{"type":"resize","w":-1}`, `[]`, `{"type":"pointer","x":1e9}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseClientMsg(data)
		if err != nil {
			if !errors.Is(err, errBadMessage) {
				t.Fatalf("error %v does not wrap errBadMessage", err)
			}
			return
		}
		if m.X < 0 || m.Y < 0 || m.X > frame.MaxSide || m.Y > frame.MaxSide || m.W < 0 || m.W > frame.MaxSide {
			if m.Type == "pointer" || m.Type == "wheel" || m.Type == "resize" || m.Type == "hello" {
				t.Fatalf("accepted out of bounds: %+v", m)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := parseClientMsg(again)
		if err != nil || fmt.Sprint(m2) != fmt.Sprint(m) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", m, again, m2, err)
		}
	})
}

func TestLeftRGBRoundTrip(t *testing.T) {
	for _, w := range []int{1, 2, 3, 255, 256} {
		img := testScreen(w, 7, uint64(w))
		pix := img.Pix
		rgb := leftRGB(nil, pix, w)
		if len(rgb) != w*7*3 {
			t.Fatalf("width %d: %d RGB bytes", w, len(rgb))
		}
		if back := unLeftRGB(nil, rgb, w); !bytes.Equal(back, pix) {
			t.Errorf("width %d: round trip differs", w)
		}
	}
}
