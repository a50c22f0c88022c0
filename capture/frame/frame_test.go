package frame

import (
	"bytes"
	"errors"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/seed18fc72c3/vigil/capture"
)

// ringWriter records events like a producer would, copying payloads.
type ringWriter struct{ events [][]byte }

func (w *ringWriter) Write(t capture.Type, _ uint16, p []byte) (capture.Event, error) {
	if t != capture.TypeDamage {
		panic("unexpected type")
	}
	w.events = append(w.events, append([]byte(nil), p...))
	return capture.Event{}, nil
}

func randomImage(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	return img
}

// TestEmitRebuildsScreen sends damage through payloads of every size around the split points and
// checks the Framebuffer ends up pixel-identical to the source.
func TestEmitRebuildsScreen(t *testing.T) {
	const w, h = 37, 23
	src := randomImage(w, h, 7)
	rects := []image.Rectangle{image.Rect(0, 0, w, h), image.Rect(3, 4, 20, 9), image.Rect(36, 22, 37, 23)}
	for _, maxPayload := range []int{13, 9 + 4*w - 1, 9 + 4*w, 9 + 4*w + 1, 9 + 4*w*3, 1 << 15} {
		wr := &ringWriter{}
		e := &Emitter{W: wr, MaxPayload: maxPayload}
		if err := e.Update(src, rects); err != nil {
			t.Fatalf("MaxPayload %d: %v", maxPayload, err)
		}
		fb := NewFramebuffer(w, h)
		fb.TakeDirty()
		for _, p := range wr.events {
			if len(p) > maxPayload {
				t.Fatalf("MaxPayload %d: payload of %d bytes", maxPayload, len(p))
			}
			if _, err := fb.Apply(p); err != nil {
				t.Fatalf("MaxPayload %d: apply: %v", maxPayload, err)
			}
		}
		if !bytes.Equal(fb.Image().Pix, src.Pix) {
			t.Fatalf("MaxPayload %d: screen differs from source", maxPayload)
		}
		if fb.Frames() != 1 {
			t.Fatalf("frames = %d, want 1", fb.Frames())
		}
		dirty, resized := fb.TakeDirty()
		if resized || len(dirty) == 0 {
			t.Fatalf("dirty %v resized %v", dirty, resized)
		}
	}
	if err := (&Emitter{W: &ringWriter{}, MaxPayload: 12}).Pixels(src, src.Bounds()); err == nil {
		t.Fatal("MaxPayload 12 accepted")
	}
}

// TestCopyOverlap checks scrolls in both directions against a reference built pixel by pixel.
func TestCopyOverlap(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    image.Rectangle
		src  image.Point
	}{
		{"scroll up", image.Rect(0, 0, 10, 7), image.Pt(0, 3)},
		{"scroll down", image.Rect(0, 3, 10, 10), image.Pt(0, 0)},
		{"right", image.Rect(2, 0, 10, 10), image.Pt(0, 0)},
		{"left", image.Rect(0, 1, 8, 9), image.Pt(2, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := randomImage(10, 10, 3)
			fb := NewFramebuffer(10, 10)
			fb.Load(img)
			want := img.SubImage(image.Rectangle{Min: tc.src, Max: tc.src.Add(tc.r.Size())}).(*image.RGBA)
			ref := make([]byte, 0)
			for y := want.Rect.Min.Y; y < want.Rect.Max.Y; y++ {
				ref = append(ref, want.Pix[want.PixOffset(want.Rect.Min.X, y):][:want.Rect.Dx()*4]...)
			}
			if _, err := fb.Apply(AppendCopy(nil, tc.r, tc.src)); err != nil {
				t.Fatal(err)
			}
			got := fb.Image().SubImage(tc.r).(*image.RGBA)
			var out []byte
			for y := got.Rect.Min.Y; y < got.Rect.Max.Y; y++ {
				out = append(out, got.Pix[got.PixOffset(got.Rect.Min.X, y):][:got.Rect.Dx()*4]...)
			}
			if !bytes.Equal(out, ref) {
				t.Fatal("copy differs from reference")
			}
		})
	}
}

func TestApplyRefusesOutOfBounds(t *testing.T) {
	img := randomImage(4, 4, 1)
	for _, tc := range []struct {
		name string
		p    []byte
	}{
		{"pixels outside", AppendPixels(nil, img, image.Rect(2, 2, 4, 4))[:0]},
		{"copy dest outside", AppendCopy(nil, image.Rect(3, 3, 6, 6), image.Pt(0, 0))},
		{"copy src outside", AppendCopy(nil, image.Rect(0, 0, 2, 2), image.Pt(3, 3))},
		{"size zero", AppendSize(nil, 0, 10)},
		{"size huge", AppendSize(nil, MaxSide+1, 10)},
		{"unknown kind", []byte{9}},
		{"empty", nil},
		{"frame with body", []byte{KindFrame, 0}},
		{"short pixels", []byte{KindPixels, 0, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if tc.name == "pixels outside" {
				// a 2x2 rectangle placed at (3,3) on a 4x4 screen
				big := randomImage(8, 8, 2)
				p = AppendPixels(nil, big, image.Rect(3, 3, 5, 5))
			}
			fb := NewFramebuffer(4, 4)
			before := append([]byte(nil), fb.Image().Pix...)
			if _, err := fb.Apply(p); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if !bytes.Equal(before, fb.Image().Pix) {
				t.Fatal("screen changed by a refused payload")
			}
		})
	}
}

func TestSizeClearsAndReports(t *testing.T) {
	fb := NewFramebuffer(4, 4)
	fb.Load(randomImage(4, 4, 5))
	fb.TakeDirty()
	if _, err := fb.Apply(AppendSize(nil, 6, 2)); err != nil {
		t.Fatal(err)
	}
	if b := fb.Image().Bounds(); b != image.Rect(0, 0, 6, 2) {
		t.Fatalf("bounds %v", b)
	}
	for i, v := range fb.Image().Pix {
		if (i%4 == 3 && v != 0xff) || (i%4 != 3 && v != 0) {
			t.Fatalf("pixel byte %d = %d after resize, want black", i, v)
		}
	}
	if d, resized := fb.TakeDirty(); !resized || len(d) != 1 || d[0] != fb.Image().Bounds() {
		t.Fatalf("dirty %v resized %v", d, resized)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	cur := randomImage(5, 3, 9)
	d, err := Parse(AppendCursor(nil, cur, image.Pt(2, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindCursor || d.Rect != image.Rect(0, 0, 5, 3) || d.Src != image.Pt(2, 1) || !bytes.Equal(d.Pix, cur.Pix) {
		t.Fatalf("cursor round trip: %+v", d)
	}
}

func TestInputRoundTrip(t *testing.T) {
	for _, in := range []Input{
		{Kind: InputKey, Down: true, Keysym: 0x61, Scancode: 0x1e},
		{Kind: InputKey, Down: false, Keysym: 0xff0d, Scancode: 0x1c | ScancodeExtended},
		{Kind: InputPointer, X: 1919, Y: 1079, Buttons: ButtonLeft | ButtonWheelDown},
		{Kind: InputClipboard, Text: []byte("héllo")},
	} {
		got, err := ParseInput(in.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != in.Kind || got.Down != in.Down || got.Keysym != in.Keysym || got.Scancode != in.Scancode ||
			got.X != in.X || got.Y != in.Y || got.Buttons != in.Buttons || !bytes.Equal(got.Text, in.Text) {
			t.Fatalf("round trip %+v -> %+v", in, got)
		}
	}
	for _, bad := range [][]byte{nil, {InputKey, 2, 0, 0, 0, 0x61, 0, 0}, {InputKey, 1}, {InputPointer, 0, 0}, {7}} {
		if _, err := ParseInput(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseInput(%v) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct {
		keysym uint32
		want   bool
	}{
		{'a', true}, {'Z', true}, {' ', true}, {'~', true}, {0xe9, true}, {0x010020ac, true}, {0xffb5, true},
		{0xff0d, false}, {0xff08, false}, {0xffe1, false}, {0xffbe, false}, {0xff51, false},
	} {
		if got := (Input{Kind: InputKey, Keysym: tc.keysym}).Printable(); got != tc.want {
			t.Errorf("Printable(%#x) = %v, want %v", tc.keysym, got, tc.want)
		}
	}
}

// FuzzApply: no payload panics or writes outside the screen, and a well-formed Pixels payload
// round-trips through Parse.
func FuzzApply(f *testing.F) {
	img := randomImage(8, 8, 4)
	f.Add(AppendPixels(nil, img, image.Rect(1, 1, 4, 3)))
	f.Add(AppendCopy(nil, image.Rect(0, 0, 4, 4), image.Pt(2, 2)))
	f.Add(AppendSize(nil, 3, 3))
	f.Add(AppendFrame(nil))
	f.Add(AppendCursor(nil, img, image.Pt(1, 1)))
	f.Fuzz(func(t *testing.T, p []byte) {
		fb := NewFramebuffer(8, 8)
		d, err := fb.Apply(p)
		if err != nil {
			return
		}
		if d.Kind == KindPixels && !d.Rect.Empty() {
			again := AppendPixels(nil, fb.Image(), d.Rect)
			if !bytes.Equal(again[:9], p[:9]) {
				t.Fatalf("header round trip: %v vs %v", again[:9], p[:9])
			}
		}
		if _, err := ParseInput(p); err == nil {
			in, _ := ParseInput(p)
			if !bytes.Equal(in.Append(nil), p) {
				t.Fatalf("input round trip: %v", p)
			}
		}
	})
}
