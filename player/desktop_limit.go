package player

import (
	"context"
	"image"
	"math"
	"sync/atomic"
	"time"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

// What one browser may ask of a graphical session. The page itself sends far less (pointer moves
// once an animation frame, resizes debounced by 500 ms); these bounds are for a hostile page or a
// script speaking the protocol, which must not be able to flood the target or the recording, or
// make the gateway hold a huge screen.
const (
	// desktopMsgRate messages a second, after a burst of desktopMsgBurst, are read from one
	// browser; past that the receive loop waits, so the flood backs up into the browser's socket
	// instead of reaching the target. Nothing is dropped: a dropped key-up would stick.
	desktopMsgRate  = 400
	desktopMsgBurst = 400
	// desktopMaxHeld keys may be down at once; a key-down beyond is dropped. Every held key is
	// released when the browser leaves, so the map must not grow with what the browser invents.
	desktopMaxHeld = 32
	// desktopClipRate bytes of clipboard a second, after a burst of one whole clipboard
	// (frame.MaxClipboard), go to the target: each one is also recorded, and the recordings'
	// spool is shared with every other session.
	desktopClipRate = 256 << 10
	// desktopMaxArea bounds the size a browser may ask for (a 4K screen and a bit); the gateway
	// and every viewer hold whole copies of the screen, 4 bytes a pixel.
	desktopMaxArea = 4096 * 2304
)

// Knobs that tests turn while the handlers of earlier tests may still be winding down, hence
// atomics.
var (
	// desktopResizeEvery is the least time between two resizes asked of the target: each one
	// makes the target redraw everything and the recording start a new picture size.
	desktopResizeEvery = atomicDuration(time.Second)
	// desktopPingEvery is how often the browser is pinged; one silent for two intervals is gone
	// (asleep, or its network dropped without a FIN), and a Connect-ed session ends with it
	// rather than stay open with nobody at it.
	desktopPingEvery = atomicDuration(30 * time.Second)
	// desktopClock, when set, is the receive loop's clock and sleep, so that rate limiting is
	// checked without timing.
	desktopClock atomic.Pointer[clock]
)

type clock interface {
	Now() time.Time
	Sleep(time.Duration)
}

func atomicDuration(d time.Duration) *atomic.Int64 {
	var v atomic.Int64
	v.Store(int64(d))
	return &v
}

type realClock struct{}

func (realClock) Now() time.Time        { return time.Now() }
func (realClock) Sleep(d time.Duration) { time.Sleep(d) }

// clampDesktopSize bounds a size the browser asks for: each side within [minDesktopSide,
// frame.MaxSide], and the area within desktopMaxArea, keeping the aspect ratio.
func clampDesktopSize(w, h int) (int, int) {
	w, h = min(max(w, minDesktopSide), frame.MaxSide), min(max(h, minDesktopSide), frame.MaxSide)
	if w*h > desktopMaxArea {
		s := math.Sqrt(float64(desktopMaxArea) / float64(w*h))
		w, h = max(int(float64(w)*s), minDesktopSide), max(int(float64(h)*s), minDesktopSide)
	}
	return w, h
}

// bucket is a token bucket: take says how long to wait before one more message may be handled.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func newBucket(rate, burst float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// take spends one token, going into debt if there is none, and returns the wait that pays the
// debt back.
func (b *bucket) take(now time.Time) time.Duration { return b.takeN(now, 1) }

// takeN is take for n tokens.
func (b *bucket) takeN(now time.Time, n float64) time.Duration {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// resizer hands the browser's resizes to the Desktop at most once every desktopResizeEvery, the
// latest one winning. It is started and ended by desktopConn.run.
type resizer struct {
	latest chan image.Point // one slot: a newer size replaces an unsent one
	every  time.Duration
}

func newResizer() *resizer {
	return &resizer{latest: make(chan image.Point, 1), every: time.Duration(desktopResizeEvery.Load())}
}

// offer replaces any unsent size with p. Only the receive loop calls it.
func (r *resizer) offer(p image.Point) {
	for {
		select {
		case r.latest <- p:
			return
		default:
		}
		select {
		case <-r.latest:
		default:
		}
	}
}

// run resizes d until ctx ends; a size still waiting then is dropped, as the browser has left.
func (r *resizer) run(ctx context.Context, d Desktop, onErr func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-r.latest:
			if err := d.Resize(p.X, p.Y); err != nil {
				onErr(err)
			}
		}
		t := time.NewTimer(r.every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
