package player

// The desktop websocket (GET /api/desktop/connect/{target}, GET /api/desktop/shadow/{id}).
//
// Browser to server, text messages of JSON:
//
//	{"type":"hello","csrf":"...","w":1280,"h":720}   first, within 10 s; w, h: the viewport (Connect)
//	{"type":"ack","seq":N}                            frame N is on the canvas
//	{"type":"key","code":"KeyA","key":"a","down":true}        KeyboardEvent.code and .key
//	{"type":"pointer","x":10,"y":20,"buttons":1}      desktop pixels; MouseEvent.buttons (1 left, 2 right, 4 middle)
//	{"type":"wheel","x":10,"y":20,"dx":0,"dy":-1}     one notch per message, by sign
//	{"type":"resize","w":1280,"h":720}                the browser window changed (debounced)
//	{"type":"clipboard","text":"..."}                 only if the server allows clipboard
//
// A shadow's input messages are dropped: it is read-only here and in Desktop.Input.
//
// Limits (desktop_limit.go): messages are read at most desktopMsgRate a second after a burst (the
// rest wait in the socket, nothing is dropped); at most desktopMaxHeld keys are down at once (a
// key-down beyond is dropped); clipboard text goes at most desktopClipRate bytes a second after
// one whole clipboard; sizes asked (hello, resize) are bounded to desktopMaxArea pixels,
// and resizes reach the target at most once every desktopResizeEvery, the latest winning. The
// server pings every desktopPingEvery; a browser silent for two intervals is gone (the session it
// opened ends).
//
// Server to browser, text messages of JSON:
//
//	{"type":"session","id":"...","readonly":false,"clipboard":true}   first
//	{"type":"size","w":1280,"h":720}      the desktop (re)starts at this size, black; tiles follow
//	{"type":"cursor","x":hx,"y":hy,"png":"<base64>"}   a new cursor image ("" hides the cursor)
//	{"type":"clipboard","text":"..."}     the target's clipboard (only if allowed)
//	{"type":"status","paused":true}       an auditor paused (or resumed) the session
//	{"type":"end","cause":"..."}          the session ended; a close 1000 follows
//
// and binary messages, integers big-endian:
//
//	1 tile       x u16, y u16, w u16, h u16, encoding u8, data: encoding 0 is raw RGBA rows, 1 is
//	             the same deflated (raw DEFLATE, RFC 1951: DecompressionStream("deflate-raw")),
//	             2 is RGB rows (alpha is always opaque), each byte minus the same channel of the
//	             pixel to its left (0 for the first pixel of a row), modulo 256, deflated
//	2 frame end  seq u32: the tiles since the last frame end make one consistent screen
//
// Flow: the server applies the session's damage to its own copy of the screen as fast as the ring
// delivers it, and only at frame boundaries publishes the changed rectangles. It sends what was
// published since the last send as one frame, at most desktopMaxFPS a second and with at most
// desktopInflight frames unacknowledged: a slow browser so gets the newest screen, never a
// backlog, and a lossy reader that is overrun anyway resyncs from Desktop.Attach. Tiles are lossless
// (JPEG is not, and a desktop is mostly text). Measured with BenchmarkDesktopTile (256x256 tiles,
// 2 cores): plain DEFLATE of RGBA gave text-like 2.2 KB in 0.33 ms but could not compress a
// smooth gradient at all (256 KB), where PNG, thanks to its row filters, gave 2 KB; Go's PNG
// encoder however took 3.3-39 ms a tile, too slow for 30 frames a second. Encoding 2 takes PNG's
// idea at DEFLATE's speed: drop the opaque alpha, predict each pixel from its left neighbour,
// deflate (figures in the benchmark's doc). Encoding 1 is still understood by the page.
//
// Close codes: 1000 the session ended, 4400 a malformed hello, 4403 a wrong CSRF token or a
// target the user holds no grant to, 4404 no such target or live session, 1011 a failure.

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// Limits of the desktop websocket.
const (
	desktopMaxFPS   = 30          // frames a second, at most
	desktopInflight = 2           // frames sent and not yet acknowledged, at most
	desktopTile     = 256         // a tile's largest side
	desktopMerge    = 64 * 64     // pixels two rectangles may waste to be sent as one
	desktopMaxRects = 64          // more changed rectangles than this are sent as their union
	desktopPoll     = time.Second // how often the paused state is asked
	helloTimeout    = 10 * time.Second
	writeTimeout    = 30 * time.Second
	minDesktopSide  = 64
)

// Binary message types.
const (
	msgTile     byte = 1
	msgFrameEnd byte = 2
)

// Tile encodings.
const (
	tileRaw     byte = 0
	tileDeflate byte = 1
	tileLeftRGB byte = 2
)

// Close codes of the desktop websocket (4000-4999 are the application's).
const (
	closeBadHello  = 4400
	closeForbidden = 4403
	closeNotFound  = 4404
)

// desktopReadHook, when set (by tests, before any connection), runs before each ring read: a
// test blocks it to make a reader fall behind.
var desktopReadHook func()

// errResync: the reader met a damage event it cannot apply; attach again.
var errResync = errors.New("player: desktop: resync")

// clientMsg is any message from the browser.
type clientMsg struct {
	Type    string  `json:"type"`
	CSRF    string  `json:"csrf,omitempty"`
	W       int     `json:"w,omitempty"`
	H       int     `json:"h,omitempty"`
	Seq     uint32  `json:"seq,omitempty"`
	Code    string  `json:"code,omitempty"`
	Key     string  `json:"key,omitempty"`
	Down    bool    `json:"down,omitempty"`
	X       int     `json:"x,omitempty"`
	Y       int     `json:"y,omitempty"`
	Buttons int     `json:"buttons,omitempty"`
	DX      float64 `json:"dx,omitempty"`
	DY      float64 `json:"dy,omitempty"`
	Text    string  `json:"text,omitempty"`
}

// hello is the browser's first message.
type hello = clientMsg

// errBadMessage is parseClientMsg's answer to anything but a known message.
var errBadMessage = errors.New("player: desktop: malformed message")

// parseClientMsg decodes and checks one message from the browser.
func parseClientMsg(data []byte) (clientMsg, error) {
	var m clientMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return clientMsg{}, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	switch m.Type {
	case "hello", "resize":
		if m.W < 0 || m.H < 0 || m.W > frame.MaxSide || m.H > frame.MaxSide {
			return clientMsg{}, fmt.Errorf("%w: size %dx%d", errBadMessage, m.W, m.H)
		}
	case "pointer", "wheel":
		if m.X < 0 || m.Y < 0 || m.X > frame.MaxSide || m.Y > frame.MaxSide || m.Buttons < 0 || m.Buttons > 0xff {
			return clientMsg{}, fmt.Errorf("%w: pointer", errBadMessage)
		}
	case "key":
		if len(m.Code) > 64 || len(m.Key) > 64 {
			return clientMsg{}, fmt.Errorf("%w: key", errBadMessage)
		}
	case "clipboard":
		if len(m.Text) > frame.MaxClipboard {
			return clientMsg{}, fmt.Errorf("%w: clipboard of %d bytes", errBadMessage, len(m.Text))
		}
	case "ack":
	default:
		return clientMsg{}, fmt.Errorf("%w: type %q", errBadMessage, m.Type)
	}
	return m, nil
}

// desktopOpen says how serveDesktop gets its Desktop once the hello checked out.
type desktopOpen struct {
	target   string
	readOnly bool
	open     func(ctx context.Context, h hello) (Desktop, error)
}

func closeWS(ws *websocket.Conn, code int, text string) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// serveDesktop upgrades, checks the hello, opens the Desktop and runs the connection until the
// session ends or the browser leaves.
func (s *Server) serveDesktop(w http.ResponseWriter, r *http.Request, l *login, o desktopOpen) {
	up := websocket.Upgrader{HandshakeTimeout: helloTimeout, CheckOrigin: sameOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered already
	}
	defer ws.Close()
	if o.readOnly || !s.cfg.DesktopClipboard {
		ws.SetReadLimit(4 << 10)
	} else {
		ws.SetReadLimit(2*frame.MaxClipboard + 4<<10) // JSON escapes can double the text
	}
	_ = ws.SetReadDeadline(time.Now().Add(helloTimeout))
	_, data, err := ws.ReadMessage()
	if err != nil {
		return
	}
	h, err := parseClientMsg(data)
	if err != nil || h.Type != "hello" {
		closeWS(ws, closeBadHello, "expected a hello")
		return
	}
	if subtle.ConstantTimeCompare([]byte(h.CSRF), []byte(l.csrf)) != 1 {
		closeWS(ws, closeForbidden, "missing or wrong CSRF token")
		return
	}
	_ = ws.SetReadDeadline(time.Time{})
	if h.W > 0 && h.H > 0 {
		h.W, h.H = clampDesktopSize(h.W, h.H)
	} else {
		h.W, h.H = 0, 0 // no preference: the target keeps its size
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	d, err := o.open(ctx, h)
	switch {
	case errors.Is(err, ErrForbidden):
		closeWS(ws, closeForbidden, "you may not open this target")
		return
	case errors.Is(err, ErrNotFound):
		closeWS(ws, closeNotFound, "no such target or session")
		return
	case err != nil:
		s.log.Error("web: open desktop", "user", l.user.Name, "target", o.target, "err", err)
		msg := "cannot open the session"
		// The gateway may say why in terms fit for the user (no address, no internal detail).
		var um interface{ UserMessage() string }
		if errors.As(err, &um) && um.UserMessage() != "" {
			msg += ": " + um.UserMessage()
		}
		closeWS(ws, websocket.CloseInternalServerErr, msg)
		return
	}
	defer d.Close()
	var clk clock = realClock{}
	if p := desktopClock.Load(); p != nil {
		clk = *p
	}
	c := &desktopConn{ws: ws, d: d, log: s.log, live: s.cfg.Live, readOnly: o.readOnly,
		clipboard: s.cfg.DesktopClipboard, ready: make(chan struct{}, 1), ackSig: make(chan struct{}, 1),
		hook: desktopReadHook, clock: clk, rate: newBucket(desktopMsgRate, desktopMsgBurst, clk.Now()),
		clipRate: newBucket(desktopClipRate, frame.MaxClipboard, clk.Now()),
		resize:   newResizer(), pingEvery: time.Duration(desktopPingEvery.Load())}
	c.run(ctx)
}

// desktopConn is one browser's desktop websocket. The pump goroutine owns the reader and writes
// the shared state under mu; the send loop (the handler's goroutine) is the only writer to ws;
// the receive goroutine is the only reader of ws and the only caller of Desktop.Input; the resizer's
// goroutine is the only caller of Desktop.Resize.
type desktopConn struct {
	ws        *websocket.Conn
	d         Desktop
	log       *slog.Logger
	live      LiveSessions
	readOnly  bool
	clipboard bool
	hook      func() // tests: called before each ring read

	ready   chan struct{} // pump -> send loop: something was published
	ackSig  chan struct{} // recv -> send loop: an ack arrived
	acked   atomic.Uint32
	resyncs atomic.Int64

	mu      sync.Mutex
	fb      *frame.Framebuffer // the pump's model, mid-update at times
	pub     *image.RGBA        // the screen as of the last Frame event
	dirty   []image.Rectangle  // of pub, since the last send
	resized bool               // pub has a new size since the last send
	cursor  []byte             // a cursor message to send, or nil
	clip    *string            // the target's clipboard to send, or nil
	failed  error              // the pump gave up

	// recv goroutine only
	held     map[string]uint32 // code -> keysym of keys down, so a key goes up as it went down
	buttons  uint8             // RFB mask of the buttons down
	clock    clock
	rate     *bucket  // messages from the browser
	clipRate *bucket  // bytes of clipboard from the browser
	resize   *resizer // its goroutine is the only caller of Desktop.Resize

	pingEvery time.Duration
}

func (c *desktopConn) signal() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

func (c *desktopConn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		c.ws.Close() // unblocks the receive goroutine
		wg.Wait()
	}()
	wg.Add(4)
	go func() {
		defer wg.Done()
		c.pingLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		defer cancel() // the browser left
		c.recvLoop()
	}()
	go func() {
		defer wg.Done()
		c.resize.run(ctx, c.d, func(err error) {
			if !errors.Is(err, errors.ErrUnsupported) {
				c.log.Debug("web: desktop: resize", "session", c.d.ID(), "err", err)
			}
		})
	}()
	go func() {
		defer wg.Done()
		if err := c.pump(ctx); err != nil && ctx.Err() == nil {
			c.mu.Lock()
			c.failed = err
			c.mu.Unlock()
			c.signal()
		}
	}()
	c.sendLoop(ctx)
}

// pump follows the session's ring, resyncing from a fresh Attach when overrun.
func (c *desktopConn) pump(ctx context.Context) error {
	for {
		img, rd, err := c.d.Attach()
		if err != nil {
			select {
			case <-c.d.Done():
				return nil // ended between two attaches: the send loop reports the cause
			default:
			}
			return fmt.Errorf("desktop: attach: %w", err)
		}
		c.load(img)
		err = c.follow(ctx, rd)
		rd.Close()
		if errors.Is(err, capture.ErrOverrun) || errors.Is(err, errResync) {
			c.resyncs.Add(1)
			continue
		}
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return nil
		}
		return err
	}
}

// load replaces the screen with a fresh snapshot and publishes all of it.
func (c *desktopConn) load(img *image.RGBA) {
	c.mu.Lock()
	if c.fb == nil {
		c.fb = frame.NewFramebuffer(img.Bounds().Dx(), img.Bounds().Dy())
	}
	c.fb.Load(img)
	c.fb.TakeDirty()
	// Apply makes every pixel opaque; a snapshot from elsewhere may not be, and the canvas
	// would show a transparent X byte as a hole.
	pix := c.fb.Image().Pix
	for i := 3; i < len(pix); i += 4 {
		pix[i] = 0xff
	}
	c.pub = c.fb.Snapshot()
	c.resized = true
	c.dirty = append(c.dirty[:0], c.pub.Bounds())
	c.mu.Unlock()
	c.signal()
}

func (c *desktopConn) follow(ctx context.Context, rd *capture.Reader) error {
	for {
		if c.hook != nil {
			c.hook()
		}
		ev, err := rd.Next(ctx)
		if err != nil {
			return err
		}
		switch ev.Type {
		case capture.TypeDamage:
			if err := c.apply(ev.Payload); err != nil {
				c.log.Warn("web: desktop: bad damage event, resyncing", "session", c.d.ID(), "err", err)
				return errResync
			}
		case capture.TypeOutput:
			if !c.clipboard {
				continue
			}
			if in, err := frame.ParseInput(ev.Payload); err == nil && in.Kind == frame.InputClipboard {
				text := string(in.Text)
				c.mu.Lock()
				c.clip = &text
				c.mu.Unlock()
				c.signal()
			}
		}
	}
}

func (c *desktopConn) apply(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.fb.Apply(p)
	if err != nil {
		return err
	}
	switch d.Kind {
	case frame.KindFrame:
		c.publishLocked()
		c.signal()
	case frame.KindCursor:
		c.cursor = cursorMessage(d)
		c.signal()
	}
	return nil
}

// publishLocked copies what changed in the model since the last Frame into pub.
func (c *desktopConn) publishLocked() {
	rects, resized := c.fb.TakeDirty()
	img := c.fb.Image()
	if resized || c.pub.Bounds() != img.Bounds() {
		c.pub = c.fb.Snapshot()
		c.resized = true
		c.dirty = append(c.dirty[:0], c.pub.Bounds())
		return
	}
	for _, r := range rects {
		w := r.Dx() * 4
		for y := r.Min.Y; y < r.Max.Y; y++ {
			i := img.PixOffset(r.Min.X, y)
			copy(c.pub.Pix[i:i+w], img.Pix[i:i+w])
		}
	}
	c.dirty = append(c.dirty, rects...)
	if len(c.dirty) > 4*desktopMaxRects { // a flood of small updates: keep the list short
		c.dirty = coalesce(c.dirty, c.pub.Bounds())
	}
}

// cursorMessage encodes a cursor as the JSON message the page sets as the canvas's CSS cursor.
func cursorMessage(d frame.Damage) []byte {
	m := map[string]any{"type": "cursor", "x": d.Src.X, "y": d.Src.Y, "png": ""}
	if w, h := d.Rect.Dx(), d.Rect.Dy(); w > 0 && h > 0 {
		img := &image.NRGBA{Pix: append([]byte(nil), d.Pix...), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
		var b bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err == nil {
			m["png"] = base64.StdEncoding.EncodeToString(b.Bytes())
		}
	}
	out, _ := json.Marshal(m)
	return out
}
