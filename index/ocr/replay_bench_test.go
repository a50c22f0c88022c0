package ocr

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// BenchmarkChanged diffs two 1080p frames: identical, and with one line of text changed.
func BenchmarkChanged(b *testing.B) {
	a := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	draw.Draw(a, a.Bounds(), image.NewUniform(color.RGBA{30, 60, 120, 255}), image.Point{}, draw.Src)
	for _, tc := range []struct {
		name   string
		change image.Rectangle
	}{{"same", image.Rectangle{}}, {"one-line", image.Rect(100, 500, 900, 516)}} {
		b.Run(tc.name, func(b *testing.B) {
			c := image.NewRGBA(a.Rect)
			copy(c.Pix, a.Pix)
			draw.Draw(c, tc.change, image.NewUniform(color.White), image.Point{}, draw.Src)
			b.ReportAllocs()
			b.SetBytes(int64(len(a.Pix)))
			for b.Loop() {
				Changed(a, c)
			}
		})
	}
}
