package vnc

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

// desktopLike is a 1080p screen as an admin's desktop looks to an encoder: large solid areas and
// a terminal-sized block of busy pixels (a fifth of the screen).
func desktopLike() *image.RGBA {
	img := noise(1920, 1080, 7)
	for y := 0; y < 1080; y++ {
		for x := 0; x < 1920; x++ {
			if x >= 200 && x < 1000 && y >= 200 && y < 720 {
				continue
			}
			o := img.PixOffset(x, y)
			copy(img.Pix[o:o+4], []byte{0x30, 0x50, 0x80, 0xff})
		}
	}
	return img
}

// BenchmarkServerEncode: the cost of one full 1080p update to a viewer, per encoding; MB/s is of
// RGBA input (8.3 MB a frame), so ns/op / 2.07 is the cost per megapixel.
func BenchmarkServerEncode(b *testing.B) {
	for _, sc := range []struct {
		name string
		img  *image.RGBA
	}{{"desktop", desktopLike()}, {"noise", noise(1920, 1080, 8)}} {
		for _, enc := range []string{"raw", "zrle"} {
			b.Run(sc.name+"/"+enc, func(b *testing.B) {
				pw, _ := newPixelWriter(rgbaFormat)
				z := newZRLEStream()
				var out []byte
				b.SetBytes(int64(len(sc.img.Pix)))
				b.ReportAllocs()
				for b.Loop() {
					out = out[:0]
					if enc == "raw" {
						out = pw.appendRaw(out, sc.img, sc.img.Rect)
					} else {
						out, _ = z.appendZRLE(out, pw, sc.img, sc.img.Rect)
					}
				}
				b.ReportMetric(float64(len(out)), "wire-bytes/frame")
			})
		}
	}
}

// BenchmarkFrontEndLatency: a screen change in the target to the viewer having decoded it, through
// the session's ring, the screen model, the RFB server (ZRLE) and the client, on loopback. Each
// change is a 200x40 strip of a 1080p screen (a line of text in a terminal).
func BenchmarkFrontEndLatency(b *testing.B) {
	var tg *paintTarget
	fe := startFrontEnd(b, func(context.Context) (desktop.Target, error) {
		tg = newPaintTarget(1920, 1080, 1)
		tg.img = desktopLike()
		return tg, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pw, _ := fe.otps.Issue("bench", "desk")
	c, err := Dial(ctx, fe.addr, []byte(pw), Options{Encodings: []Encoding{EncodingZRLE}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for c.Framebuffer().Pix[0] != tg.img.Pix[0] || countDiff(c.Framebuffer(), tg.img) != 0 {
		if _, err := c.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
	frames := [2]*image.RGBA{desktopLike(), desktopLike()}
	o := frames[1].PixOffset(500, 500)
	frames[1].Pix[o] ^= 0xff // the two frames differ in one pixel of the busy area
	tg.rect = image.Rect(400, 490, 600, 530)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := frames[i%2]
		tg.paint <- want
		p := want.Pix[o]
		for c.Framebuffer().Pix[o] != p {
			if _, err := c.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/change")
}
