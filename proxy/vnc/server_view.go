package vnc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"net"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

// maxDirty is how many damaged rectangles a viewer's update carries before they are merged into
// their bounding box: many small rectangles cost more in headers and zlib flushes than the few
// unchanged pixels a box resends.
const maxDirty = 16

// viewer is one connected RFB viewer: three goroutines, all ended by run. The reader parses the
// viewer's messages and forwards its input to the session; the follower applies the session's
// damage to a local copy of the screen; run itself sends updates when the viewer has asked for
// one and something changed.
type viewer struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	sess *desktop.Session

	kick chan struct{} // something for run to look at; capacity 1

	mu          sync.Mutex
	fb          *frame.Framebuffer
	size        image.Rectangle // what the viewer believes the desktop is
	dirty       []image.Rectangle
	resized     bool
	requested   bool // an update request is outstanding
	pf          *pixelWriter
	zrle        bool
	desktopSize bool
	cut         []byte // the target's clipboard, Latin-1, to send
	cursorEnc   bool   // the viewer takes the Cursor pseudo-encoding
	cursor      *frame.Damage
	cursorSent  bool
	pauseShown  bool
	zenc        *zrleStream
	out         []byte
}

// run serves the viewer until it leaves, the session ends or ctx ends; it returns why.
func (v *viewer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	img, rd, err := v.sess.Attach()
	if err != nil {
		return err
	}
	v.kick = make(chan struct{}, 1)
	v.fb = frame.NewFramebuffer(1, 1)
	v.fb.Load(img)
	v.fb.TakeDirty()
	v.size = v.fb.Image().Bounds()
	if img, hot, ok := v.sess.Cursor(); ok {
		v.cursor = &frame.Damage{Kind: frame.KindCursor, Rect: img.Rect, Src: hot, Pix: img.Pix}
	}
	v.pf, _ = newPixelWriter(rgbaFormat)
	v.zenc = newZRLEStream()
	if err := v.serverInit(); err != nil {
		rd.Close()
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer v.conn.Close() // unblocks the reader
	stop := context.AfterFunc(v.sess.Context(), func() { cancel(desktop.ErrEnded) })
	defer stop()
	wg.Add(2)
	go func() {
		defer wg.Done()
		cancel(v.readLoop())
	}()
	go func() {
		defer wg.Done()
		defer func() { rd.Close() }()
		cancel(v.follow(ctx, &rd))
	}()
	for {
		changed := v.sess.Changed()
		if err := v.sendPending(); err != nil {
			cancel(err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-v.kick:
		case <-changed:
		}
	}
}

func (v *viewer) poke() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

func (v *viewer) serverInit() error {
	name := v.srv.cfg.Name
	if name == "" {
		name = "Vigil: " + v.sess.Info().Target
	}
	msg := binary.BigEndian.AppendUint16(nil, uint16(v.size.Dx()))
	msg = binary.BigEndian.AppendUint16(msg, uint16(v.size.Dy()))
	var pf [16]byte
	rgbaFormat.marshal(pf[:])
	msg = append(msg, pf[:]...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(name)))
	return v.write(append(msg, name...))
}

func (v *viewer) write(b []byte) error {
	v.conn.SetWriteDeadline(time.Now().Add(v.srv.cfg.WriteTimeout))
	_, err := v.conn.Write(b)
	return err
}

// follow applies the session's damage to the viewer's copy of the screen. An overrun (the viewer's
// reader fell behind a flood) resyncs from a fresh Attach and resends the whole screen.
func (v *viewer) follow(ctx context.Context, rdp **capture.Reader) error {
	for {
		ev, err := (*rdp).Next(ctx)
		if errors.Is(err, capture.ErrOverrun) {
			(*rdp).Close()
			img, rd, err := v.sess.Attach()
			if err != nil {
				return err
			}
			*rdp = rd
			v.mu.Lock()
			v.fb.Load(img)
			v.markAllLocked()
			v.mu.Unlock()
			v.poke()
			continue
		}
		if err != nil {
			return err
		}
		switch ev.Type {
		case capture.TypeDamage:
			v.mu.Lock()
			d, err := v.fb.Apply(ev.Payload)
			if err == nil && d.Kind == frame.KindCursor {
				d.Pix = append([]byte(nil), d.Pix...)
				v.cursor, v.cursorSent = &d, false
			}
			if err == nil && d.Kind == frame.KindFrame {
				rects, resized := v.fb.TakeDirty()
				v.dirty = append(v.dirty, rects...)
				v.resized = v.resized || resized
			}
			v.mu.Unlock()
			if err == nil && d.Kind == frame.KindFrame {
				v.poke()
			}
		case capture.TypeOutput:
			if in, err := frame.ParseInput(ev.Payload); err == nil && in.Kind == frame.InputClipboard && v.srv.cfg.Clipboard {
				v.mu.Lock()
				v.cut = utf8ToLatin1(in.Text)
				v.mu.Unlock()
				v.poke()
			}
		}
	}
}

func (v *viewer) markAllLocked() {
	v.fb.TakeDirty()
	v.dirty = append(v.dirty[:0], v.fb.Image().Bounds())
	v.resized = v.fb.Image().Bounds() != v.size
}

// readLoop parses the viewer's messages until an error.
func (v *viewer) readLoop() error {
	for {
		m, err := readClientMessage(v.r)
		if err != nil {
			return err
		}
		switch m.Type {
		case msgSetPixelFormat:
			pf, err := newPixelWriter(m.Format)
			if err != nil {
				return err
			}
			v.mu.Lock()
			v.pf = pf
			v.mu.Unlock()
		case msgSetEncodings:
			var zrle, ds, cur bool
			for _, e := range m.Encodings {
				zrle = zrle || e == EncodingZRLE
				ds = ds || e == EncodingDesktopSize
				cur = cur || e == EncodingCursor
			}
			v.mu.Lock()
			v.zrle, v.desktopSize, v.cursorEnc = zrle, ds, cur
			v.cursorSent = false
			v.mu.Unlock()
		case msgUpdateRequest:
			v.mu.Lock()
			v.requested = true
			if !m.Incremental {
				v.pauseShown = false // a full refresh while paused shows the pause screen again
				if r := m.Rect.Intersect(v.fb.Image().Bounds()); !r.Empty() {
					v.dirty = append(v.dirty, r)
				}
			}
			v.mu.Unlock()
			v.poke()
		case msgKeyEvent:
			v.input(frame.Input{Kind: frame.InputKey, Down: m.Down, Keysym: m.Key})
		case msgPointerEvent:
			v.mu.Lock()
			b := v.fb.Image().Bounds()
			v.mu.Unlock()
			v.input(frame.Input{Kind: frame.InputPointer, X: min(m.X, b.Dx()-1), Y: min(m.Y, b.Dy()-1), Buttons: m.Buttons})
		case msgClientCutText:
			if v.srv.cfg.Clipboard { // policy: off by default, the viewer's clipboard stays on its side
				v.input(frame.Input{Kind: frame.InputClipboard, Text: latin1ToUTF8(m.Text, frame.MaxClipboard)})
			}
		}
	}
}

// input hands one event to the session. While paused it is dropped (the viewer sees the pause);
// other failures end the session on their own, so they are only logged.
func (v *viewer) input(in frame.Input) {
	if err := v.sess.Input(in); err != nil && !errors.Is(err, desktop.ErrPaused) {
		v.srv.log.Debug("vnc viewer input", "session", v.sess.ID(), "err", err)
	}
}

// sendPending sends an update if the viewer asked for one and there is something to send: the
// pause screen, a new size, damage; and the target's clipboard.
func (v *viewer) sendPending() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.out = v.out[:0]
	paused, _, _ := v.sess.Paused()
	if v.cut != nil && !paused { // the target's clipboard is output too: held during a pause
		v.out = binary.BigEndian.AppendUint32(append(v.out, 3, 0, 0, 0), uint32(len(v.cut)))
		v.out = append(v.out, v.cut...)
		v.cut = nil
	}
	if !paused && v.pauseShown {
		v.pauseShown = false
		v.markAllLocked() // repaint what the pause screen covered
	}
	if v.requested && paused && !v.pauseShown {
		if err := v.updateLocked(dimmed(v.fb.Image()), []image.Rectangle{v.size.Intersect(v.fb.Image().Bounds())}, false); err != nil {
			return err
		}
		v.pauseShown = true
	}
	sendCursor := v.cursorEnc && v.cursor != nil && !v.cursorSent
	if v.requested && !paused && (len(v.dirty) > 0 || (v.resized && v.desktopSize) || sendCursor) {
		resize := v.resized && v.desktopSize && v.fb.Image().Bounds() != v.size
		if resize {
			v.size = v.fb.Image().Bounds()
			v.dirty = append(v.dirty[:0], v.size)
		}
		v.resized = false
		if err := v.updateLocked(v.fb.Image(), v.dirty, resize); err != nil {
			return err
		}
		v.dirty = v.dirty[:0]
	}
	if len(v.out) == 0 {
		return nil
	}
	return v.write(v.out)
}

// updateLocked appends one FramebufferUpdate to v.out and takes the viewer's request.
func (v *viewer) updateLocked(img *image.RGBA, rects []image.Rectangle, resize bool) error {
	var clipped []image.Rectangle
	for _, r := range rects {
		if r = r.Intersect(v.size).Intersect(img.Bounds()); !r.Empty() {
			clipped = append(clipped, r)
		}
	}
	if len(clipped) > maxDirty {
		box := clipped[0]
		for _, r := range clipped[1:] {
			box = box.Union(r)
		}
		clipped = []image.Rectangle{box}
	}
	n := len(clipped)
	if resize {
		n++
	}
	cursor := v.cursorEnc && v.cursor != nil && !v.cursorSent && img == v.fb.Image()
	if cursor {
		n++
	}
	if n == 0 {
		return nil
	}
	v.requested = false
	v.out = binary.BigEndian.AppendUint16(append(v.out, 0, 0), uint16(n))
	if resize {
		v.out = appendRectHeader(v.out, v.size, EncodingDesktopSize)
	}
	if cursor {
		v.out = v.appendCursor(v.out, v.cursor)
		v.cursorSent = true
	}
	for _, r := range clipped {
		if v.zrle {
			var err error
			if v.out, err = v.zenc.appendZRLE(v.out, v.pf, img, r); err != nil {
				return fmt.Errorf("vnc server: zrle: %w", err)
			}
			continue
		}
		v.out = v.pf.appendRaw(v.out, img, r)
	}
	return nil
}

// dimmed is the pause screen: the desktop at a third of its brightness, so the user sees that it
// is held and what it was.
func dimmed(img *image.RGBA) *image.RGBA {
	d := &image.RGBA{Pix: make([]byte, len(img.Pix)), Stride: img.Stride, Rect: img.Rect}
	for i := 0; i < len(img.Pix); i += 4 {
		d.Pix[i], d.Pix[i+1], d.Pix[i+2], d.Pix[i+3] = img.Pix[i]/3, img.Pix[i+1]/3, img.Pix[i+2]/3+40, 0xff
	}
	return d
}

// appendCursor appends a Cursor pseudo-encoding rectangle: the hotspot as its position, the
// pixels in the viewer's format, then a mask of one bit a pixel (rows padded to bytes, most
// significant bit first), set where the shape's alpha is at least half.
func (v *viewer) appendCursor(dst []byte, c *frame.Damage) []byte {
	w, h := c.Rect.Dx(), c.Rect.Dy()
	dst = appendRectHeader(dst, image.Rectangle{Min: c.Src, Max: c.Src.Add(image.Pt(w, h))}, EncodingCursor)
	for i := 0; i < len(c.Pix); i += 4 {
		dst = v.pf.pixel(dst, c.Pix[i], c.Pix[i+1], c.Pix[i+2])
	}
	stride := (w + 7) / 8
	for y := 0; y < h; y++ {
		row := make([]byte, stride)
		for x := 0; x < w; x++ {
			if c.Pix[(y*w+x)*4+3] >= 0x80 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		dst = append(dst, row...)
	}
	return dst
}
