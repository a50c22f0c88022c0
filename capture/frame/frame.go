package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"

	"github.com/seed18fc72c3/vigil/capture"
)

// ErrMalformed is returned for a payload that does not follow the format in doc.go, or whose
// rectangle lies outside the desktop.
var ErrMalformed = errors.New("frame: malformed payload")

// Damage kinds (doc.go).
const (
	KindPixels byte = 1
	KindCopy   byte = 2
	KindFrame  byte = 3
	KindSize   byte = 4
	KindCursor byte = 5
)

// MaxSide bounds a desktop's width and height (and so every rectangle): 8192, as proxy/vnc does.
const MaxSide = 8192

// MaxCursor bounds a cursor image's width and height. A cursor comes from the target, which may be
// hostile, and every viewer re-encodes each one (as a PNG for the browser): a 8192 x 8192 cursor
// sent over and over costs 256 MiB a copy. Real cursors are 32 to 128 pixels a side; browsers
// ignore CSS cursors larger than 128. AppendCursor crops to it; Parse refuses beyond it.
const MaxCursor = 256

// Damage is one parsed damage payload. Pix aliases the payload it was parsed from.
type Damage struct {
	Kind byte
	// Rect is the destination (Pixels, Copy), the new desktop (Size, at the origin) or the cursor
	// image's bounds at the origin (Cursor).
	Rect image.Rectangle
	// Src is Copy's source top-left, or Cursor's hotspot.
	Src image.Point
	Pix []byte // Pixels and Cursor: Rect.Dx()*Rect.Dy()*4 bytes, rows top to bottom
}

// Parse decodes a damage payload. It checks lengths, not desktop bounds (Framebuffer.Apply does).
func Parse(p []byte) (Damage, error) {
	if len(p) == 0 {
		return Damage{}, fmt.Errorf("parse damage: empty: %w", ErrMalformed)
	}
	d := Damage{Kind: p[0]}
	body := p[1:]
	u16 := func(i int) int { return int(binary.BigEndian.Uint16(body[2*i:])) }
	need := func(n int) error {
		if len(body) != n {
			return fmt.Errorf("parse damage kind %d: %d bytes, want %d: %w", d.Kind, len(body), n, ErrMalformed)
		}
		return nil
	}
	switch d.Kind {
	case KindPixels, KindCursor:
		if len(body) < 8 {
			return Damage{}, fmt.Errorf("parse damage kind %d: short header: %w", d.Kind, ErrMalformed)
		}
		x, y, w, h := u16(0), u16(1), u16(2), u16(3)
		if err := need(8 + w*h*4); err != nil {
			return Damage{}, err
		}
		if d.Kind == KindPixels {
			d.Rect = image.Rect(x, y, x+w, y+h)
		} else {
			if w > MaxCursor || h > MaxCursor {
				return Damage{}, fmt.Errorf("parse cursor %dx%d: larger than %d: %w", w, h, MaxCursor, ErrMalformed)
			}
			d.Rect, d.Src = image.Rect(0, 0, w, h), image.Pt(x, y)
		}
		d.Pix = body[8:]
	case KindCopy:
		if err := need(12); err != nil {
			return Damage{}, err
		}
		x, y, w, h := u16(0), u16(1), u16(2), u16(3)
		d.Rect, d.Src = image.Rect(x, y, x+w, y+h), image.Pt(u16(4), u16(5))
	case KindFrame:
		if err := need(0); err != nil {
			return Damage{}, err
		}
	case KindSize:
		if err := need(4); err != nil {
			return Damage{}, err
		}
		d.Rect = image.Rect(0, 0, u16(0), u16(1))
	default:
		return Damage{}, fmt.Errorf("parse damage: unknown kind %d: %w", d.Kind, ErrMalformed)
	}
	return d, nil
}

func appendRect(dst []byte, kind byte, r image.Rectangle) []byte {
	dst = append(dst, kind)
	for _, v := range [4]int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} {
		dst = binary.BigEndian.AppendUint16(dst, uint16(v))
	}
	return dst
}

// AppendPixels appends a Pixels payload for rectangle r of img (r must lie inside img.Bounds()
// and inside a 65535x65535 plane).
func AppendPixels(dst []byte, img *image.RGBA, r image.Rectangle) []byte {
	dst = appendRect(dst, KindPixels, r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		dst = append(dst, img.Pix[i:i+r.Dx()*4]...)
	}
	return dst
}

// AppendCopy appends a Copy payload: rectangle r takes the pixels at src (same size).
func AppendCopy(dst []byte, r image.Rectangle, src image.Point) []byte {
	dst = appendRect(dst, KindCopy, r)
	dst = binary.BigEndian.AppendUint16(dst, uint16(src.X))
	return binary.BigEndian.AppendUint16(dst, uint16(src.Y))
}

// AppendFrame appends a Frame payload.
func AppendFrame(dst []byte) []byte { return append(dst, KindFrame) }

// AppendSize appends a Size payload.
func AppendSize(dst []byte, w, h int) []byte {
	dst = append(dst, KindSize)
	dst = binary.BigEndian.AppendUint16(dst, uint16(w))
	return binary.BigEndian.AppendUint16(dst, uint16(h))
}

// AppendCursor appends a Cursor payload: the cursor image (RGBA, alpha is the mask) and hotspot.
// An image larger than MaxCursor a side is cropped to its top-left MaxCursor x MaxCursor, and the
// hotspot brought inside the crop.
func AppendCursor(dst []byte, img *image.RGBA, hotspot image.Point) []byte {
	b := img.Bounds()
	if b.Dx() > MaxCursor || b.Dy() > MaxCursor {
		b.Max = image.Pt(b.Min.X+min(b.Dx(), MaxCursor), b.Min.Y+min(b.Dy(), MaxCursor))
		hotspot = image.Pt(min(hotspot.X, b.Dx()-1), min(hotspot.Y, b.Dy()-1))
	}
	dst = append(dst, KindCursor)
	for _, v := range [4]int{hotspot.X, hotspot.Y, b.Dx(), b.Dy()} {
		dst = binary.BigEndian.AppendUint16(dst, uint16(v))
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		dst = append(dst, img.Pix[i:i+b.Dx()*4]...)
	}
	return dst
}

// Writer is the part of *capture.Producer that Emit uses.
type Writer interface {
	Write(t capture.Type, ch uint16, payload []byte) (capture.Event, error)
}

// Emitter writes damage to a capture ring, reusing one buffer. Not safe for concurrent use.
type Emitter struct {
	W Writer
	// MaxPayload is the ring's Config.MaxRead. A rectangle is split into bands of whole rows that
	// fit it, and a row wider than one event into strips. At least 13 (one pixel).
	MaxPayload int
	buf        []byte
}

// Pixels writes rectangle r of img as one or more Pixels events.
func (e *Emitter) Pixels(img *image.RGBA, r image.Rectangle) error {
	r = r.Intersect(img.Bounds())
	if r.Empty() {
		return nil
	}
	room := (e.MaxPayload - 9) / 4 // pixels per event
	if room < 1 {
		return fmt.Errorf("frame: emit: MaxPayload %d too small", e.MaxPayload)
	}
	// Columns: split a row wider than one event into strips.
	for x0 := r.Min.X; x0 < r.Max.X; x0 += room {
		x1 := min(x0+room, r.Max.X)
		rows := max(room/(x1-x0), 1)
		for y0 := r.Min.Y; y0 < r.Max.Y; y0 += rows {
			band := image.Rect(x0, y0, x1, min(y0+rows, r.Max.Y))
			e.buf = AppendPixels(e.buf[:0], img, band)
			if _, err := e.W.Write(capture.TypeDamage, 0, e.buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// Copy writes a Copy event.
func (e *Emitter) Copy(r image.Rectangle, src image.Point) error {
	e.buf = AppendCopy(e.buf[:0], r, src)
	_, err := e.W.Write(capture.TypeDamage, 0, e.buf)
	return err
}

// Frame writes the end of an update.
func (e *Emitter) Frame() error {
	e.buf = AppendFrame(e.buf[:0])
	_, err := e.W.Write(capture.TypeDamage, 0, e.buf)
	return err
}

// Size writes a new desktop size.
func (e *Emitter) Size(w, h int) error {
	e.buf = AppendSize(e.buf[:0], w, h)
	_, err := e.W.Write(capture.TypeDamage, 0, e.buf)
	return err
}

// Update writes the damaged rectangles of img followed by a Frame event.
func (e *Emitter) Update(img *image.RGBA, rects []image.Rectangle) error {
	for _, r := range rects {
		if err := e.Pixels(img, r); err != nil {
			return err
		}
	}
	return e.Frame()
}
