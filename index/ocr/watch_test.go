package ocr

import (
	"context"
	"image"
	"image/draw"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// graphicalRing returns a ring sized like a graphical session's and an emitter writing to it.
func graphicalRing(t *testing.T) (*capture.Ring, *frame.Emitter) {
	t.Helper()
	cfg := capture.Config{ArenaBytes: 64 << 20, Records: 64 << 10, MaxRead: 1 << 20, StallTimeout: 10 * time.Second}
	ring, err := capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ring.Close)
	return ring, &frame.Emitter{W: ring.NewProducer(), MaxPayload: cfg.MaxRead}
}

type results struct {
	mu  sync.Mutex
	all []Result
	ch  chan struct{}
}

func newResults() *results { return &results{ch: make(chan struct{}, 100)} }

func (r *results) emit(res Result) {
	r.mu.Lock()
	r.all = append(r.all, res)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

// next waits for the next Result.
func (r *results) next(t *testing.T) Result {
	t.Helper()
	select {
	case <-r.ch:
	case <-time.After(30 * time.Second):
		t.Fatal("no result within 30 s")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all[len(r.all)-1]
}

// TestWatchSession drives Watch through a real capture ring: a screen of text appears, a second
// window is drawn beside it, and the first is redrawn unchanged. Each read reports only the lines
// new at their place, stamped with the session time of the damage.
func TestWatchSession(t *testing.T) {
	p := startPool(t, DefaultConfig())
	ring, em := graphicalRing(t)
	rd := ring.NewReader(capture.Lossy)
	defer rd.Close()
	got := newResults()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := WatchConfig{Settle: 50 * time.Millisecond, Interval: 0, MaxDelay: time.Second}
	go func() { done <- p.Watch(ctx, rd, nil, cfg, got.emit) }()

	light, _ := loadScene(t, "light")
	dark, _ := loadScene(t, "dark")
	screen := image.NewRGBA(image.Rect(0, 0, 1600, 400))
	if err := em.Size(1600, 400); err != nil {
		t.Fatal(err)
	}
	draw.Draw(screen, light.Bounds(), light, image.Point{}, draw.Src)
	if err := em.Update(screen, []image.Rectangle{light.Bounds()}); err != nil {
		t.Fatal(err)
	}
	first := got.next(t)
	text := joined(first.Texts)
	if !strings.Contains(text, "systemctl status nginx") {
		t.Fatalf("first read lacks the command line:\n%s", text)
	}
	if first.Time <= 0 {
		t.Errorf("result time %v, want the damage's session time", first.Time)
	}

	// A second window to the right: only its lines are new.
	at := image.Rect(1000, 0, 1000+dark.Bounds().Dx(), dark.Bounds().Dy())
	draw.Draw(screen, at, dark, image.Point{}, draw.Src)
	if err := em.Update(screen, []image.Rectangle{at}); err != nil {
		t.Fatal(err)
	}
	second := got.next(t)
	text = joined(second.Texts)
	if !strings.Contains(text, "DROP TABLE customers") {
		t.Fatalf("second read lacks the SQL:\n%s", text)
	}
	if strings.Contains(text, "systemctl") {
		t.Errorf("second read repeats the first window:\n%s", text)
	}
	if second.Time <= first.Time {
		t.Errorf("second time %v not after first %v", second.Time, first.Time)
	}
	for _, l := range second.Texts {
		if !l.Rect.In(at.Inset(-4)) {
			t.Errorf("line %q at %v, outside the damaged window %v", l.Text, l.Rect, at)
		}
	}

	// The first window redrawn identically: read again, nothing new.
	before := p.Stats().Done
	if err := em.Update(screen, []image.Rectangle{light.Bounds()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Done == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Stats().Done == before {
		t.Fatal("the redraw was never read")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.all) != 2 {
		t.Errorf("%d results, want 2 (the redraw repeats known text): %+v", len(got.all), got.all[2:])
	}
}

// TestWatchEndsWithRing reads what changed last when the session ends, and returns nil.
func TestWatchEndsWithRing(t *testing.T) {
	p := startPool(t, DefaultConfig())
	ring, em := graphicalRing(t)
	rd := ring.NewReader(capture.Lossy)
	defer rd.Close()
	got := newResults()
	done := make(chan error, 1)
	cfg := WatchConfig{Settle: time.Hour, Interval: time.Hour, MaxDelay: time.Hour}
	go func() { done <- p.Watch(context.Background(), rd, nil, cfg, got.emit) }()
	dialog, _ := loadScene(t, "dialog")
	if err := em.Size(dialog.Bounds().Dx(), dialog.Bounds().Dy()); err != nil {
		t.Fatal(err)
	}
	if err := em.Update(dialog, []image.Rectangle{dialog.Bounds()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let Watch apply the damage before the ring closes
	ring.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not return after the ring closed")
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.all) != 1 || !strings.Contains(joined(got.all[0].Texts), "nightly job") {
		t.Fatalf("results %+v, want the dialog's text once", got.all)
	}
}
