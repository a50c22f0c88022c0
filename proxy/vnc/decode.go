package vnc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"io"
)

// Server-to-client message types.
const (
	msgFramebufferUpdate   = 0
	msgSetColourMapEntries = 1
	msgBell                = 2
	msgServerCutText       = 3
)

// decoder reads server messages into a framebuffer. It holds the state that lives as long as the
// connection: the framebuffer, ZRLE's zlib stream, scratch buffers.
type decoder struct {
	r    *bufio.Reader
	fb   *image.RGBA
	opts *Options
	zrle zrleState
	// seen counts decoded rectangles by encoding, so tests can tell which encoding a server
	// actually used.
	seen map[Encoding]int
	tmp  [4]byte // scratch for small reads: a local array would escape through io.Reader
}

func newDecoder(r *bufio.Reader, fb *image.RGBA, opts *Options) *decoder {
	return &decoder{r: r, fb: fb, opts: opts, seen: make(map[Encoding]int)}
}

// message reads one server message. ok is false for messages that change nothing the caller
// sees (SetColourMapEntries: we asked for true colour, so a palette is moot).
func (d *decoder) message() (u Update, ok bool, err error) {
	t, err := d.r.ReadByte()
	if err != nil {
		return u, false, fmt.Errorf("vnc: read message type: %w", err)
	}
	switch t {
	case msgFramebufferUpdate:
		err = d.framebufferUpdate(&u)
		return u, err == nil, err
	case msgSetColourMapEntries:
		var h [5]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			return u, false, fmt.Errorf("vnc: read colour map: %w", err)
		}
		n := int64(binary.BigEndian.Uint16(h[3:])) * 6
		if _, err := d.r.Discard(int(n)); err != nil {
			return u, false, fmt.Errorf("vnc: read colour map: %w", err)
		}
		return u, false, nil
	case msgBell:
		u.Bell = true
		return u, true, nil
	case msgServerCutText:
		var h [7]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			return u, false, fmt.Errorf("vnc: read cut text: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(h[3:]))
		keep := min(n, int64(d.opts.MaxCutText))
		u.CutText = make([]byte, keep)
		if _, err := io.ReadFull(d.r, u.CutText); err != nil {
			return u, false, fmt.Errorf("vnc: read cut text: %w", err)
		}
		// The excess is read, not kept: the stream must stay in step.
		if _, err := io.CopyN(io.Discard, d.r, n-keep); err != nil {
			return u, false, fmt.Errorf("vnc: read cut text: %w", err)
		}
		return u, true, nil
	default:
		// Without knowing its length the stream cannot be resynchronised.
		return u, false, fmt.Errorf("%w: unknown message type %d", ErrProtocol, t)
	}
}

// framebufferUpdate decodes the rectangles of one FramebufferUpdate (after its type byte).
func (d *decoder) framebufferUpdate(u *Update) error {
	var h [3]byte
	if _, err := io.ReadFull(d.r, h[:]); err != nil {
		return fmt.Errorf("vnc: read update header: %w", err)
	}
	n := int(binary.BigEndian.Uint16(h[1:]))
	u.Rects = make([]image.Rectangle, 0, min(n, 64))
	for i := 0; i < n; i++ {
		var rh [12]byte
		if _, err := io.ReadFull(d.r, rh[:]); err != nil {
			return fmt.Errorf("vnc: read rectangle header: %w", err)
		}
		x, y := int(binary.BigEndian.Uint16(rh[0:])), int(binary.BigEndian.Uint16(rh[2:]))
		w, hgt := int(binary.BigEndian.Uint16(rh[4:])), int(binary.BigEndian.Uint16(rh[6:]))
		enc := Encoding(int32(binary.BigEndian.Uint32(rh[8:])))
		r := image.Rect(x, y, x+w, y+hgt)
		switch enc {
		case EncodingDesktopSize:
			// One resize per update: each costs a framebuffer allocation for 12 bytes of input,
			// so a server must not get to repeat it within one message.
			if u.Resized {
				return fmt.Errorf("%w: two desktop sizes in one update", ErrProtocol)
			}
			if err := d.resize(w, hgt); err != nil {
				return err
			}
			u.Resized = true
			// Damage decoded before the resize is reported within the new bounds.
			kept := u.Rects[:0]
			for _, dr := range u.Rects {
				if dr = dr.Intersect(d.fb.Rect); !dr.Empty() {
					kept = append(kept, dr)
				}
			}
			u.Rects = kept
			continue
		case EncodingCursor:
			c, err := d.cursor(x, y, w, hgt)
			if err != nil {
				return err
			}
			u.Cursor = c
			continue
		}
		if !d.contains(r) {
			return fmt.Errorf("%w: rectangle %v outside the %v framebuffer", ErrProtocol, r, d.fb.Rect.Size())
		}
		var err error
		switch enc {
		case EncodingRaw:
			err = d.raw(r)
		case EncodingCopyRect:
			err = d.copyRect(r)
		case EncodingHextile:
			err = d.hextile(r)
		case EncodingZRLE:
			err = d.zrleRect(r)
		default:
			err = fmt.Errorf("%w: encoding %d not negotiated", ErrProtocol, enc)
		}
		if err != nil {
			return err
		}
		d.seen[enc]++
		if !r.Empty() {
			u.Rects = append(u.Rects, r)
		}
	}
	return nil
}

// contains reports whether r lies inside the framebuffer. Unlike image.Rectangle.In it holds
// empty rectangles to the same bounds: their corner is still used as an offset.
func (d *decoder) contains(r image.Rectangle) bool {
	b := d.fb.Rect
	return r.Min.X >= b.Min.X && r.Min.Y >= b.Min.Y && r.Max.X <= b.Max.X && r.Max.Y <= b.Max.Y
}

// raw reads w*h pixels straight into the framebuffer rows; only alpha needs setting.
func (d *decoder) raw(r image.Rectangle) error {
	rowLen := r.Dx() * 4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := d.fb.PixOffset(r.Min.X, y)
		row := d.fb.Pix[off : off+rowLen]
		if _, err := io.ReadFull(d.r, row); err != nil {
			return fmt.Errorf("vnc: read raw rectangle: %w", err)
		}
		for i := 3; i < len(row); i += 4 {
			row[i] = 0xff
		}
	}
	return nil
}

// copyRect copies a source rectangle of the framebuffer to r; the two may overlap.
func (d *decoder) copyRect(r image.Rectangle) error {
	var s [4]byte
	if _, err := io.ReadFull(d.r, s[:]); err != nil {
		return fmt.Errorf("vnc: read copyrect: %w", err)
	}
	sx, sy := int(binary.BigEndian.Uint16(s[0:])), int(binary.BigEndian.Uint16(s[2:]))
	src := image.Rect(sx, sy, sx+r.Dx(), sy+r.Dy())
	if !d.contains(src) {
		return fmt.Errorf("%w: copyrect source %v outside the framebuffer", ErrProtocol, src)
	}
	rowLen := r.Dx() * 4
	copyRow := func(i int) {
		so, do := d.fb.PixOffset(sx, sy+i), d.fb.PixOffset(r.Min.X, r.Min.Y+i)
		copy(d.fb.Pix[do:do+rowLen], d.fb.Pix[so:so+rowLen]) // copy is memmove: overlap is safe
	}
	// Rows go in the order that never reads a row already overwritten.
	if sy < r.Min.Y {
		for i := r.Dy() - 1; i >= 0; i-- {
			copyRow(i)
		}
	} else {
		for i := 0; i < r.Dy(); i++ {
			copyRow(i)
		}
	}
	return nil
}

// resize replaces the framebuffer with one of the new size, keeping the overlap (the server
// sends the new content next, but a viewer should not flash black meanwhile). A server can make
// it allocate a framebuffer for 16 bytes of input, but only once per Update: the caller's work
// on each Update (encoding a video frame) costs more, so resizes are no amplification.
// A hostile server can still make a session slow, but not exhaust memory.
func (d *decoder) resize(w, h int) error {
	if w > d.opts.MaxWidth || h > d.opts.MaxHeight {
		return fmt.Errorf("%w: desktop resized to %dx%d", ErrTooLarge, w, h)
	}
	if d.fb.Rect.Dx() == w && d.fb.Rect.Dy() == h {
		return nil
	}
	fb := image.NewRGBA(image.Rect(0, 0, w, h))
	old := d.fb
	ow, oh := min(w, old.Rect.Dx()), min(h, old.Rect.Dy())
	for y := 0; y < oh; y++ {
		copy(fb.Pix[fb.PixOffset(0, y):fb.PixOffset(ow, y)], old.Pix[old.PixOffset(0, y):old.PixOffset(ow, y)])
	}
	d.fb = fb
	return nil
}

// cursor decodes the Cursor pseudo-encoding: w*h pixels, then a 1-bit mask with rows padded to
// bytes. The rectangle's position is the hotspot.
func (d *decoder) cursor(hx, hy, w, h int) (*Cursor, error) {
	if w > d.opts.MaxCursor || h > d.opts.MaxCursor {
		return nil, fmt.Errorf("%w: cursor %dx%d", ErrTooLarge, w, h)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if _, err := io.ReadFull(d.r, img.Pix); err != nil {
		return nil, fmt.Errorf("vnc: read cursor: %w", err)
	}
	stride := (w + 7) / 8
	mask := make([]byte, stride*h)
	if _, err := io.ReadFull(d.r, mask); err != nil {
		return nil, fmt.Errorf("vnc: read cursor mask: %w", err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			off := img.PixOffset(x, y)
			if mask[y*stride+x/8]&(0x80>>(x%8)) != 0 {
				img.Pix[off+3] = 0xff
			} else {
				// Premultiplied alpha: a transparent pixel is all zero.
				img.Pix[off], img.Pix[off+1], img.Pix[off+2], img.Pix[off+3] = 0, 0, 0, 0
			}
		}
	}
	if hx > w || hy > h {
		hx, hy = min(hx, w), min(hy, h)
	}
	return &Cursor{Image: img, Hotspot: image.Pt(hx, hy)}, nil
}

// fill paints r with the wire pixel p (R, G, B bytes).
func (d *decoder) fill(r image.Rectangle, p [3]byte) {
	rowLen := r.Dx() * 4
	if rowLen == 0 {
		return
	}
	first := d.fb.Pix[d.fb.PixOffset(r.Min.X, r.Min.Y):][:rowLen]
	for i := 0; i < rowLen; i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = p[0], p[1], p[2], 0xff
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		off := d.fb.PixOffset(r.Min.X, y)
		copy(d.fb.Pix[off:off+rowLen], first)
	}
}
