package ocr

import (
	"context"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir holds the screenshots rendered by fixtures/ocr/render.sh and their ground truth.
const fixtureDir = "../../fixtures/ocr"

var scenes = []string{"light", "dark", "editor", "dialog", "table", "desktop"}

// loadScene returns scene's screenshot and ground-truth text.
func loadScene(tb testing.TB, scene string) (*image.RGBA, string) {
	tb.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, scene+".png"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		tb.Fatalf("decode %s: %v", scene, err)
	}
	img := image.NewRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
	truth, err := os.ReadFile(filepath.Join(fixtureDir, scene+".txt"))
	if err != nil {
		tb.Fatal(err)
	}
	return img, string(truth)
}

func joined(texts []Text) string {
	var b strings.Builder
	for _, t := range texts {
		b.WriteString(t.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// scoreFixtures reads every scene whole and returns the words found and the words in the truth.
func scoreFixtures(tb testing.TB, p *Pool) (found, total int) {
	tb.Helper()
	for _, s := range scenes {
		img, truth := loadScene(tb, s)
		texts, err := p.Recognize(context.Background(), img, nil)
		if err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
		f, n := Score(truth, joined(texts))
		tb.Logf("%-8s %3d/%3d %.1f%% missing %q", s, f, n, 100*float64(f)/float64(n), Missing(truth, joined(texts)))
		found, total = found+f, total+n
	}
	return found, total
}

func startPool(tb testing.TB, cfg Config) *Pool {
	tb.Helper()
	p, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return p
}

// TestAccuracy is the bar: at least 95% of the fixtures' words are read.
func TestAccuracy(t *testing.T) {
	p := startPool(t, DefaultConfig())
	found, total := scoreFixtures(t, p)
	score := float64(found) / float64(total)
	t.Logf("score %.3f (%d/%d words)", score, found, total)
	if total < 300 {
		t.Fatalf("only %d words of ground truth: fixtures missing?", total)
	}
	if score < 0.95 {
		t.Errorf("score %.3f, want >= 0.95", score)
	}
}
