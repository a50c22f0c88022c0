package ocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// Result is what one read of a session's screen found.
type Result struct {
	// Time is the session time (capture.Event.Time) of the last damage before the read: the
	// moment the text was on screen, where the player should open.
	Time time.Duration
	// Texts are the lines read that were not already seen at the same place.
	Texts []Text
}

// maxPending bounds the dirty rectangles a session keeps between reads; beyond it they are merged.
const maxPending = 64

// Watch reads a session's screen while it runs. rd should be a capture.Lossy reader of the
// session's ring, so the session never waits for OCR; start is the screen at rd's position (nil
// when rd starts with the session, whose first event sets the size). Watch applies the damage
// events to a frame.Framebuffer and, once the screen has been still for cfg.Settle (or has
// changed for cfg.MaxDelay), and at most every cfg.Interval, submits the screen and the region
// changed since the last read to the pool. When the pool's queue is full the read is dropped
// (counted in Stats.Dropped) and its region kept for the next try; a session has at most one read
// queued or running. On capture.ErrOverrun the whole screen counts as changed: the events missed
// may have changed anything.
//
// emit receives each Result with new text, on a pool worker: it must not block for long. Watch
// returns nil when ctx ends or the ring closes (after reading what changed last, if the pool has
// room), once no read of this session is in flight; an error from rd otherwise.
func (p *Pool) Watch(ctx context.Context, rd *capture.Reader, start *image.RGBA, cfg WatchConfig, emit func(Result)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	w := &watch{pool: p, cfg: cfg, emit: emit, fb: frame.NewFramebuffer(1, 1), idle: make(chan struct{}, 1)}
	w.idle <- struct{}{}
	if start != nil {
		w.fb.Load(start)
	}
	w.fb.TakeDirty() // a blank or loaded screen is not news; damage is
	defer w.wait()

	var due deadline // expires when the pending region may be read
	defer due.stop()
	for {
		nctx := ctx
		if len(w.pending) > 0 {
			at := w.due()
			if !time.Now().Before(at) {
				w.submit()
				continue
			}
			nctx = due.at(ctx, at)
		}
		ev, err := rd.Next(nctx)
		switch {
		case err == nil:
		case errors.Is(err, capture.ErrOverrun):
			w.changed(w.fb.Image().Bounds(), w.frameTime)
			continue
		case ctx.Err() != nil:
			return nil
		case nctx != ctx && nctx.Err() != nil:
			continue // due: the loop submits if the screen is still
		case errors.Is(err, io.EOF):
			if len(w.pending) > 0 {
				w.submitNow()
			}
			return nil
		default:
			return fmt.Errorf("ocr: watch: %w", err)
		}
		if ev.Type != capture.TypeDamage {
			continue
		}
		if _, err := w.fb.Apply(ev.Payload); err != nil {
			continue // malformed damage leaves the screen unchanged; the recorder reports it
		}
		rects, _ := w.fb.TakeDirty()
		for _, r := range rects {
			w.changed(r, ev.Time)
		}
	}
}

// watch is one session's state; fields are owned by the Watch goroutine except seen, which only
// job callbacks touch, one at a time (idle orders them).
type watch struct {
	pool *Pool
	cfg  WatchConfig
	emit func(Result)
	fb   *frame.Framebuffer
	idle chan struct{} // holds a token while no read of this session is queued or running

	pending    []image.Rectangle
	frameTime  time.Duration // session time of the last damage applied
	lastChange time.Time     // wall time of the last damage
	firstDirty time.Time     // wall time pending became non-empty
	lastTry    time.Time     // wall time of the last read submitted, dropped or deferred
	seen       seen
}

func (w *watch) changed(r image.Rectangle, t time.Duration) {
	now := time.Now()
	if len(w.pending) == 0 {
		w.firstDirty = now
	}
	w.pending = append(w.pending, r)
	if len(w.pending) > maxPending {
		w.pending = mergeRects(w.pending, 32)
		if len(w.pending) > maxPending/2 {
			u := w.pending[0]
			for _, r := range w.pending[1:] {
				u = u.Union(r)
			}
			w.pending = append(w.pending[:0], u)
		}
	}
	w.lastChange, w.frameTime = now, t
}

// due returns when the pending region may be read: after Settle of stillness or MaxDelay of
// change, and never sooner than Interval after the last try.
func (w *watch) due() time.Time {
	at := w.lastChange.Add(w.cfg.Settle)
	if limit := w.firstDirty.Add(w.cfg.MaxDelay); limit.Before(at) {
		at = limit
	}
	if next := w.lastTry.Add(w.cfg.Interval); next.After(at) {
		at = next
	}
	return at
}

// submit hands the pending region to the pool if this session has no read in flight.
func (w *watch) submit() {
	w.lastTry = time.Now()
	select {
	case <-w.idle:
	default:
		return // the previous read still runs: try again after Interval
	}
	w.submitNow0()
}

// submitNow submits at the end of the session, waiting for this session's previous read.
func (w *watch) submitNow() {
	<-w.idle
	w.submitNow0()
}

func (w *watch) submitNow0() {
	at := w.frameTime
	j := Job{Screen: w.fb.Snapshot(), Damage: w.pending, Done: func(texts []Text, regions []image.Rectangle, err error) {
		defer func() { w.idle <- struct{}{} }()
		if err != nil {
			slog.Warn("ocr: read failed", "err", err)
			return
		}
		if fresh := w.seen.fresh(texts, regions); len(fresh) > 0 && w.emit != nil {
			w.emit(Result{Time: at, Texts: fresh})
		}
	}}
	if !w.pool.TrySubmit(j) {
		w.idle <- struct{}{}
		return // dropped and counted; the region stays pending for the next try
	}
	w.pending = nil
}

// wait returns once no read of this session is in flight, so emit is never called after Watch.
func (w *watch) wait() {
	<-w.idle
	w.idle <- struct{}{}
}

// deadline is a context that expires at a time, replaced only once it has expired: a burst of
// damage moves the due time on every event, and a context per event would cost more than the
// rare early wake-up (the loop then finds the read not yet due and waits again).
type deadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (d *deadline) at(parent context.Context, t time.Time) context.Context {
	if d.ctx == nil || d.ctx.Err() != nil {
		d.stop()
		d.ctx, d.cancel = context.WithDeadline(parent, t)
	}
	return d.ctx
}

func (d *deadline) stop() {
	if d.cancel != nil {
		d.cancel()
	}
}
