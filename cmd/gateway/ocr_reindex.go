package gateway

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// ErrNotGraphical is returned by ReindexOCR for a recording that holds no video.
var ErrNotGraphical = errors.New("not a graphical recording")

// ReindexOCR reads a stored graphical session's video again and replaces the session's OCR lines
// in the index with what it finds (the live feed's, which may have dropped reads), then its typed
// lines (ReindexKeys), and clears its OCR catch-up mark. Each video segment is decoded once and
// its frames visited in order; the screen is read by the live watcher's rule on the session clock
// (ocr.Replay), so lines land at the moment they appeared, with their region. It returns the
// number of lines indexed. pool should be reserved for it: reads wait for a worker.
func ReindexOCR(ctx context.Context, ix *index.Index, store *Recordings, pool *ocr.Pool, cfg ocr.WatchConfig, id string) (int, error) {
	ref, err := store.Find(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("reindex ocr %s: %w", id, err)
	}
	if ref.Err != nil {
		return 0, fmt.Errorf("reindex ocr %s: %w", id, ref.Err)
	}
	_, segs, closeAll, err := store.OpenVideoSegments(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("reindex ocr %s: %w", id, err)
	}
	defer closeAll()
	if len(segs) == 0 {
		return 0, fmt.Errorf("reindex ocr %s: %w", id, ErrNotGraphical)
	}
	texts, err := readVideo(ctx, pool, cfg, segs)
	if err != nil {
		// Half a session's text would replace all of the live feed's: keep the index as it is.
		return 0, fmt.Errorf("reindex ocr %s: %w", id, err)
	}
	s := sessionOf(ref.Session)
	if err := ix.DeleteKind(ctx, s.ID, index.KindOCR); err != nil {
		return 0, fmt.Errorf("reindex ocr %s: %w", id, err)
	}
	if err := ix.AddOCR(ctx, s, texts); err != nil {
		return 0, fmt.Errorf("reindex ocr %s: %w", id, err)
	}
	n := 0
	for _, t := range texts {
		n += countLines(t.Text)
	}
	k, err := ReindexKeys(ctx, ix, store, ref)
	if err != nil {
		return n, err
	}
	if err := ix.ClearOCRCatchUp(s.ID); err != nil {
		return n + k, err
	}
	return n + k, nil
}

// readVideo replays every frame of segs (in order) and returns the text read.
func readVideo(ctx context.Context, pool *ocr.Pool, cfg ocr.WatchConfig, segs []io.Reader) ([]index.OCRText, error) {
	rp, err := pool.NewReplay(cfg)
	if err != nil {
		return nil, err
	}
	var texts []index.OCRText
	add := func(rs []ocr.Result) {
		for _, r := range rs {
			for _, t := range r.Texts {
				texts = append(texts, index.OCRText{Offset: r.Time, Rect: t.Rect, Text: t.Text})
			}
		}
	}
	for i, seg := range segs {
		b, err := io.ReadAll(seg) // a segment is a few MiB at most (SegmentBytes)
		if err != nil {
			return nil, fmt.Errorf("video segment %d: %w", i, err)
		}
		err = video.Frames(b, func(t time.Duration, img *image.RGBA) error {
			rs, err := rp.Frame(ctx, t, img)
			add(rs)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("video segment %d: %w", i, err)
		}
	}
	rs, err := rp.Flush(ctx)
	add(rs)
	return texts, err
}

// ReindexKeys replaces a stored graphical session's typed lines (KindCommand) with those rebuilt
// from its event logs' Key events (keys.go), leaving its OCR lines, and returns how many there are.
func ReindexKeys(ctx context.Context, ix *index.Index, store *Recordings, ref Recording) (int, error) {
	segs, closeAll, err := store.OpenSegments(ctx, ref.ID)
	if err != nil {
		return 0, fmt.Errorf("reindex keys %s: %w", ref.ID, err)
	}
	defer closeAll()
	var lines []index.Line
	k := newTypedLines(func(l index.Line) { lines = append(lines, l) })
	recs := encode.NewRecords(segs)
	var last time.Duration
	for {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("reindex keys %s: %w", ref.ID, err)
		}
		rec, err := recs.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("reindex keys %s: %w", ref.ID, err)
		}
		k.Event(rec.Time, capture.Type(rec.Type), rec.Payload)
		last = rec.Time
	}
	k.End(last)
	s := sessionOf(ref.Session)
	if err := ix.DeleteKind(ctx, s.ID, index.KindCommand); err != nil {
		return 0, fmt.Errorf("reindex keys %s: %w", ref.ID, err)
	}
	if err := ix.AddLines(s, lines); err != nil {
		return 0, fmt.Errorf("reindex keys %s: %w", ref.ID, err)
	}
	return len(lines), nil
}

// CatchUpOCR runs ReindexOCR for every session marked for OCR catch-up (index.MarkOCRCatchUp:
// its live OCR dropped work). serve may call it at start, like IndexingRecorder.CatchUp.
func CatchUpOCR(ctx context.Context, ix *index.Index, store *Recordings, pool *ocr.Pool, cfg ocr.WatchConfig) error {
	ids, err := ix.OCRCatchUp()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, err := ReindexOCR(ctx, ix, store, pool, cfg, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sessionOf(m seal.Meta) index.SessionInfo {
	return index.SessionInfo{ID: m.ID, User: m.User, Target: m.Target, Protocol: m.Protocol, Start: m.Start}
}

// countLines counts the lines AddOCR indexes of s: the non-blank ones.
func countLines(s string) int {
	n := 0
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}
