package vnc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/klauspost/compress/zlib"
	"image"
)

// pixelWriter turns RGBA pixels into a viewer's pixel format. Only true-colour formats of 8, 16
// or 32 bits are served; a viewer asking for a colour map is refused (every viewer in use asks
// for true colour, and colour maps would need a palette per connection).
type pixelWriter struct {
	pf    PixelFormat
	bytes int // per pixel
	fast  bool
	// ZRLE's compressed pixel: 3 bytes at cOff of the pixel when the format allows, else all.
	cLen, cOff int
}

func newPixelWriter(pf PixelFormat) (*pixelWriter, error) {
	switch {
	case !pf.TrueColour:
		return nil, fmt.Errorf("%w: colour-map pixel format", ErrProtocol)
	case pf.BPP != 8 && pf.BPP != 16 && pf.BPP != 32:
		return nil, fmt.Errorf("%w: %d bits per pixel", ErrProtocol, pf.BPP)
	case pf.RedShift > 31 || pf.GreenShift > 31 || pf.BlueShift > 31:
		return nil, fmt.Errorf("%w: colour shift beyond 31", ErrProtocol)
	}
	w := &pixelWriter{pf: pf, bytes: int(pf.BPP) / 8}
	w.fast = pf.BPP == 32 && !pf.BigEndian && pf.RedMax == 255 && pf.GreenMax == 255 && pf.BlueMax == 255 &&
		pf.RedShift == 0 && pf.GreenShift == 8 && pf.BlueShift == 16
	w.cLen, w.cOff = w.bytes, 0
	if pf.BPP == 32 && pf.Depth <= 24 {
		top := func(max uint16, shift uint8) uint64 { return uint64(max) << shift }
		low := top(pf.RedMax, pf.RedShift) < 1<<24 && top(pf.GreenMax, pf.GreenShift) < 1<<24 && top(pf.BlueMax, pf.BlueShift) < 1<<24
		high := pf.RedShift >= 8 && pf.GreenShift >= 8 && pf.BlueShift >= 8
		switch {
		case low && !pf.BigEndian, high && pf.BigEndian:
			w.cLen, w.cOff = 3, 0
		case low && pf.BigEndian, high && !pf.BigEndian:
			w.cLen, w.cOff = 3, 1
		}
	}
	return w, nil
}

func scale(v byte, max uint16) uint32 { return (uint32(v)*uint32(max) + 127) / 255 }

// pixel appends one pixel.
func (w *pixelWriter) pixel(dst []byte, r, g, b byte) []byte {
	if w.fast {
		return append(dst, r, g, b, 0)
	}
	pf := w.pf
	v := scale(r, pf.RedMax)<<pf.RedShift | scale(g, pf.GreenMax)<<pf.GreenShift | scale(b, pf.BlueMax)<<pf.BlueShift
	switch {
	case w.bytes == 1:
		return append(dst, byte(v))
	case w.bytes == 2 && pf.BigEndian:
		return binary.BigEndian.AppendUint16(dst, uint16(v))
	case w.bytes == 2:
		return binary.LittleEndian.AppendUint16(dst, uint16(v))
	case pf.BigEndian:
		return binary.BigEndian.AppendUint32(dst, v)
	}
	return binary.LittleEndian.AppendUint32(dst, v)
}

// cpixel appends one ZRLE compressed pixel.
func (w *pixelWriter) cpixel(dst []byte, r, g, b byte) []byte {
	n := len(dst)
	dst = w.pixel(dst, r, g, b)
	if w.cLen == w.bytes {
		return dst
	}
	copy(dst[n:], dst[n+w.cOff:n+w.cOff+w.cLen])
	return dst[:n+w.cLen]
}

func appendRectHeader(dst []byte, r image.Rectangle, enc Encoding) []byte {
	for _, v := range [4]int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} {
		dst = binary.BigEndian.AppendUint16(dst, uint16(v))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(enc))
}

// appendRaw appends rectangle r of img in Raw encoding.
func (w *pixelWriter) appendRaw(dst []byte, img *image.RGBA, r image.Rectangle) []byte {
	dst = appendRectHeader(dst, r, EncodingRaw)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):][:r.Dx()*4]
		if w.fast {
			dst = append(dst, row...)
			continue
		}
		for i := 0; i < len(row); i += 4 {
			dst = w.pixel(dst, row[i], row[i+1], row[i+2])
		}
	}
	return dst
}

// zrleStream keeps a connection's one zlib stream, as ZRLE requires.
type zrleStream struct {
	buf  bytes.Buffer
	zw   *zlib.Writer
	tile []byte
}

func newZRLEStream() *zrleStream {
	e := &zrleStream{}
	e.zw, _ = zlib.NewWriterLevel(&e.buf, zlib.BestSpeed)
	return e
}

// appendZRLE appends rectangle r of img in ZRLE: 64x64 tiles, each solid (subencoding 1) or raw
// CPIXELs (subencoding 0), through the connection's zlib stream. zlib finds the repetition that
// palette and RLE subencodings would, at a little more CPU.
func (e *zrleStream) appendZRLE(dst []byte, w *pixelWriter, img *image.RGBA, r image.Rectangle) ([]byte, error) {
	e.buf.Reset()
	for ty := r.Min.Y; ty < r.Max.Y; ty += 64 {
		for tx := r.Min.X; tx < r.Max.X; tx += 64 {
			t := image.Rect(tx, ty, min(tx+64, r.Max.X), min(ty+64, r.Max.Y))
			e.tile = e.tile[:0]
			first := img.Pix[img.PixOffset(t.Min.X, t.Min.Y):][:3]
			solid := true
			for y := t.Min.Y; y < t.Max.Y && solid; y++ {
				row := img.Pix[img.PixOffset(t.Min.X, y):][:t.Dx()*4]
				for i := 0; i < len(row); i += 4 {
					if row[i] != first[0] || row[i+1] != first[1] || row[i+2] != first[2] {
						solid = false
						break
					}
				}
			}
			if solid {
				e.tile = w.cpixel(append(e.tile, 1), first[0], first[1], first[2])
			} else {
				e.tile = append(e.tile, 0)
				for y := t.Min.Y; y < t.Max.Y; y++ {
					row := img.Pix[img.PixOffset(t.Min.X, y):][:t.Dx()*4]
					for i := 0; i < len(row); i += 4 {
						e.tile = w.cpixel(e.tile, row[i], row[i+1], row[i+2])
					}
				}
			}
			if _, err := e.zw.Write(e.tile); err != nil {
				return dst, err
			}
		}
	}
	if err := e.zw.Flush(); err != nil {
		return dst, err
	}
	dst = appendRectHeader(dst, r, EncodingZRLE)
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.buf.Len()))
	return append(dst, e.buf.Bytes()...), nil
}
