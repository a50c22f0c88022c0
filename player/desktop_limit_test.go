package player

import (
	"context"
	"fmt"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

// waitFor polls cond until it holds; the deadline only stops a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClampDesktopSize(t *testing.T) {
	for _, tc := range []struct{ w, h int }{
		{1280, 720}, {0, 0}, {-5, 10}, {minDesktopSide - 1, minDesktopSide + 1}, {3840, 2160},
		{4096, 2304}, {4096, 2305}, {frame.MaxSide, frame.MaxSide}, {frame.MaxSide + 1, 100}, {1 << 30, 1 << 30},
	} {
		w, h := clampDesktopSize(tc.w, tc.h)
		if w < minDesktopSide || h < minDesktopSide || w > frame.MaxSide || h > frame.MaxSide || w*h > desktopMaxArea {
			t.Errorf("clamp(%d, %d) = %dx%d: out of bounds", tc.w, tc.h, w, h)
		}
		if tc.w >= minDesktopSide && tc.h >= minDesktopSide && tc.w <= frame.MaxSide && tc.h <= frame.MaxSide && tc.w*tc.h <= desktopMaxArea && (w != tc.w || h != tc.h) {
			t.Errorf("clamp(%d, %d) = %dx%d: a sane size was changed", tc.w, tc.h, w, h)
		}
	}
	if w, h := clampDesktopSize(8000, 2000); w < 3*h || w > 5*h {
		t.Errorf("clamp(8000, 2000) = %dx%d: aspect ratio lost", w, h)
	}
}

func TestBucket(t *testing.T) {
	now := t0
	b := newBucket(10, 3, now)
	for i, tc := range []struct {
		advance time.Duration
		wait    time.Duration
	}{
		{0, 0}, {0, 0}, {0, 0}, // the burst
		{0, 100 * time.Millisecond}, {0, 200 * time.Millisecond}, // in debt
		{300 * time.Millisecond, 0},                                 // the debt paid, and one more
		{time.Hour, 0}, {0, 0}, {0, 0}, {0, 100 * time.Millisecond}, // refilled to the burst only
	} {
		now = now.Add(tc.advance)
		if got := b.take(now); got.Round(time.Millisecond) != tc.wait {
			t.Errorf("take %d: wait %v, want %v", i, got, tc.wait)
		}
	}
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	c.now, c.slept = c.now.Add(d), c.slept+d
	c.mu.Unlock()
}
func (c *fakeClock) total() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.slept }

// TestDesktopMessageRate: a browser flooding the socket is read no faster than desktopMsgRate
// after its burst, and loses nothing.
func TestDesktopMessageRate(t *testing.T) {
	fake := &fakeClock{now: t0}
	var clk clock = fake
	desktopClock.Store(&clk)
	t.Cleanup(func() { desktopClock.Store(nil) })
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))
	const n = 3 * desktopMsgBurst
	for i := range n {
		if err := v.ws.WriteJSON(map[string]any{"type": "pointer", "x": i % 500, "y": 1}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every pointer message", func() bool { return len(f.conn.gotInputs()) == n })
	// The hello is read before the limiter exists; the acks of the first screen count.
	want := time.Duration(float64(n-desktopMsgBurst) / desktopMsgRate * float64(time.Second))
	if got := fake.total(); got < want || got > want+time.Second/desktopMsgRate*time.Duration(v.frames+1) {
		t.Errorf("slept %v for %d messages (and %d acks), want %v", got, n, v.frames, want)
	}
}

// TestDesktopHeldKeysBounded: key-downs of invented codes cannot grow the held-keys map (and
// the releases sent when the browser leaves) without bound.
func TestDesktopHeldKeysBounded(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))
	for i := range 3 * desktopMaxHeld {
		if err := v.ws.WriteJSON(map[string]any{"type": "key", "code": fmt.Sprintf("Invented%d", i), "key": "a", "down": true}); err != nil {
			t.Fatal(err)
		}
	}
	// The same key again (auto-repeat) is not a new one.
	if err := v.ws.WriteJSON(map[string]any{"type": "key", "code": "Invented0", "key": "a", "down": true}); err != nil {
		t.Fatal(err)
	}
	v.ws.Close()
	select {
	case <-f.conn.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the session was not closed when the browser left")
	}
	var downs, ups int
	for _, in := range f.conn.gotInputs() {
		if in.Kind == frame.InputKey && in.Down {
			downs++
		} else if in.Kind == frame.InputKey {
			ups++
		}
	}
	if downs != desktopMaxHeld+1 || ups != desktopMaxHeld {
		t.Errorf("%d key-downs and %d releases reached the target, want %d and %d", downs, ups, desktopMaxHeld+1, desktopMaxHeld)
	}
}

// TestDesktopResizeFlood: a flood of resizes reaches the target as one, bounded in size.
func TestDesktopResizeFlood(t *testing.T) {
	old := desktopResizeEvery.Swap(int64(time.Hour)) // the second resize would come after the test
	t.Cleanup(func() { desktopResizeEvery.Store(old) })
	f := newDesktopFixture(t, graphicalConfig)
	c := f.mustLogin(t, "alice")
	v, res, err := f.dial(t, c, "/api/desktop/connect/desk01", map[string]any{"type": "hello", "csrf": c.csrf, "w": frame.MaxSide, "h": frame.MaxSide})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	v.waitScreen(testScreen(600, 300, 1))
	for i := range 50 {
		if err := v.ws.WriteJSON(map[string]any{"type": "resize", "w": frame.MaxSide - i, "h": frame.MaxSide}); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.ws.WriteJSON(map[string]any{"type": "key", "code": "KeyA", "key": "a", "down": true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key after the resizes", func() bool { return len(f.conn.gotInputs()) > 0 })
	waitFor(t, "a resize", func() bool { return len(f.conn.gotResizes()) > 0 })
	got := f.conn.gotResizes()
	if len(got) != 1 {
		t.Errorf("%d resizes reached the target within desktopResizeEvery: %v", len(got), got)
	}
	for _, p := range got {
		if p.X*p.Y > desktopMaxArea {
			t.Errorf("resize to %v: more than %d pixels", p, desktopMaxArea)
		}
	}
	f.desks.mu.Lock()
	connects := fmt.Sprint(f.desks.connects)
	f.desks.mu.Unlock()
	var w, h int
	if _, err := fmt.Sscanf(connects, "[alice desk01 %dx%d]", &w, &h); err != nil || w*h > desktopMaxArea {
		t.Errorf("connect %s: the hello's size was not bounded", connects)
	}
}

// recordingDesktop is a Desktop that only records resizes.
type recordingDesktop struct {
	Desktop
	mu  sync.Mutex
	got []image.Point
}

func (d *recordingDesktop) Resize(w, h int) error {
	d.mu.Lock()
	d.got = append(d.got, image.Pt(w, h))
	d.mu.Unlock()
	return nil
}

func TestResizerLatestWins(t *testing.T) {
	r := newResizer()
	r.every = time.Hour
	for i := range 10 {
		r.offer(image.Pt(100+i, 100))
	}
	d := &recordingDesktop{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx, d, func(error) {}) }()
	waitFor(t, "the resize", func() bool { d.mu.Lock(); defer d.mu.Unlock(); return len(d.got) > 0 })
	cancel()
	<-done
	if fmt.Sprint(d.got) != fmt.Sprint([]image.Point{{109, 100}}) {
		t.Errorf("resizes %v, want only the latest", d.got)
	}
}

// TestDesktopSilentBrowser: a browser that stops answering pings is gone, and the session it
// opened ends, instead of staying open with nobody at it.
func TestDesktopSilentBrowser(t *testing.T) {
	old := desktopPingEvery.Swap(int64(100 * time.Millisecond))
	t.Cleanup(func() { desktopPingEvery.Store(old) })
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1)) // answering pings meanwhile, as a browser does
	v.ws.SetPingHandler(func(string) error { return nil })
	_ = v.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := v.ws.ReadMessage(); err != nil {
			break
		}
	}
	select {
	case <-f.conn.closed:
	case <-time.After(5 * time.Second): // the server closes the socket just before the session
		t.Fatal("the session of a browser that stopped answering is still open")
	}
}

// TestDesktopClipboardRate: clipboard text beyond one whole clipboard goes at desktopClipRate:
// each paste is recorded, and the recordings' spool is everyone's.
func TestDesktopClipboardRate(t *testing.T) {
	fake := &fakeClock{now: t0}
	var clk clock = fake
	desktopClock.Store(&clk)
	t.Cleanup(func() { desktopClock.Store(nil) })
	f := newDesktopFixture(t, graphicalConfig)
	v := f.connect(t, "alice")
	v.waitScreen(testScreen(600, 300, 1))
	text := strings.Repeat("x", frame.MaxClipboard)
	for range 3 {
		if err := v.ws.WriteJSON(map[string]any{"type": "clipboard", "text": text}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the pastes", func() bool { return len(f.conn.gotInputs()) == 3 })
	want := time.Duration(float64(2*frame.MaxClipboard) / desktopClipRate * float64(time.Second))
	if got := fake.total(); got < want-time.Millisecond {
		t.Errorf("slept %v for three whole clipboards, want at least %v", got, want)
	}
}
