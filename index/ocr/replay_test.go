package ocr

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSettleRule: reads fall where Watch's rule puts them, on the session clock.
func TestSettleRule(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	cfg := WatchConfig{Settle: ms(700), Interval: ms(3000), MaxDelay: ms(15000)}
	for _, tc := range []struct {
		name    string
		changes []int // session times of changes, ms
		want    []int // when each read is due, taken in order as the changes arrive
	}{
		{"one change settles", []int{1000}, []int{1700}},
		{"typing delays the read", []int{1000, 1300, 1600}, []int{2300}},
		{"two bursts, interval apart", []int{1000, 5000}, []int{1700, 5700}},
		{"second burst within interval waits", []int{1000, 2000}, []int{1700, 4700}},
		{"never still: max delay", seq(0, 40000, 200), []int{15000, 30000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := settle{cfg: cfg}
			var got []int
			for _, c := range tc.changes {
				if len(s.pending) > 0 && s.due() <= ms(c) {
					got = append(got, int(s.due()/time.Millisecond))
					s.take(s.due())
				}
				s.changed([]image.Rectangle{image.Rect(0, 0, 10, 10)}, ms(c))
			}
			if len(s.pending) > 0 {
				got = append(got, int(s.due()/time.Millisecond))
			}
			// A never-still screen is read every MaxDelay: the first two reads are checked.
			if len(got) > len(tc.want) {
				got = got[:len(tc.want)]
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("reads at %v ms, want %v", got, tc.want)
			}
		})
	}
}

func seq(from, to, step int) []int {
	var out []int
	for i := from; i < to; i += step {
		out = append(out, i)
	}
	return out
}

// TestChanged: codec noise is not a change; a drawn glyph is, at its place.
func TestChanged(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 200, 100))
	draw.Draw(a, a.Bounds(), image.NewUniform(color.RGBA{200, 200, 200, 255}), image.Point{}, draw.Src)
	b := image.NewRGBA(a.Rect)
	copy(b.Pix, a.Pix)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b.Pix {
		if i%4 != 3 {
			b.Pix[i] = byte(int(b.Pix[i]) + rng.IntN(17) - 8) // noise of a re-encoded keyframe
		}
	}
	for _, p := range []image.Point{{20, 20}, {100, 50}, {190, 90}} {
		b.Set(p.X, p.Y, color.RGBA{255, 255, 255, 255}) // one sharp outlier in a tile
	}
	if got := Changed(a, b); len(got) != 0 {
		t.Errorf("noise found as changes: %v", got)
	}
	glyph := image.Rect(37, 40, 45, 52)
	draw.Draw(b, glyph, image.NewUniform(color.RGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
	got := Changed(a, b)
	if len(got) != 1 || !glyph.In(got[0]) || got[0].Dx() > 32 || got[0].Dy() > 32 {
		t.Errorf("Changed = %v, want one small region holding %v", got, glyph)
	}
	if got := Changed(a, a); len(got) != 0 {
		t.Errorf("a screen against itself: %v", got)
	}
}

// TestReplay: a recorded screen replayed frame by frame reads each window once, after it settled,
// stamped with the time it was drawn, and not again when it is redrawn unchanged.
func TestReplay(t *testing.T) {
	p := startPool(t, DefaultConfig())
	ctx := context.Background()
	r, err := p.NewReplay(DefaultWatchConfig())
	if err != nil {
		t.Fatal(err)
	}
	light, _ := loadScene(t, "light")
	dark, _ := loadScene(t, "dark")
	screen := image.NewRGBA(image.Rect(0, 0, 1600, 400))
	var all []Result
	frameAt := func(ms int) {
		t.Helper()
		res, err := r.Frame(ctx, time.Duration(ms)*time.Millisecond, screen)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res...)
	}
	frameAt(0) // a blank desktop
	draw.Draw(screen, light.Bounds(), light, image.Point{}, draw.Src)
	frameAt(1000)
	frameAt(1200) // unchanged: not a change
	at := image.Rect(1000, 0, 1000+dark.Bounds().Dx(), dark.Bounds().Dy())
	draw.Draw(screen, at, dark, image.Point{}, draw.Src)
	frameAt(6000)
	draw.Draw(screen, light.Bounds(), light, image.Point{}, draw.Src) // the same pixels again
	frameAt(12000)
	res, err := r.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, res...)
	if len(all) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(all), all)
	}
	if all[0].Time != time.Second || !strings.Contains(joined(all[0].Texts), "systemctl status nginx") {
		t.Errorf("first read at %v:\n%s", all[0].Time, joined(all[0].Texts))
	}
	if all[1].Time != 6*time.Second || !strings.Contains(joined(all[1].Texts), "DROP TABLE customers") ||
		strings.Contains(joined(all[1].Texts), "systemctl") {
		t.Errorf("second read at %v:\n%s", all[1].Time, joined(all[1].Texts))
	}
	for _, l := range all[1].Texts {
		if !l.Rect.In(at.Inset(-4)) {
			t.Errorf("line %q at %v, outside the window drawn %v", l.Text, l.Rect, at)
		}
	}
}
