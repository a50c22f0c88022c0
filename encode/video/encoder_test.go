package video

import (
	"image"
	"image/color"
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
