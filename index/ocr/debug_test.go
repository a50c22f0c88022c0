package ocr

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"testing"
)

// TestDebugScene prints what one scene reads as (OCR_SCENE=name), and writes the images tesseract
// got to OCR_DEBUG_DIR if set; for tuning only.
func TestDebugScene(t *testing.T) {
	s := os.Getenv("OCR_SCENE")
	if s == "" {
		t.Skip("set OCR_SCENE")
	}
	cfg := DefaultConfig()
	cfg.MinConfidence = 0
	p := startPool(t, cfg)
	img, _ := loadScene(t, s)
	g := toGray(img, img.Bounds())
	dir := os.Getenv("OCR_DEBUG_DIR") // where to write the prepared images, if anywhere
	for i, b := range blocks(g, img.Bounds()) {
		t.Logf("block %v multi %v bg %v", b.Rectangle, b.multi, background(img, b.Rectangle))
		pgm := prepare(nil, img, b.Rectangle, 2)
		if dir != "" {
			writePGMAsPNG(t, fmt.Sprintf("%s/%s-%d.png", dir, s, i), pgm)
		}
	}
	texts, err := p.Recognize(context.Background(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range texts {
		t.Logf("%v %.0f %q", x.Rect, x.Confidence, x.Text)
	}
}

func writePGMAsPNG(t *testing.T, name string, pgm []byte) {
	var w, h, maxv int
	n, err := fmt.Sscanf(string(pgm), "P5\n%d %d\n%d\n", &w, &h, &maxv)
	if err != nil || n != 3 {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, pgm[len(pgm)-w*h:])
	f, _ := os.Create(name)
	defer f.Close()
	png.Encode(f, img)
}
