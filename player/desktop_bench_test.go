package player

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/klauspost/compress/flate"
)

// BenchmarkDesktopTile compares tile encodings the desktop websocket could use on a
// desktop-like 256x256 tile (flat, gradient, text-like and noisy areas): the deflated RGBA it
// sends (left-predicted RGB, deflated), plain DEFLATE of RGBA, and PNG, all lossless. Reported:
// encoded bytes per tile (bytes/tile) and time. One run on the 2-core machine
// (go test -run XXX -bench Desktop -benchtime 2s ./player/):
//
//	tile      sent (enc 2)        DEFLATE RGBA        PNG (BestSpeed)
//	text      1472 B  1.06 ms     2208 B  0.42 ms     1338 B   2.8 ms
//	gradient  1717 B  0.54 ms     256 KB  0.12 ms     2086 B   6.5 ms
//	noise     192 KB  0.49 ms     256 KB  0.11 ms     192 KB  22.7 ms
//
// and a full 1080p frame (BenchmarkDesktopFullFrame): 26 ms, 1.4 MB (plain DEFLATE: 17 ms, 4.5 MB).
func BenchmarkDesktopTile(b *testing.B) {
	for _, area := range []struct {
		name string
		r    image.Rectangle
	}{
		{"text", image.Rect(700, 100, 956, 356)},   // flat background with "text"
		{"gradient", image.Rect(0, 0, 256, 256)},   // a smooth panel
		{"noise", image.Rect(700, 800, 956, 1056)}, // incompressible
	} {
		img := testScreen(1920, 1080, 5)
		enc := newTileEncoder()
		tiles := enc.cut(img, []image.Rectangle{area.r})
		raw := len(tiles[0].pix)
		b.Run(area.name+"/sent", func(b *testing.B) {
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(enc.encode(tiles[0]))
			}
			b.ReportMetric(float64(n), "bytes/tile")
		})
		b.Run(area.name+"/deflate-rgba", func(b *testing.B) {
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			fw, _ := flate.NewWriter(nil, flate.BestSpeed)
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				fw.Reset(&buf)
				_, _ = fw.Write(tiles[0].pix)
				_ = fw.Close()
			}
			b.ReportMetric(float64(buf.Len()), "bytes/tile")
		})
		b.Run(area.name+"/png", func(b *testing.B) {
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			sub := img.SubImage(area.r)
			pe := png.Encoder{CompressionLevel: png.BestSpeed}
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				_ = pe.Encode(&buf, sub)
			}
			b.ReportMetric(float64(buf.Len()), "bytes/tile")
		})
	}
}

// BenchmarkDesktopFullFrame is the server's cost of a full 1080p frame: coalesce, cut and deflate.
func BenchmarkDesktopFullFrame(b *testing.B) {
	img := testScreen(1920, 1080, 6)
	enc := newTileEncoder()
	b.SetBytes(int64(len(img.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, t := range enc.cut(img, coalesce([]image.Rectangle{img.Bounds()}, img.Bounds())) {
			n += len(enc.encode(t))
		}
		b.ReportMetric(float64(n), "bytes/frame")
	}
}
