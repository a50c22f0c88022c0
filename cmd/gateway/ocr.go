package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
)

// OCRFeed reads the screens of graphical sessions as they run and indexes their text (kind
// screen-ocr, with the screen region). It reads the session's ring with a lossy reader, so it
// never slows the session: an overrun marks the whole screen for the next read, and a full OCR
// queue drops the read (ocr.Pool counts it). What is dropped live is not lost for good:
// `vigil reindex --ocr` reads the stored video again.
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
	rd := ring.NewReader(capture.Lossy)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer rd.Close()
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
				o.Log.Warn("ocr: index", "session", s.ID, "err", err)
			}
		})
		if err != nil && ctx.Err() == nil {
			o.Log.Warn("ocr: watch ended", "session", s.ID, "err", err)
		}
	}()
}

// Wait returns when every watch has ended (their rings closed).
func (o *OCRFeed) Wait() { o.wg.Wait() }
