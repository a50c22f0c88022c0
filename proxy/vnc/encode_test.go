package vnc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
)

// Encoders used only by tests: they produce server-side wire data for a region of an image, so
// decoders can be checked by round trip. They favour covering every subencoding over compression.

func rectHeader(b *bytes.Buffer, r image.Rectangle, enc Encoding) {
	var h [12]byte
	binary.BigEndian.PutUint16(h[0:], uint16(r.Min.X))
	binary.BigEndian.PutUint16(h[2:], uint16(r.Min.Y))
	binary.BigEndian.PutUint16(h[4:], uint16(r.Dx()))
	binary.BigEndian.PutUint16(h[6:], uint16(r.Dy()))
	binary.BigEndian.PutUint32(h[8:], uint32(enc))
	b.Write(h[:])
}

func updateHeader(b *bytes.Buffer, n int) {
	b.Write([]byte{msgFramebufferUpdate, 0, byte(n >> 8), byte(n)})
}

func px(img *image.RGBA, x, y int) [3]byte {
	o := img.PixOffset(x, y)
	return [3]byte{img.Pix[o], img.Pix[o+1], img.Pix[o+2]}
}

func encodeRaw(b *bytes.Buffer, img *image.RGBA, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := px(img, x, y)
			b.Write([]byte{p[0], p[1], p[2], 0})
		}
	}
}

// encodeHextile alternates between raw tiles and background plus coloured 1x1 subrects, with
// solid tiles sent as a background alone (or as nothing, reusing the previous background).
func encodeHextile(b *bytes.Buffer, img *image.RGBA, r image.Rectangle) {
	var lastBG [3]byte
	haveBG := false
	n := 0
	for ty := r.Min.Y; ty < r.Max.Y; ty += 16 {
		for tx := r.Min.X; tx < r.Max.X; tx += 16 {
			t := image.Rect(tx, ty, min(tx+16, r.Max.X), min(ty+16, r.Max.Y))
			n++
			bg := px(img, t.Min.X, t.Min.Y)
			var subs []byte
			count := 0
			for y := t.Min.Y; y < t.Max.Y; y++ {
				for x := t.Min.X; x < t.Max.X; x++ {
					if p := px(img, x, y); p != bg {
						count++
						subs = append(subs, p[0], p[1], p[2], 0, byte((x-t.Min.X)<<4|(y-t.Min.Y)), 0)
					}
				}
			}
			switch {
			case count == 0 && haveBG && bg == lastBG:
				b.WriteByte(0)
			case count == 0:
				b.Write([]byte{hextileBackground, bg[0], bg[1], bg[2], 0})
			case count < 200 && n%2 == 0:
				b.Write([]byte{hextileBackground | hextileAnySubrects | hextileSubrectsColoured, bg[0], bg[1], bg[2], 0, byte(count)})
				b.Write(subs)
			default:
				b.WriteByte(hextileRaw)
				encodeRaw(b, img, t)
				continue // a raw tile leaves the background undefined for the next
			}
			lastBG, haveBG = bg, true
		}
	}
}

// zrleEncoder keeps one zlib stream, like a server's connection.
type zrleEncoder struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

func newZRLEEncoder() *zrleEncoder {
	e := &zrleEncoder{}
	e.zw = zlib.NewWriter(&e.buf)
	return e
}

// encode writes the rectangle's length and compressed tiles. Each tile uses the most specific
// subencoding that fits, rotating between the two palette forms and between RLE and raw.
func (e *zrleEncoder) encode(b *bytes.Buffer, img *image.RGBA, r image.Rectangle) {
	var raw bytes.Buffer
	n := 0
	for ty := r.Min.Y; ty < r.Max.Y; ty += 64 {
		for tx := r.Min.X; tx < r.Max.X; tx += 64 {
			t := image.Rect(tx, ty, min(tx+64, r.Max.X), min(ty+64, r.Max.Y))
			n++
			zrleTileEncode(&raw, img, t, n)
		}
	}
	e.zw.Write(raw.Bytes())
	e.zw.Flush()
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(e.buf.Len()))
	b.Write(l[:])
	b.Write(e.buf.Bytes())
	e.buf.Reset()
}

func zrleTileEncode(b *bytes.Buffer, img *image.RGBA, t image.Rectangle, n int) {
	var pal [][3]byte
	index := map[[3]byte]int{}
	var pixels [][3]byte
	for y := t.Min.Y; y < t.Max.Y; y++ {
		for x := t.Min.X; x < t.Max.X; x++ {
			p := px(img, x, y)
			pixels = append(pixels, p)
			if _, ok := index[p]; !ok {
				index[p] = len(pal)
				pal = append(pal, p)
			}
		}
	}
	runs := func(emit func(p [3]byte, run int)) {
		for i := 0; i < len(pixels); {
			j := i + 1
			for j < len(pixels) && pixels[j] == pixels[i] {
				j++
			}
			emit(pixels[i], j-i)
			i = j
		}
	}
	runLen := func(run int) {
		run--
		for run >= 255 {
			b.WriteByte(255)
			run -= 255
		}
		b.WriteByte(byte(run))
	}
	switch {
	case len(pal) == 1:
		b.WriteByte(1)
		b.Write(pal[0][:])
	case len(pal) <= 16 && n%2 == 0:
		b.WriteByte(byte(len(pal)))
		for _, p := range pal {
			b.Write(p[:])
		}
		bits := 4
		if len(pal) == 2 {
			bits = 1
		} else if len(pal) <= 4 {
			bits = 2
		}
		w := t.Dx()
		for y := 0; y < t.Dy(); y++ {
			var cur byte
			used := 0
			for x := 0; x < w; x++ {
				cur |= byte(index[pixels[y*w+x]]) << (8 - bits - used)
				used += bits
				if used == 8 {
					b.WriteByte(cur)
					cur, used = 0, 0
				}
			}
			if used > 0 {
				b.WriteByte(cur)
			}
		}
	case len(pal) <= 127:
		b.WriteByte(byte(128 + len(pal)))
		for _, p := range pal {
			b.Write(p[:])
		}
		runs(func(p [3]byte, run int) {
			if run == 1 {
				b.WriteByte(byte(index[p]))
				return
			}
			b.WriteByte(byte(128 | index[p]))
			runLen(run)
		})
	case n%2 == 0:
		b.WriteByte(128)
		runs(func(p [3]byte, run int) {
			b.Write(p[:])
			runLen(run)
		})
	default:
		b.WriteByte(0)
		for _, p := range pixels {
			b.Write(p[:])
		}
	}
}
