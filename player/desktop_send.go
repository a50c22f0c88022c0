package player

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/flate"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

// sendLoop is the only writer of the websocket: it sends published frames, within the rate and
// the in-flight window, the paused state, and the end.
func (c *desktopConn) sendLoop(ctx context.Context) {
	if !c.writeJSON(map[string]any{"type": "session", "id": c.d.ID(), "readonly": c.readOnly, "clipboard": c.clipboard && !c.readOnly}) {
		return
	}
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	defer gap.Stop()
	poll := time.NewTicker(desktopPoll)
	defer poll.Stop()
	enc := newTileEncoder()
	var (
		last    time.Time
		sent    uint32
		pending bool
		paused  = c.paused(ctx)
	)
	if paused {
		c.writeJSON(map[string]any{"type": "status", "paused": true})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.d.Done():
			c.end()
			return
		case <-c.ready:
			pending = true
		case <-c.ackSig:
		case <-gap.C:
		case <-poll.C:
			if p := c.paused(ctx); p != paused {
				paused = p
				if !c.writeJSON(map[string]any{"type": "status", "paused": p}) {
					return
				}
			}
		}
		if !pending || sent-c.acked.Load() >= desktopInflight {
			continue // a slow browser: damage keeps coalescing meanwhile
		}
		if wait := time.Second/desktopMaxFPS - time.Since(last); wait > 0 {
			gap.Reset(wait)
			continue
		}
		pending = false
		ok, err := c.sendFrame(enc, sent+1)
		if err != nil {
			if errors.Is(err, errPumpFailed) {
				c.log.Error("web: desktop", "session", c.d.ID(), "err", err)
				closeWS(c.ws, websocket.CloseInternalServerErr, "cannot follow the session")
			}
			return
		}
		if ok {
			sent++
			last = time.Now()
		}
	}
}

var errPumpFailed = errors.New("player: desktop: reader failed")

// sendFrame sends what was published since the last call as frame seq; false if there was
// nothing to send.
func (c *desktopConn) sendFrame(enc *tileEncoder, seq uint32) (bool, error) {
	c.mu.Lock()
	if c.failed != nil {
		err := c.failed
		c.mu.Unlock()
		return false, errors.Join(errPumpFailed, err)
	}
	var size image.Rectangle
	if c.resized {
		size = c.pub.Bounds()
	}
	cursor, clip := c.cursor, c.clip
	tiles := enc.cut(c.pub, coalesce(c.dirty, c.pub.Bounds()))
	c.dirty, c.resized, c.cursor, c.clip = c.dirty[:0], false, nil, nil
	c.mu.Unlock()

	if size.Empty() && cursor == nil && clip == nil && len(tiles) == 0 {
		return false, nil
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if !size.Empty() {
		if err := c.ws.WriteJSON(map[string]any{"type": "size", "w": size.Dx(), "h": size.Dy()}); err != nil {
			return false, err
		}
	}
	if cursor != nil {
		if err := c.ws.WriteMessage(websocket.TextMessage, cursor); err != nil {
			return false, err
		}
	}
	for _, t := range tiles {
		if err := c.ws.WriteMessage(websocket.BinaryMessage, enc.encode(t)); err != nil {
			return false, err
		}
	}
	if clip != nil {
		if err := c.ws.WriteJSON(map[string]any{"type": "clipboard", "text": *clip}); err != nil {
			return false, err
		}
	}
	end := binary.BigEndian.AppendUint32([]byte{msgFrameEnd}, seq)
	return true, c.ws.WriteMessage(websocket.BinaryMessage, end)
}

func (c *desktopConn) writeJSON(v any) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteJSON(v) == nil
}

// DesktopEndCauser is implemented by a Desktop that can say, once Done is closed, why it ended in a
// few words fit for the browser: "ended by user", "terminated by carol: enough", "target closed
// the connection", "recording failure", "logon failed". Err's text is not sent: it may carry what
// the browser's user must not learn (the target's address, a library's detail). "" means no more
// is known than that the session ended.
type DesktopEndCauser interface {
	EndCause() string
}

const endedCause = "the session ended"

// endCause is the cause the browser is told; the detail goes to the log.
func endCause(d Desktop, log *slog.Logger) string {
	err := d.Err()
	if err == nil {
		return endedCause
	}
	log.Info("web: desktop session ended", "session", d.ID(), "cause", err)
	if ec, ok := d.(DesktopEndCauser); ok {
		if c := ec.EndCause(); c != "" {
			return c
		}
	}
	return endedCause
}

// end tells the browser why the session ended, then closes normally.
func (c *desktopConn) end() {
	cause := endCause(c.d, c.log)
	if c.writeJSON(map[string]any{"type": "end", "cause": cause}) {
		closeWS(c.ws, websocket.CloseNormalClosure, "session ended")
	}
}

// paused asks the live list whether the session is paused; false when it cannot tell.
func (c *desktopConn) paused(ctx context.Context) bool {
	if c.live == nil {
		return false
	}
	all, err := c.live.List(ctx)
	if err != nil {
		return false
	}
	for _, li := range all {
		if li.ID == c.d.ID() {
			return li.Paused
		}
	}
	return false
}

// coalesce merges rectangles that overlap or lie close (wasting at most desktopMerge pixels per
// merge), clips them to bounds, and gives up to their union past desktopMaxRects: fewer, larger
// tiles compress better and cost the browser fewer decodes.
func coalesce(rects []image.Rectangle, bounds image.Rectangle) []image.Rectangle {
	area := func(r image.Rectangle) int { return r.Dx() * r.Dy() }
	out := make([]image.Rectangle, 0, len(rects))
	for _, r := range rects {
		r = r.Intersect(bounds)
		if r.Empty() {
			continue
		}
		for merged := true; merged; {
			merged = false
			for i, o := range out {
				if u := o.Union(r); area(u) <= area(o)+area(r)+desktopMerge {
					r = u
					out = append(out[:i], out[i+1:]...)
					merged = true
					break
				}
			}
		}
		out = append(out, r)
	}
	if len(out) > desktopMaxRects {
		u := out[0]
		for _, r := range out[1:] {
			u = u.Union(r)
		}
		out = append(out[:0], u)
	}
	return out
}

// tile is one rectangle's pixels, copied out of the published screen.
type tile struct {
	r   image.Rectangle
	pix []byte // r.Dx()*r.Dy()*4, rows top to bottom
}

// tileEncoder cuts and deflates tiles, reusing its buffers across frames.
type tileEncoder struct {
	pix []byte
	rgb []byte
	out bytes.Buffer
	fw  *flate.Writer
}

func newTileEncoder() *tileEncoder {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed) // never fails for a valid level
	return &tileEncoder{fw: fw}
}

// cut copies rects of img, split into tiles of at most desktopTile a side. The copies share one
// buffer, valid until the next cut.
func (e *tileEncoder) cut(img *image.RGBA, rects []image.Rectangle) []tile {
	n := 0
	for _, r := range rects {
		n += r.Dx() * r.Dy() * 4
	}
	if cap(e.pix) < n {
		e.pix = make([]byte, n)
	}
	buf := e.pix[:0]
	var out []tile
	for _, r := range rects {
		for y0 := r.Min.Y; y0 < r.Max.Y; y0 += desktopTile {
			for x0 := r.Min.X; x0 < r.Max.X; x0 += desktopTile {
				t := image.Rect(x0, y0, min(x0+desktopTile, r.Max.X), min(y0+desktopTile, r.Max.Y))
				start := len(buf)
				for y := t.Min.Y; y < t.Max.Y; y++ {
					i := img.PixOffset(t.Min.X, y)
					buf = append(buf, img.Pix[i:i+t.Dx()*4]...)
				}
				out = append(out, tile{r: t, pix: buf[start:len(buf):len(buf)]})
			}
		}
	}
	return out
}

// encode returns t's binary message: left-predicted RGB, deflated (encoding 2), or raw when
// that does not help (noise). The result is valid until the next encode.
func (e *tileEncoder) encode(t tile) []byte {
	e.out.Reset()
	hdr := []byte{msgTile}
	for _, v := range [4]int{t.r.Min.X, t.r.Min.Y, t.r.Dx(), t.r.Dy()} {
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(v))
	}
	e.out.Write(hdr)
	e.out.WriteByte(tileLeftRGB)
	e.rgb = leftRGB(e.rgb[:0], t.pix, t.r.Dx())
	e.fw.Reset(&e.out)
	_, _ = e.fw.Write(e.rgb) // a bytes.Buffer does not fail
	_ = e.fw.Close()
	if e.out.Len()-len(hdr)-1 < len(t.pix) {
		return e.out.Bytes()
	}
	e.out.Reset()
	e.out.Write(hdr)
	e.out.WriteByte(tileRaw)
	e.out.Write(t.pix)
	return e.out.Bytes()
}

// leftRGB appends rows of w RGBA pixels as RGB differences from the pixel to the left.
func leftRGB(dst, pix []byte, w int) []byte {
	for row := 0; row+w*4 <= len(pix); row += w * 4 {
		var pr, pg, pb byte
		for i := row; i < row+w*4; i += 4 {
			r, g, b := pix[i], pix[i+1], pix[i+2]
			dst = append(dst, r-pr, g-pg, b-pb)
			pr, pg, pb = r, g, b
		}
	}
	return dst
}

// unLeftRGB is leftRGB's inverse, into opaque RGBA (the page does the same in JavaScript).
func unLeftRGB(dst, rgb []byte, w int) []byte {
	for row := 0; row+w*3 <= len(rgb); row += w * 3 {
		var pr, pg, pb byte
		for i := row; i < row+w*3; i += 3 {
			pr, pg, pb = pr+rgb[i], pg+rgb[i+1], pb+rgb[i+2]
			dst = append(dst, pr, pg, pb, 0xff)
		}
	}
	return dst
}

// recvLoop reads the browser's messages until it leaves: acks to the send loop, input to the
// Desktop. Keys still down when it leaves are released, so no modifier stays stuck on the target.
func (c *desktopConn) recvLoop() {
	c.held = map[string]uint32{}
	defer func() {
		for code, ks := range c.held {
			sc, _ := frame.Scancode(code)
			_ = c.d.Input(frame.Input{Kind: frame.InputKey, Keysym: ks, Scancode: sc})
		}
	}()
	alive := func() { _ = c.ws.SetReadDeadline(time.Now().Add(2 * c.pingEvery)) }
	c.ws.SetPongHandler(func(string) error { alive(); return nil })
	alive()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return // gone, or silent past the deadline
		}
		alive()
		// Every message counts, acks too: a flood of any kind only slows this browser down.
		if wait := c.rate.take(c.clock.Now()); wait > 0 {
			c.clock.Sleep(wait)
		}
		m, err := parseClientMsg(data)
		if err != nil {
			c.log.Debug("web: desktop: dropped a message", "session", c.d.ID(), "err", err)
			continue
		}
		if m.Type == "ack" {
			c.acked.Store(m.Seq)
			select {
			case c.ackSig <- struct{}{}:
			default:
			}
			continue
		}
		if c.readOnly {
			continue // a shadow only watches
		}
		if err := c.input(m); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			c.log.Debug("web: desktop: input", "session", c.d.ID(), "type", m.Type, "err", err)
		}
	}
}

// pingLoop pings the browser every pingEvery until ctx ends (WriteControl may be called
// alongside the send loop's writes); recvLoop's read deadline does the rest.
func (c *desktopConn) pingLoop(ctx context.Context) {
	t := time.NewTicker(c.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)) != nil {
				return
			}
		}
	}
}

// Browser button bits (MouseEvent.buttons).
const (
	browserLeft   = 1
	browserRight  = 2
	browserMiddle = 4
)

// rfbButtons maps MouseEvent.buttons onto RFB's mask (which swaps middle and right).
func rfbButtons(b int) uint8 {
	var m uint8
	if b&browserLeft != 0 {
		m |= frame.ButtonLeft
	}
	if b&browserRight != 0 {
		m |= frame.ButtonRight
	}
	if b&browserMiddle != 0 {
		m |= frame.ButtonMiddle
	}
	return m
}

// input turns one browser message into Desktop calls.
func (c *desktopConn) input(m clientMsg) error {
	switch m.Type {
	case "key":
		in, ok := frame.BrowserKey(m.Code, m.Key, m.Down)
		if !ok {
			return nil
		}
		if m.Down {
			if _, ok := c.held[m.Code]; !ok && len(c.held) >= desktopMaxHeld {
				return nil // no keyboard holds this many: an invented code, dropped
			}
			c.held[m.Code] = in.Keysym
		} else if ks, ok := c.held[m.Code]; ok {
			// Shift released first turns "A" into "a" on the way up; the target must see the
			// key it saw go down.
			in.Keysym = ks
			delete(c.held, m.Code)
		}
		return c.d.Input(in)
	case "pointer":
		c.buttons = rfbButtons(m.Buttons)
		return c.d.Input(frame.Input{Kind: frame.InputPointer, X: m.X, Y: m.Y, Buttons: c.buttons})
	case "wheel":
		var b uint8
		switch {
		case m.DY < 0:
			b = frame.ButtonWheelUp
		case m.DY > 0:
			b = frame.ButtonWheelDown
		case m.DX < 0:
			b = frame.ButtonWheelLeft
		case m.DX > 0:
			b = frame.ButtonWheelRight
		default:
			return nil
		}
		// A wheel notch is a press and a release of its button, as RFB has it.
		if err := c.d.Input(frame.Input{Kind: frame.InputPointer, X: m.X, Y: m.Y, Buttons: c.buttons | b}); err != nil {
			return err
		}
		return c.d.Input(frame.Input{Kind: frame.InputPointer, X: m.X, Y: m.Y, Buttons: c.buttons})
	case "resize":
		w, h := clampDesktopSize(m.W, m.H)
		c.resize.offer(image.Pt(w, h))
		return nil
	case "clipboard":
		if !c.clipboard {
			return nil
		}
		if wait := c.clipRate.takeN(c.clock.Now(), float64(len(m.Text))); wait > 0 {
			c.clock.Sleep(wait)
		}
		return c.d.Input(frame.Input{Kind: frame.InputClipboard, Text: []byte(m.Text)})
	}
	return nil
}
