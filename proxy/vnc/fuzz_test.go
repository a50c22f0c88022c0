package vnc

import (
	"bufio"
	"bytes"
	"image"
	"io"
	"testing"
)

// fuzzOpts keeps a fuzzed resize small, so a run measures decoding, not allocating.
var fuzzOpts = Options{MaxWidth: 96, MaxHeight: 96, MaxCursor: 32, MaxCutText: 1024}.withDefaults()

// FuzzDecode feeds arbitrary server messages to a decoder: no panic, and no allocation beyond
// what the limits allow (the fuzzer's memory limit catches that).
func FuzzDecode(f *testing.F) {
	z := newZRLEEncoder()
	for _, enc := range []Encoding{EncodingRaw, EncodingHextile, EncodingZRLE} {
		for _, kind := range []string{"noise", "four", "hundred", "stripes"} {
			f.Add(encodeWith(enc, testImage(kind, 20, 70, 1), z))
		}
	}
	var b bytes.Buffer
	updateHeader(&b, 2)
	rectHeader(&b, image.Rect(1, 2, 9, 9), EncodingCopyRect)
	b.Write([]byte{0, 3, 0, 4})
	rectHeader(&b, image.Rect(0, 0, 3, 1), EncodingCursor)
	b.Write(make([]byte, 3*4+1))
	f.Add(b.Bytes())
	f.Add([]byte{msgServerCutText, 0, 0, 0, 0, 0, 4, 'a', 'b', 'c', 'd', msgBell, msgSetColourMapEntries, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(bufio.NewReader(bytes.NewReader(data)), image.NewRGBA(image.Rect(0, 0, 64, 80)), &fuzzOpts)
		for {
			u, _, err := d.message()
			if err != nil {
				return
			}
			for _, r := range u.Rects {
				if !r.In(d.fb.Rect) {
					t.Fatalf("damage %v outside the framebuffer %v", r, d.fb.Rect)
				}
			}
		}
	})
}

// FuzzRoundTrip: whatever the image, each encoding decodes back to it exactly.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(17), uint8(65))
	f.Add(bytes.Repeat([]byte{9, 9, 9, 0, 0, 0}, 100), uint8(64), uint8(3))
	f.Fuzz(func(t *testing.T, seed []byte, w, h uint8) {
		if w == 0 || h == 0 || len(seed) == 0 {
			return
		}
		img := image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
		// Few distinct colours from the seed, so that palettes and runs occur.
		for i := 0; i < len(img.Pix); i += 4 {
			s := seed[(i/4)%len(seed)]
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = s, s&0x0f, s>>4, 0xff
		}
		z := newZRLEEncoder()
		for _, enc := range []Encoding{EncodingRaw, EncodingHextile, EncodingZRLE} {
			d := newTestDecoder(encodeWith(enc, img, z), int(w), int(h))
			if _, _, err := d.message(); err != nil {
				t.Fatalf("encoding %d: %v", enc, err)
			}
			if n := countDiff(d.fb, img); n != 0 {
				t.Fatalf("encoding %d: %d pixels differ", enc, n)
			}
		}
	})
}

// FuzzHandshake: arbitrary server bytes during the handshake give an error or a bounded
// ServerInit, never a panic.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("RFB 003.008\n\x01\x01\x00\x00\x00\x00"+string(serverInit(10, 10, "x"))), []byte(""))
	f.Add([]byte("RFB 003.003\n\x00\x00\x00\x02"+"0123456789abcdef\x00\x00\x00\x00"+string(serverInit(1, 1, ""))), []byte("pw"))
	f.Add([]byte("RFB 003.007\n\x00\x00\x00\x00\x05hello"), []byte("pw"))
	f.Add([]byte("RFB 003.008\n\x01\x02"+"0123456789abcdef\x00\x00\x00\x01\x00\x00\x00\x02no"), []byte("pw"))
	f.Fuzz(func(t *testing.T, data, password []byte) {
		si, err := handshake(bufio.NewReader(bytes.NewReader(data)), io.Discard, password, false, &fuzzOpts)
		if err == nil && (si.Width > fuzzOpts.MaxWidth || si.Height > fuzzOpts.MaxHeight) {
			t.Fatalf("accepted a %dx%d desktop", si.Width, si.Height)
		}
	})
}
