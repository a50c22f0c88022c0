package rdp

import (
	"fmt"
	"image"
	"io"
	"os"
	"time"

	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

// debug prints the worker's frames (not their pixels) on stderr: VIGIL_RDP_DEBUG=1.
var debug = os.Getenv("VIGIL_RDP_DEBUG") != ""

// read owns the worker's stdout: it applies each frame and ends the session when the stream
// ends or breaks the format.
func (s *Session) read(stdout io.Reader) {
	defer s.wg.Done()
	r := wire.NewReader(stdout)
	st := &readState{}
	for {
		s.waiting.Store(time.Now().UnixNano())
		t, body, err := r.Next()
		s.waiting.Store(0)
		if err == nil {
			err = s.handle(st, t, body)
		}
		if err != nil {
			if _, ok := err.(workerError); ok {
				s.end(err)
			} else {
				s.end(s.exitCause(err))
			}
			// Drain, so a worker still writing is not blocked on a full pipe until it is killed.
			_, _ = io.Copy(io.Discard, stdout)
			return
		}
	}
}

// workerError is an Error frame's cause: the worker explained itself.
type workerError struct{ err error }

func (e workerError) Error() string { return e.err.Error() }
func (e workerError) Unwrap() error { return e.err }

// readState is the reader's own: the rectangles of the update in progress.
type readState struct {
	hello bool
	rects []image.Rectangle
}

// handle applies one frame. Any error ends the session.
func (s *Session) handle(st *readState, t byte, body []byte) error {
	if debug && t != wire.Damage && t != wire.EndPaint {
		fmt.Fprintf(os.Stderr, "rdp: %s frame %#x %x\n", time.Now().Format("15:04:05.000"), t, body[:min(len(body), 16)])
	}
	if !st.hello {
		if t != wire.Hello || len(body) != 1 || body[0] != wire.Version {
			return fmt.Errorf("rdp: worker: first frame %#x, want hello version %d: %w", t, wire.Version, ErrProtocol)
		}
		st.hello = true
		return nil
	}
	d := wire.Dec{B: body}
	switch t {
	case wire.Heartbeat, wire.Bell:
		// A bell has no place in the frame model.
		return nil
	case wire.Clipboard:
		if len(body) > wire.MaxText {
			return fmt.Errorf("rdp: worker clipboard of %d bytes: %w", len(body), ErrProtocol)
		}
		s.mu.Lock()
		// Only the latest text matters to a consumer that fell behind.
		s.clip = append(s.clip[:0], body...)
		s.hasClip = true
		s.mu.Unlock()
		s.poke()
	case wire.Certificate:
		fp := d.Bytes(32)
		if err := d.End(); err != nil {
			return fmt.Errorf("rdp: worker certificate: %w", err)
		}
		s.mu.Lock()
		s.fp = append(s.fp[:0], fp...)
		s.mu.Unlock()
	case wire.Connected, wire.Resize:
		w, h := d.U16(), d.U16()
		var proto uint32
		if t == wire.Connected {
			proto = d.U32()
		}
		if err := d.End(); err != nil {
			return fmt.Errorf("rdp: worker size: %w", err)
		}
		if w < 1 || h < 1 || w > frame.MaxSide || h > frame.MaxSide {
			return fmt.Errorf("rdp: worker size %dx%d: %w", w, h, ErrProtocol)
		}
		s.mu.Lock()
		if t == wire.Connected && s.img != nil {
			s.mu.Unlock()
			return fmt.Errorf("rdp: worker connected twice: %w", ErrProtocol)
		}
		if t == wire.Resize && s.img == nil {
			s.mu.Unlock()
			return fmt.Errorf("rdp: worker resize before connected: %w", ErrProtocol)
		}
		s.img = image.NewRGBA(image.Rect(0, 0, w, h))
		s.gen++
		s.pending = s.pending[:0]
		if t == wire.Connected {
			s.protocol = proto
		}
		s.mu.Unlock()
		st.rects = st.rects[:0]
		if t == wire.Connected {
			close(s.connected)
		}
		s.poke()
	case wire.Logon:
		d.U32()
		if err := d.End(); err != nil {
			return fmt.Errorf("rdp: worker logon: %w", err)
		}
		s.logonOnce.Do(func() { close(s.logon) })
	case wire.Damage:
		r, err := s.applyDamage(&d)
		if err != nil {
			return err
		}
		st.rects = append(st.rects, r)
	case wire.EndPaint:
		if err := d.End(); err != nil {
			return fmt.Errorf("rdp: worker end paint: %w", err)
		}
		if len(st.rects) == 0 {
			return nil
		}
		s.mu.Lock()
		s.pending = append(s.pending, st.rects...)
		if len(s.pending) > maxPending {
			u := s.pending[0]
			for _, r := range s.pending[1:] {
				u = u.Union(r)
			}
			s.pending = append(s.pending[:0], u)
		}
		s.mu.Unlock()
		st.rects = st.rects[:0]
		s.poke()
	case wire.Caps:
		f := d.U8()
		if err := d.End(); err != nil {
			return fmt.Errorf("rdp: worker caps: %w", err)
		}
		s.mu.Lock()
		s.caps |= f
		s.mu.Unlock()
		if f&wire.CapClipboard != 0 {
			// The server started the user's session channels: xrdp does so only after a
			// successful logon (its login screen has no clipboard), and sends no logon
			// notification.
			s.logonOnce.Do(func() { close(s.logon) })
		}
	case wire.Error:
		reason, code, msg := d.U8(), d.U32(), d.Str16()
		if err := d.End(); err != nil {
			return fmt.Errorf("rdp: worker error frame: %w", err)
		}
		base := reasonErr(reason)
		if base == ErrCertificate {
			s.mu.Lock()
			msg = "server presented " + FormatFingerprint(s.fp)
			s.mu.Unlock()
		}
		if base == ErrWorker && s.cmd != nil {
			// Let the worker's last words finish arriving; they say what FreeRDP disliked.
			time.Sleep(50 * time.Millisecond)
			if l := lastLine(s.stderr.String()); l != "" {
				msg += " (" + l + ")"
			}
		}
		return workerError{fmt.Errorf("%w: %s (freerdp %#x)", base, msg, code)}
	default:
		return fmt.Errorf("rdp: worker frame type %#x: %w", t, ErrProtocol)
	}
	return nil
}

// applyDamage copies a Damage frame's pixels into the screen after checking it lies inside.
func (s *Session) applyDamage(d *wire.Dec) (image.Rectangle, error) {
	x, y, w, h := d.U16(), d.U16(), d.U16(), d.U16()
	pix := d.Bytes(w * h * 4)
	if err := d.End(); err != nil {
		return image.Rectangle{}, fmt.Errorf("rdp: worker damage: %w", err)
	}
	r := image.Rect(x, y, x+w, y+h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.img == nil || r.Empty() || !r.In(s.img.Rect) {
		return image.Rectangle{}, fmt.Errorf("rdp: worker damage %v outside the desktop: %w", r, ErrProtocol)
	}
	for row := 0; row < h; row++ {
		off := s.img.PixOffset(x, y+row)
		copy(s.img.Pix[off:off+w*4], pix[row*w*4:(row+1)*w*4])
	}
	return r, nil
}

// poke tells Run there is something to emit.
func (s *Session) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
