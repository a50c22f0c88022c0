package video

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testScreen is a w x h screen with a gradient and a bright box at (bx, by).
func testScreen(w, h, bx, by int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 96, 255})
		}
	}
	for y := by; y < min(by+h/4, h); y++ {
		for x := bx; x < min(bx+w/4, w); x++ {
			img.Set(x, y, color.RGBA{250, 240, 20, 255})
		}
	}
	return img
}

// encodeSegment encodes screens shown at times ts into one segment [start, end).
func encodeSegment(t testing.TB, o Options, start, end time.Duration, ts []time.Duration, screens []*image.RGBA) []byte {
	t.Helper()
	b := screens[0].Bounds()
	e, err := newEncoder(b.Dx(), b.Dy(), o.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if err := e.begin(start); err != nil {
		t.Fatal(err)
	}
	for i, at := range ts {
		if err := e.update(screens[i]); err != nil {
			t.Fatal(err)
		}
		if err := e.encode(at); err != nil {
			t.Fatal(err)
		}
	}
	seg, err := e.end(end)
	if err != nil {
		t.Fatal(err)
	}
	return seg
}

func TestEncoderSegmentProbe(t *testing.T) {
	for _, tc := range []struct {
		name       string
		w, h       int
		start, end time.Duration
		ts         []time.Duration
	}{
		{"session start", 320, 240, 0, 5 * time.Second, []time.Duration{0, 200 * time.Millisecond, 3 * time.Second}},
		{"later cut", 640, 360, 5 * time.Second, 10 * time.Second, []time.Duration{5 * time.Second, 5200 * time.Millisecond}},
		{"one frame", 200, 100, 15 * time.Second, 17500 * time.Millisecond, []time.Duration{15 * time.Second}},
		{"odd size", 333, 201, 2 * time.Second, 4 * time.Second, []time.Duration{2 * time.Second, 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var screens []*image.RGBA
			for i := range tc.ts {
				screens = append(screens, testScreen(tc.w, tc.h, i*tc.w/8, i*tc.h/8))
			}
			seg := encodeSegment(t, Options{}, tc.start, tc.end, tc.ts, screens)
			p := probe(t, seg)
			checkProbe(t, p, tc.start, tc.end, (tc.w+1)&^1, (tc.h+1)&^1, tc.ts)
		})
	}
}

func writeTemp(t testing.TB, b []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "seg.mp4")
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// psnr compares the w x h top-left of two images over R, G and B.
func psnr(a, b *image.RGBA, w, h int) float64 {
	var se float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				d := float64(a.Pix[i+c]) - float64(b.Pix[j+c])
				se += d * d
			}
		}
	}
	mse := se / float64(w*h*3)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

// minPSNR is what a decoded frame must reach against its source. With the default options the
// synthetic screens (a gradient, a title bar, a window of dense glyph-like text) decode at about
// 32-34 dB at 320x240 and 38-39 dB at 1080p; below 30 dB small text starts to smear, which is the
// quality this recording exists to keep.
const minPSNR = 30

func TestFrameAtMatchesSource(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
	}{{"even", 320, 240}, {"odd", 321, 199}, {"desktop", 1280, 720}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := desktop(tc.w, tc.h, 0), desktop(tc.w, tc.h, 7)
			seg := encodeSegment(t, Options{}, time.Second, 3*time.Second,
				[]time.Duration{time.Second, 2 * time.Second}, []*image.RGBA{a, b})
			for _, c := range []struct {
				at   time.Duration
				want *image.RGBA
			}{{time.Second, a}, {1999 * time.Millisecond, a}, {2 * time.Second, b}, {10 * time.Second, b}} {
				got, err := FrameAt(seg, c.at)
				if err != nil {
					t.Fatalf("FrameAt(%v): %v", c.at, err)
				}
				if got.Bounds().Dx() != (tc.w+1)&^1 || got.Bounds().Dy() != (tc.h+1)&^1 {
					t.Fatalf("FrameAt(%v) size %v", c.at, got.Bounds())
				}
				p := psnr(got, c.want, tc.w, tc.h)
				other := a
				if c.want == a {
					other = b
				}
				if p < minPSNR {
					t.Errorf("FrameAt(%v): PSNR %.1f dB, want >= %d", c.at, p, minPSNR)
				}
				if po := psnr(got, other, tc.w, tc.h); po >= p {
					t.Errorf("FrameAt(%v) is closer to the other frame (%.1f >= %.1f dB)", c.at, po, p)
				}
				t.Logf("FrameAt(%v): %.1f dB", c.at, p)
			}
			if _, err := FrameAt(seg, 999*time.Millisecond); !errors.Is(err, ErrNoFrame) {
				t.Errorf("FrameAt before the first frame: %v, want ErrNoFrame", err)
			}
		})
	}
	if _, err := FrameAt([]byte("not an mp4 at all"), 0); !errors.Is(err, ErrFormat) {
		t.Errorf("FrameAt(garbage) = %v, want ErrFormat", err)
	}
}
