package vnc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

func newTestDecoder(data []byte, w, h int) *decoder {
	opts := Options{}.withDefaults()
	return newDecoder(bufio.NewReader(bytes.NewReader(data)), image.NewRGBA(image.Rect(0, 0, w, h)), &opts)
}

// testImage makes content of a given character: noise defeats palettes, few colours exercise
// them, stripes give long runs.
func testImage(kind string, w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	colours := map[string]int{"noise": 1 << 24, "two": 2, "four": 4, "sixteen": 16, "hundred": 100, "stripes": 3}[kind]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c uint32
			switch kind {
			case "stripes":
				c = uint32((x/7 + y/5) % colours * 0x404040)
			default:
				c = uint32(rng.IntN(colours)) * 0x010305
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = byte(c>>16), byte(c>>8), byte(c), 0xff
		}
	}
	return img
}

func encodeWith(enc Encoding, img *image.RGBA, z *zrleEncoder) []byte {
	var b bytes.Buffer
	updateHeader(&b, 1)
	rectHeader(&b, img.Rect, enc)
	switch enc {
	case EncodingRaw:
		encodeRaw(&b, img, img.Rect)
	case EncodingHextile:
		encodeHextile(&b, img, img.Rect)
	case EncodingZRLE:
		z.encode(&b, img, img.Rect)
	}
	return b.Bytes()
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, enc := range []Encoding{EncodingRaw, EncodingHextile, EncodingZRLE} {
		for _, kind := range []string{"noise", "two", "four", "sixteen", "hundred", "stripes"} {
			// Sizes around the 16-pixel Hextile and 64-pixel ZRLE tiles.
			for _, sz := range []image.Point{{1, 1}, {15, 17}, {16, 16}, {17, 15}, {63, 65}, {64, 64}, {65, 130}} {
				t.Run(fmt.Sprintf("%d/%s/%dx%d", enc, kind, sz.X, sz.Y), func(t *testing.T) {
					z := newZRLEEncoder()
					var stream []byte
					var imgs []*image.RGBA
					// Several updates through one decoder: ZRLE's zlib stream spans them.
					for i := range 3 {
						img := testImage(kind, sz.X, sz.Y, uint64(i))
						imgs = append(imgs, img)
						stream = append(stream, encodeWith(enc, img, z)...)
					}
					d := newTestDecoder(stream, sz.X, sz.Y)
					for i, img := range imgs {
						u, ok, err := d.message()
						if err != nil || !ok {
							t.Fatalf("update %d: ok %v err %v", i, ok, err)
						}
						if len(u.Rects) != 1 || u.Rects[0] != img.Rect {
							t.Fatalf("update %d: rects %v", i, u.Rects)
						}
						if n := countDiff(d.fb, img); n != 0 {
							t.Fatalf("update %d: %d pixels differ", i, n)
						}
					}
				})
			}
		}
	}
}

func TestCopyRectOverlap(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst image.Point
	}{
		{"down", image.Pt(0, 0), image.Pt(3, 5)}, {"up", image.Pt(3, 5), image.Pt(0, 0)},
		{"right", image.Pt(0, 2), image.Pt(4, 2)}, {"left", image.Pt(4, 2), image.Pt(0, 2)},
		{"same", image.Pt(2, 2), image.Pt(2, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := testImage("noise", 40, 30, 7)
			want := image.NewRGBA(img.Rect)
			copy(want.Pix, img.Pix)
			size := image.Pt(30, 20)
			// Reference: copy through a separate buffer.
			tmp := image.NewRGBA(image.Rectangle{Max: size})
			for y := 0; y < size.Y; y++ {
				for x := 0; x < size.X; x++ {
					tmp.Set(x, y, img.At(tc.src.X+x, tc.src.Y+y))
				}
			}
			for y := 0; y < size.Y; y++ {
				for x := 0; x < size.X; x++ {
					want.Set(tc.dst.X+x, tc.dst.Y+y, tmp.At(x, y))
				}
			}
			var b bytes.Buffer
			updateHeader(&b, 1)
			rectHeader(&b, image.Rectangle{tc.dst, tc.dst.Add(size)}, EncodingCopyRect)
			b.Write([]byte{0, byte(tc.src.X), 0, byte(tc.src.Y)})
			d := newTestDecoder(b.Bytes(), 40, 30)
			copy(d.fb.Pix, img.Pix)
			if _, _, err := d.message(); err != nil {
				t.Fatal(err)
			}
			if n := countDiff(d.fb, want); n != 0 {
				t.Fatalf("%d pixels differ", n)
			}
		})
	}
}

func TestPseudoEncodings(t *testing.T) {
	var b bytes.Buffer
	updateHeader(&b, 2)
	rectHeader(&b, image.Rect(0, 0, 50, 20), EncodingDesktopSize)
	// A 9x2 cursor, hotspot (4,1): pixels, then a mask with 2-byte rows.
	rectHeader(&b, image.Rect(4, 1, 4+9, 1+2), EncodingCursor)
	for i := 0; i < 18; i++ {
		b.Write([]byte{byte(i), 2, 3, 0})
	}
	b.Write([]byte{0xff, 0x80, 0x00, 0x00})
	d := newTestDecoder(b.Bytes(), 10, 10)
	d.fb.Pix[0] = 99
	u, ok, err := d.message()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !u.Resized || d.fb.Rect != image.Rect(0, 0, 50, 20) || d.fb.Pix[0] != 99 {
		t.Errorf("resize: %v %v, old content kept %v", u.Resized, d.fb.Rect, d.fb.Pix[0] == 99)
	}
	if u.Cursor == nil || u.Cursor.Hotspot != image.Pt(4, 1) || u.Cursor.Image.Rect.Size() != image.Pt(9, 2) {
		t.Fatalf("cursor %+v", u.Cursor)
	}
	for x := 0; x < 9; x++ {
		if a := u.Cursor.Image.RGBAAt(x, 0).A; a != 0xff {
			t.Errorf("cursor (%d,0) alpha %d, want opaque", x, a)
		}
		if c := u.Cursor.Image.RGBAAt(x, 1); c.A != 0 || c.R != 0 {
			t.Errorf("cursor (%d,1) = %v, want transparent", x, c)
		}
	}
}

func TestOtherServerMessages(t *testing.T) {
	opts := Options{MaxCutText: 4}.withDefaults()
	data := []byte{
		msgSetColourMapEntries, 0, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, // skipped
		msgBell,
		msgServerCutText, 0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o', '!',
		msgBell,
	}
	d := newDecoder(bufio.NewReader(bytes.NewReader(data)), image.NewRGBA(image.Rect(0, 0, 1, 1)), &opts)
	var got []string
	for {
		u, ok, err := d.message()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%v/%v/%q", ok, u.Bell, u.CutText))
	}
	want := fmt.Sprint([]string{`false/false/""`, `true/true/""`, `true/false/"hell"`, `true/true/""`})
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestHostileUpdates: malformed or oversized messages are errors, never panics or big
// allocations.
func TestHostileUpdates(t *testing.T) {
	rect := func(r image.Rectangle, enc Encoding, body ...byte) []byte {
		var b bytes.Buffer
		updateHeader(&b, 1)
		rectHeader(&b, r, enc)
		b.Write(body)
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"rect past the right edge", rect(image.Rect(60, 0, 65, 1), EncodingRaw), ErrProtocol},
		{"rect past the bottom", rect(image.Rect(0, 64, 1, 65), EncodingRaw), ErrProtocol},
		{"empty rect far outside", rect(image.Rect(60000, 60000, 60000, 60001), EncodingRaw), ErrProtocol},
		{"empty copyrect source far outside", rect(image.Rect(0, 0, 0, 8), EncodingCopyRect, 0xff, 0, 0, 0), ErrProtocol},
		{"copyrect source outside", rect(image.Rect(0, 0, 8, 8), EncodingCopyRect, 0, 60, 0, 0), ErrProtocol},
		{"desktop too wide", rect(image.Rect(0, 0, 8193, 10), EncodingDesktopSize), ErrTooLarge},
		{"cursor too big", rect(image.Rect(0, 0, 257, 1), EncodingCursor), ErrTooLarge},
		{"unknown encoding", rect(image.Rect(0, 0, 1, 1), 7), ErrProtocol},
		{"hextile subrect outside tile", rect(image.Rect(0, 0, 8, 8), EncodingHextile,
			hextileBackground|hextileAnySubrects, 1, 2, 3, 0, 1, 0x77, 0x11), ErrProtocol},
		{"zrle length huge", rect(image.Rect(0, 0, 1, 1), EncodingZRLE, 0xff, 0xff, 0xff, 0xff), ErrTooLarge},
		{"zrle bad zlib", rect(image.Rect(0, 0, 1, 1), EncodingZRLE, 0, 0, 0, 2, 1, 2), ErrProtocol},
		{"unknown message", []byte{9}, ErrProtocol},
		{"two resizes", append(append(updateN(2), rect(image.Rect(0, 0, 8, 8), EncodingDesktopSize)[4:]...),
			rect(image.Rect(0, 0, 9, 9), EncodingDesktopSize)[4:]...), ErrProtocol},
		{"truncated", rect(image.Rect(0, 0, 8, 8), EncodingRaw, 1, 2, 3), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := newTestDecoder(tc.data, 64, 64).message()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func updateN(n int) []byte {
	var b bytes.Buffer
	updateHeader(&b, n)
	return b.Bytes()
}

func TestHostileZRLETiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		tile []byte
		want error
	}{
		{"unused subencoding", []byte{17}, ErrProtocol},
		{"palette index out of range", []byte{3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0xff}, ErrProtocol},
		{"run longer than tile", []byte{128, 1, 2, 3, 255, 255}, ErrProtocol},
		{"palette rle index out of range", []byte{130, 1, 1, 1, 2, 2, 2, 5}, ErrProtocol},
		{"truncated raw", []byte{0, 1, 2}, ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newZRLEEncoder()
			e.zw.Write(tc.tile)
			e.zw.Flush()
			var b bytes.Buffer
			updateHeader(&b, 1)
			rectHeader(&b, image.Rect(0, 0, 4, 2), EncodingZRLE)
			b.Write([]byte{0, 0, 0, byte(e.buf.Len())})
			b.Write(e.buf.Bytes())
			_, _, err := newTestDecoder(b.Bytes(), 4, 2).message()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
