package player

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// BenchmarkDesktopTile compares the tile encodings the desktop websocket could use on a
// desktop-like 256x256 tile (flat, gradient, text-like and noisy areas): the deflated RGBA it
// sends and PNG, lossless too. Reported: encoded bytes per tile (bytes/tile) and time.
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
		b.Run(area.name+"/deflate", func(b *testing.B) {
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(enc.encode(tiles[0]))
			}
			b.ReportMetric(float64(n), "bytes/tile")
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
