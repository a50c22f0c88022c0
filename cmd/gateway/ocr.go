package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
)

// OCRFeed reads the screens of graphical sessions as they run and indexes their text (kind
// screen-ocr, with the screen region), and the lines typed in them (kind command, keys.go). It
// reads the session's ring with lossy readers, so it never slows the session: an overrun marks
// the whole screen for the next read, and a full OCR queue drops the read (ocr.Pool counts it).
// What is dropped live is not lost for good: the session is marked for OCR catch-up
// (index.MarkOCRCatchUp) and `vigil reindex --ocr` reads the stored video again.
//
// Pool may be nil: then only typed lines are indexed.
type OCRFeed struct {
	Pool  *ocr.Pool
	Index *index.Index
	Watch ocr.WatchConfig
	Log   *slog.Logger

	wg     sync.WaitGroup
	errors atomic.Int64 // index writes that failed
}

// Start watches one session's ring until it closes.
func (o *OCRFeed) Start(ctx context.Context, s index.SessionInfo, ring *capture.Ring) {
	o.startKeys(ctx, s, ring)
	if o.Pool == nil {
		return
	}
	rd := ring.NewReader(capture.Lossy)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer rd.Close()
		// The pool's drops are counted for all sessions together: a drop while this session was
		// watched may have been another's, and marking this one too costs only a needless
		// reread, where missing one would leave its screens unsearchable.
		dropped := o.Pool.Stats().Dropped
		err := o.Pool.Watch(ctx, rd, nil, o.Watch, func(r ocr.Result) {
			texts := make([]index.OCRText, 0, len(r.Texts))
			for _, t := range r.Texts {
				texts = append(texts, index.OCRText{Offset: r.Time, Rect: t.Rect, Text: t.Text})
			}
			o.Log.Debug("ocr: read", "session", s.ID, "at", r.Time, "lines", len(texts))
			if len(texts) == 0 {
				return
			}
			if err := o.Index.AddOCR(context.WithoutCancel(ctx), s, texts); err != nil {
				o.errors.Add(1)
				o.markCatchUp(s.ID, "index write failed")
				o.Log.Warn("ocr: index", "session", s.ID, "err", err)
			}
		})
		if err != nil && ctx.Err() == nil {
			o.Log.Warn("ocr: watch ended", "session", s.ID, "err", err)
			o.markCatchUp(s.ID, "watch ended early")
		}
		st := o.Pool.Stats()
		if st.Dropped > dropped {
			o.markCatchUp(s.ID, "reads dropped")
		}
		// The pool's counters, as they stand when each session ends: reads queued, done and
		// dropped (under load OCR drops work rather than slow a session), and its CPU so far.
		o.Log.Info("ocr: session watched", "session", s.ID, "queued", st.Queued, "done", st.Done,
			"dropped", st.Dropped, "dropped_during_session", st.Dropped-dropped, "waiting", st.Waiting,
			"cpu", st.CPU.Round(time.Millisecond))
	}()
}

// startKeys indexes the session's typed lines as they are entered.
func (o *OCRFeed) startKeys(ctx context.Context, s index.SessionInfo, ring *capture.Ring) {
	rd := ring.NewReader(capture.Lossy)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer rd.Close()
		k := newTypedLines(func(l index.Line) {
			if err := o.Index.AddLines(s, []index.Line{l}); err != nil {
				o.errors.Add(1)
				o.markCatchUp(s.ID, "index write failed")
				o.Log.Warn("keys: index", "session", s.ID, "err", err)
			}
		})
		var last time.Duration
		marked := false
		for {
			// The ring ends the loop, not ctx: the line entered last is indexed too.
			ev, err := rd.Next(context.WithoutCancel(ctx))
			if errors.Is(err, capture.ErrOverrun) {
				// Keys were missed: the line being typed is unknown, and the stored event log
				// holds them all.
				k.reset()
				if !marked {
					o.markCatchUp(s.ID, "key reader overrun")
					marked = true
				}
				continue
			}
			if err != nil {
				k.End(last)
				return
			}
			k.Event(ev.Time, ev.Type, ev.Payload)
			last = ev.Time
		}
	}()
}

func (o *OCRFeed) markCatchUp(id, why string) {
	if err := o.Index.MarkOCRCatchUp(id); err != nil {
		o.Log.Error("ocr: mark for catch-up", "session", id, "err", err)
		return
	}
	o.Log.Info("ocr: live indexing fell behind; `vigil reindex --ocr` will read the stored video", "session", id, "why", why)
}

// Wait returns when every watch has ended (their rings closed).
func (o *OCRFeed) Wait() { o.wg.Wait() }
