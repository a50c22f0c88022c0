package vnc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"unicode/utf8"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// Target adapts a Client to proxy/desktop's Target: Run turns the client's Updates into damage
// events, Input turns the user's events into RFB messages. It does not import proxy/desktop
// (a sibling); target_test.go checks the interface is met.
type Target struct{ c *Client }

// NewTarget wraps a connected Client; the Target owns it from then on.
func NewTarget(c *Client) *Target { return &Target{c: c} }

// DialTarget dials a VNC target with the vaulted password; see Dial.
func DialTarget(ctx context.Context, addr string, password []byte, opts Options) (*Target, error) {
	c, err := Dial(ctx, addr, password, opts)
	if err != nil {
		return nil, err
	}
	return &Target{c: c}, nil
}

// Client returns the wrapped client.
func (t *Target) Client() *Client { return t.c }

// Size is the desktop size now (as of ServerInit until Run runs).
func (t *Target) Size() (w, h int) {
	b := t.c.Framebuffer().Bounds()
	return b.Dx(), b.Dy()
}

// Run writes the screen into e: the size and the whole screen first (blank until the server's
// first update arrives, which follows at once, as Dial asked for the whole screen), then every
// update's damage followed by a Frame event, a new size with the whole new screen, cursor shapes
// and the server's clipboard (a TypeOutput event with an InputClipboard payload, in UTF-8). It
// returns nil when ctx ends, else the error that ended the connection.
func (t *Target) Run(ctx context.Context, e *frame.Emitter) error {
	fb := t.c.Framebuffer()
	if err := e.Size(fb.Rect.Dx(), fb.Rect.Dy()); err != nil {
		return err
	}
	if err := e.Update(fb, []image.Rectangle{fb.Rect}); err != nil {
		return err
	}
	var buf []byte
	for {
		u, err := t.c.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		fb = t.c.Framebuffer()
		if u.Resized {
			if err := e.Size(fb.Rect.Dx(), fb.Rect.Dy()); err != nil {
				return err
			}
			// The server sends the new screen next; until then it is black, as Size leaves it.
		}
		if u.Cursor != nil {
			img := u.Cursor.Image
			if img == nil {
				img = image.NewRGBA(image.Rectangle{})
			}
			buf = frame.AppendCursor(buf[:0], img, u.Cursor.Hotspot)
			if len(buf) <= e.MaxPayload {
				if _, err := e.W.Write(capture.TypeDamage, 0, buf); err != nil {
					return err
				}
			}
		}
		if len(u.Rects) > 0 || u.Resized {
			if err := e.Update(fb, u.Rects); err != nil {
				return err
			}
		}
		if u.CutText != nil {
			text := latin1ToUTF8(u.CutText, frame.MaxClipboard)
			buf = frame.Input{Kind: frame.InputClipboard, Text: text}.Append(buf[:0])
			if len(buf) <= e.MaxPayload {
				if _, err := e.W.Write(capture.TypeOutput, 0, buf); err != nil {
					return err
				}
			}
		}
	}
}

// Input sends a key (by keysym; the scancode is RDP's), a pointer event or the user's clipboard
// (as Latin-1: RFB's ClientCutText cannot carry other characters, which are dropped).
func (t *Target) Input(in frame.Input) error {
	switch in.Kind {
	case frame.InputKey:
		return t.c.Key(in.Down, in.Keysym)
	case frame.InputPointer:
		return t.c.Pointer(in.X, in.Y, in.Buttons)
	case frame.InputClipboard:
		return t.c.CutText(utf8ToLatin1(in.Text))
	}
	return fmt.Errorf("vnc: input kind %d: %w", in.Kind, frame.ErrMalformed)
}

// Resize is not supported: the client does not speak the ExtendedDesktopSize extension.
func (t *Target) Resize(w, h int) error { return fmt.Errorf("vnc: resize: %w", errors.ErrUnsupported) }

// Close closes the connection; a Run in progress returns.
func (t *Target) Close() error { return t.c.Close() }

// CutText sends a ClientCutText message: the user's clipboard, Latin-1 text.
func (c *Client) CutText(text []byte) error {
	msg := make([]byte, 8+len(text))
	msg[0] = 6
	binary.BigEndian.PutUint32(msg[4:], uint32(len(text)))
	copy(msg[8:], text)
	if err := c.write(msg); err != nil {
		return fmt.Errorf("vnc: write cut text: %w", err)
	}
	return nil
}

// latin1ToUTF8 converts RFB's Latin-1 clipboard text, keeping at most max bytes of output.
func latin1ToUTF8(b []byte, max int) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if len(out)+2 > max {
			break
		}
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// utf8ToLatin1 keeps the characters Latin-1 has, dropping the rest.
func utf8ToLatin1(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r < 0x100 && r != utf8.RuneError {
			out = append(out, byte(r))
		}
	}
	return out
}
