package ocr

import (
	"context"
	"fmt"
	"image"
	"time"
)

// Replay reads a recorded screen (the frames of a stored video, in order) by the rule Watch
// applies to a live one, on the session clock instead of the wall clock: the region changed since
// the last read is read once the screen has been still for Settle (or has changed for MaxDelay),
// and never sooner than Interval after the previous read. Reads wait for a worker (Recognize's
// way), so nothing is dropped: this is what `vigil reindex --ocr` uses to catch up on what a live
// watch dropped. Lines already read at the same place are not reported again, as in Watch.
//
// A Replay is not safe for concurrent use.
type Replay struct {
	pool   *Pool
	cfg    WatchConfig
	screen *image.RGBA // the screen as last shown (a copy)
	rule   settle
	seen   seen
}

// NewReplay starts a replay of one session's screen.
func (p *Pool) NewReplay(cfg WatchConfig) (*Replay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Replay{pool: p, cfg: cfg, rule: settle{cfg: cfg}}, nil
}

// Frame tells the replay that img is on screen from session time t on (frames in time order; img
// is copied). A read that became due before t reads the previous screen, as it was then; its
// Results come back, stamped with the time of the last change before the read. An error wraps
// ErrTesseract, ErrStopped or ctx's error.
func (r *Replay) Frame(ctx context.Context, t time.Duration, img *image.RGBA) ([]Result, error) {
	out, err := r.readDue(ctx, t)
	if err != nil {
		return out, err
	}
	var changed []image.Rectangle
	if r.screen == nil || r.screen.Rect.Size() != img.Rect.Size() {
		// The first screen of a session, or a new desktop size: all of it is news.
		r.screen = image.NewRGBA(image.Rectangle{Max: img.Rect.Size()})
		r.rule.pending = nil
		changed = []image.Rectangle{r.screen.Rect}
	} else {
		changed = Changed(r.screen, img)
	}
	if len(changed) > 0 {
		copyPixels(r.screen, img)
		r.rule.changed(changed, t)
	}
	return out, nil
}

// Flush reads what changed last (the end of the recording) and returns its Results.
func (r *Replay) Flush(ctx context.Context) ([]Result, error) {
	if len(r.rule.pending) == 0 {
		return nil, nil
	}
	return r.read(ctx, r.rule.due())
}

// readDue reads the pending region if it became due before t.
func (r *Replay) readDue(ctx context.Context, t time.Duration) ([]Result, error) {
	if len(r.rule.pending) == 0 {
		return nil, nil
	}
	at := r.rule.due()
	if at > t {
		return nil, nil
	}
	return r.read(ctx, at)
}

func (r *Replay) read(ctx context.Context, at time.Duration) ([]Result, error) {
	damage, when := r.rule.take(at)
	type res struct {
		texts   []Text
		regions []image.Rectangle
		err     error
	}
	ch := make(chan res, 1)
	j := Job{Screen: r.screen, Damage: damage, Done: func(t []Text, regions []image.Rectangle, err error) {
		ch <- res{t, regions, err}
	}}
	if err := r.pool.send(ctx, j); err != nil {
		return nil, err
	}
	var got res
	select {
	case got = <-ch:
	case <-ctx.Done():
		// The worker still reads r.screen; wait for it rather than let the next Frame change it.
		got = <-ch
		return nil, fmt.Errorf("ocr: replay: %w", ctx.Err())
	}
	if got.err != nil {
		return nil, got.err
	}
	if fresh := r.seen.fresh(got.texts, got.regions); len(fresh) > 0 {
		return []Result{{Time: when, Texts: fresh}}, nil
	}
	return nil, nil
}

// settle is Watch's timing rule on the session clock.
type settle struct {
	cfg        WatchConfig
	pending    []image.Rectangle
	frameTime  time.Duration // the last change
	firstDirty time.Duration // when pending became non-empty
	lastTry    time.Duration // the last read
	tried      bool
}

func (s *settle) changed(rs []image.Rectangle, t time.Duration) {
	if len(s.pending) == 0 {
		s.firstDirty = t
	}
	s.pending = append(s.pending, rs...)
	if len(s.pending) > maxPending {
		s.pending = mergeRects(s.pending, 32)
	}
	s.frameTime = t
}

// due is when the pending region is read: as Watch.due.
func (s *settle) due() time.Duration {
	at := min(s.frameTime+s.cfg.Settle, s.firstDirty+s.cfg.MaxDelay)
	if s.tried {
		at = max(at, s.lastTry+s.cfg.Interval)
	}
	return at
}

// take empties pending for a read at session time at and returns it with the time of the last
// change, where the text found is placed.
func (s *settle) take(at time.Duration) ([]image.Rectangle, time.Duration) {
	d := s.pending
	s.pending, s.lastTry, s.tried = nil, at, true
	return d, s.frameTime
}

// Changed returns the regions where b differs from a (same size): 16-pixel tiles in which at
// least two pixels differ by more than a video codec's noise in some channel, joined into
// rectangles. Two decodes of an unchanged xterm (the last P-frame of a segment, then the next
// segment's keyframe) differ by a few levels, with at most two pixels of a tile off by more than
// 32 and none by more than 64; a glyph drawn or erased changes dozens of pixels by more than 96.
func Changed(a, b *image.RGBA) []image.Rectangle {
	const tile, tol = 16, 64
	r := a.Rect.Intersect(b.Rect.Sub(b.Rect.Min).Add(a.Rect.Min))
	var out []image.Rectangle
	for ty := r.Min.Y; ty < r.Max.Y; ty += tile {
		run := -1 // x where a run of changed tiles began
		for tx := r.Min.X; tx < r.Max.X+tile; tx += tile {
			hit := tx < r.Max.X && tileDiffers(a, b, image.Rect(tx, ty, tx+tile, ty+tile).Intersect(r), tol)
			switch {
			case hit && run < 0:
				run = tx
			case !hit && run >= 0:
				out = append(out, image.Rect(run, ty, min(tx, r.Max.X), min(ty+tile, r.Max.Y)))
				run = -1
			}
		}
	}
	if len(out) > 1 {
		out = mergeRects(out, 1) // touching strips become one region
	}
	return out
}

func tileDiffers(a, b *image.RGBA, t image.Rectangle, tol int) bool {
	d := b.Rect.Min.Sub(a.Rect.Min)
	n := 0
	for y := t.Min.Y; y < t.Max.Y; y++ {
		pa := a.Pix[a.PixOffset(t.Min.X, y):a.PixOffset(t.Max.X, y)]
		pb := b.Pix[b.PixOffset(t.Min.X+d.X, y+d.Y):b.PixOffset(t.Max.X+d.X, y+d.Y)]
		for i := 0; i < len(pa); i += 4 {
			for c := 0; c < 3; c++ {
				if diff := int(pa[i+c]) - int(pb[i+c]); diff > tol || diff < -tol {
					if n++; n >= minChanged {
						return true
					}
					break
				}
			}
		}
	}
	return false
}

// minChanged is how many pixels of a tile must change for the tile to count as changed: one
// pixel off is codec noise at a sharp edge, not text.
const minChanged = 2

// copyPixels copies src (dst's size) into dst.
func copyPixels(dst, src *image.RGBA) {
	w := dst.Rect.Dx() * 4
	for y := 0; y < dst.Rect.Dy(); y++ {
		so := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
		copy(dst.Pix[y*dst.Stride:y*dst.Stride+w], src.Pix[so:so+w])
	}
}
