package vnc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zlib"
	"image"
	"io"
)

// ZRLE (RFB 7.7.6): one zlib stream for the whole connection; each rectangle carries a length
// and the next piece of the stream, which decompresses to 64x64 tiles of compressed pixels
// (CPIXEL: our 32-bit format's low three bytes, R, G, B).
//
// The decompressor is fed from zsource, a buffer holding the current rectangle's compressed
// bytes, and is asked for exactly the bytes the tiles need, never more: Go's flate reads its
// source byte by byte when it is an io.ByteReader, so it never reads past what it was given,
// and an attempt to do so would be a sticky error. Servers end each rectangle with a zlib sync
// flush, so everything a rectangle needs is in that rectangle's bytes.
type zrleState struct {
	src zsource
	zr  io.ReadCloser
	lim limitReader
	// br buffers the decompressed bytes. It asks lim (and so flate) for more only when a tile
	// needs a byte it does not hold, and flate answers with what it has decoded without reading
	// further input, so the buffering keeps the never-read-past-the-rectangle rule.
	br  *bufio.Reader
	pix []byte
	tmp [3]byte
	pal [127][3]byte
}

// maxZlibLeftover bounds the compressed bytes a rectangle may leave unconsumed for the next
// (an honest server leaves the 4-5 bytes of the sync flush's empty block).
const maxZlibLeftover = 64 << 10

var errZlibLimit = errors.New("zrle rectangle decompresses past its bound")

// zrleBound is the most decompressed bytes a rectangle can legitimately need: 4 bytes a pixel
// (a plain-RLE run of one pixel) plus a subencoding byte and a 127-entry palette per tile.
func zrleBound(r image.Rectangle) int64 {
	tiles := int64((r.Dx()+63)/64) * int64((r.Dy()+63)/64)
	return 4*int64(r.Dx())*int64(r.Dy()) + tiles*(1+127*3)
}

func (d *decoder) zrleRect(r image.Rectangle) error {
	var l [4]byte
	if _, err := io.ReadFull(d.r, l[:]); err != nil {
		return fmt.Errorf("vnc: read zrle length: %w", err)
	}
	n := int64(binary.BigEndian.Uint32(l[:]))
	bound := zrleBound(r)
	// Deflate's worst case is a small fraction above its input (stored blocks).
	if n > bound+bound/8+4096 {
		return fmt.Errorf("%w: zrle rectangle %v with %d compressed bytes", ErrTooLarge, r, n)
	}
	z := &d.zrle
	if len(z.src.buf)-z.src.off > maxZlibLeftover {
		return fmt.Errorf("%w: zrle stream left %d bytes unused", ErrProtocol, len(z.src.buf)-z.src.off)
	}
	if err := z.src.fill(d.r, int(n)); err != nil {
		return fmt.Errorf("vnc: read zrle data: %w", err)
	}
	if z.zr == nil {
		zr, err := zlib.NewReader(&z.src)
		if err != nil {
			return fmt.Errorf("%w: zrle zlib header: %v", ErrProtocol, err)
		}
		z.zr = zr
	}
	z.lim = limitReader{r: z.zr, n: bound}
	if z.br == nil {
		z.br = bufio.NewReaderSize(&z.lim, 16<<10)
	}
	for ty := r.Min.Y; ty < r.Max.Y; ty += 64 {
		for tx := r.Min.X; tx < r.Max.X; tx += 64 {
			tile := image.Rect(tx, ty, min(tx+64, r.Max.X), min(ty+64, r.Max.Y))
			if err := d.zrleTile(tile); err != nil {
				if errors.Is(err, errZlibLimit) {
					return fmt.Errorf("%w: %v", ErrTooLarge, err)
				}
				return fmt.Errorf("%w: zrle tile %v: %v", ErrProtocol, tile, err)
			}
		}
	}
	return nil
}

func (d *decoder) zrleTile(t image.Rectangle) error {
	z := &d.zrle
	sb, err := z.br.ReadByte()
	if err != nil {
		return err
	}
	sub := int(sb)
	w, h := t.Dx(), t.Dy()
	switch {
	case sub == 0: // raw CPIXELs
		need := w * h * 3
		z.pix = grow(z.pix, need)
		if _, err := io.ReadFull(z.br, z.pix[:need]); err != nil {
			return err
		}
		i := 0
		for y := t.Min.Y; y < t.Max.Y; y++ {
			row := d.fb.Pix[d.fb.PixOffset(t.Min.X, y):][:w*4]
			for x := 0; x < len(row); x += 4 {
				row[x], row[x+1], row[x+2], row[x+3] = z.pix[i], z.pix[i+1], z.pix[i+2], 0xff
				i += 3
			}
		}
	case sub == 1: // solid
		if _, err := io.ReadFull(z.br, z.tmp[:]); err != nil {
			return err
		}
		d.fill(t, z.tmp)
	case sub <= 16: // packed palette
		pal, err := z.palette(sub)
		if err != nil {
			return err
		}
		bits := 4
		if sub == 2 {
			bits = 1
		} else if sub <= 4 {
			bits = 2
		}
		stride := (w*bits + 7) / 8
		need := stride * h
		z.pix = grow(z.pix, need)
		if _, err := io.ReadFull(z.br, z.pix[:need]); err != nil {
			return err
		}
		mask := byte(1<<bits - 1)
		for y := 0; y < h; y++ {
			row := z.pix[y*stride:]
			out := d.fb.Pix[d.fb.PixOffset(t.Min.X, t.Min.Y+y):][:w*4]
			for x := 0; x < w; x++ {
				bit := x * bits
				idx := int(row[bit/8]>>(8-bits-bit%8)) & int(mask)
				if idx >= sub {
					return fmt.Errorf("palette index %d of %d", idx, sub)
				}
				p := pal[idx]
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = p[0], p[1], p[2], 0xff
			}
		}
	case sub == 128 || sub >= 130: // plain RLE, palette RLE
		var pal [][3]byte
		if sub >= 130 {
			var err error
			if pal, err = z.palette(sub - 128); err != nil {
				return err
			}
		}
		total := w * h
		for i := 0; i < total; {
			var p [3]byte
			run := 1
			if pal == nil {
				if _, err := io.ReadFull(z.br, z.tmp[:]); err != nil {
					return err
				}
				p = z.tmp
				n, err := z.runLength(total - i)
				if err != nil {
					return err
				}
				run = n
			} else {
				ib, err := z.br.ReadByte()
				if err != nil {
					return err
				}
				idx := int(ib & 127)
				if idx >= len(pal) {
					return fmt.Errorf("palette index %d of %d", idx, len(pal))
				}
				p = pal[idx]
				if ib&128 != 0 {
					n, err := z.runLength(total - i)
					if err != nil {
						return err
					}
					run = n
				}
			}
			for j := i; j < i+run; j++ {
				off := d.fb.PixOffset(t.Min.X+j%w, t.Min.Y+j/w)
				d.fb.Pix[off], d.fb.Pix[off+1], d.fb.Pix[off+2], d.fb.Pix[off+3] = p[0], p[1], p[2], 0xff
			}
			i += run
		}
	default:
		return fmt.Errorf("unknown subencoding %d", sub)
	}
	return nil
}

// palette reads n CPIXELs into the state's palette, which is valid until the next tile.
func (z *zrleState) palette(n int) ([][3]byte, error) {
	z.pix = grow(z.pix, n*3)
	if _, err := io.ReadFull(z.br, z.pix); err != nil {
		return nil, err
	}
	pal := z.pal[:n]
	for i := range pal {
		pal[i] = [3]byte{z.pix[3*i], z.pix[3*i+1], z.pix[3*i+2]}
	}
	return pal, nil
}

// runLength reads a ZRLE run length (bytes of 255 summed, ended by a smaller byte, plus one) and
// refuses a run longer than the pixels left in the tile.
func (z *zrleState) runLength(left int) (int, error) {
	n := 1
	for {
		b, err := z.br.ReadByte()
		if err != nil {
			return 0, err
		}
		n += int(b)
		if n > left {
			return 0, fmt.Errorf("run of %d pixels with %d left in the tile", n, left)
		}
		if b != 255 {
			return n, nil
		}
	}
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// zsource holds compressed bytes not yet consumed by the zlib reader. It is an io.ByteReader so
// flate reads exactly what it needs.
type zsource struct {
	buf []byte
	off int
}

// fill appends n bytes from r, first dropping what was consumed.
func (s *zsource) fill(r io.Reader, n int) error {
	left := copy(s.buf, s.buf[s.off:])
	s.buf, s.off = s.buf[:left], 0
	if cap(s.buf) < left+n {
		// Grow geometrically: rectangles of a session vary in size, and reallocating for each
		// larger one would churn the heap.
		nb := make([]byte, left, max(left+n, 2*cap(s.buf)))
		copy(nb, s.buf)
		s.buf = nb
	}
	s.buf = s.buf[:left+n]
	_, err := io.ReadFull(r, s.buf[left:])
	if err != nil {
		s.buf = s.buf[:left]
	}
	return err
}

func (s *zsource) Read(p []byte) (int, error) {
	if s.off >= len(s.buf) {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

func (s *zsource) ReadByte() (byte, error) {
	if s.off >= len(s.buf) {
		return 0, io.ErrUnexpectedEOF
	}
	b := s.buf[s.off]
	s.off++
	return b, nil
}

// limitReader gives at most n bytes, then fails with errZlibLimit.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errZlibLimit
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
