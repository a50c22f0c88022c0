package index

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"time"
)

// OCRText is text read from a region of a graphical session's screen. Offset is its time since
// the session start, which places it in the recording; when Offset is zero and Time is set,
// Offset is Time less the session's start. Text may hold several lines ('\n'), each of which is
// indexed with the whole Rect.
type OCRText struct {
	Time   time.Time
	Offset time.Duration
	Rect   image.Rectangle
	Text   string
}

// AddOCR indexes text read from a graphical session's screen as lines of KindOCR, each with its
// screen region (Hit.Region), committed before it returns. It may be called many times for one
// running session; texts need not be in time order. Blank lines are skipped.
func (ix *Index) AddOCR(ctx context.Context, s SessionInfo, texts []OCRText) error {
	lines := make([]Line, 0, len(texts))
	for _, t := range texts {
		off := t.Offset
		if off == 0 && !t.Time.IsZero() && !s.Start.IsZero() {
			off = max(t.Time.Sub(s.Start), 0)
		}
		for l := range strings.SplitSeq(t.Text, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, Line{Offset: off, Kind: KindOCR, Text: l, Region: t.Rect.Canon()})
			}
		}
	}
	return ix.addLines(ctx, s, lines, true)
}

// AddLines indexes lines of a session found elsewhere than in its event log (the typed lines of
// a graphical session as KindCommand, a test), in chunks committed before it returns. The lines
// need not be in time order.
func (ix *Index) AddLines(s SessionInfo, lines []Line) error {
	return ix.addLines(context.Background(), s, lines, false)
}

func (ix *Index) addLines(ctx context.Context, s SessionInfo, lines []Line, hashIDs bool) error {
	if !slices.IsSortedFunc(lines, byOffset) {
		// A chunk's offsets are stored as deltas from its first line and must not run backwards.
		lines = slices.Clone(lines)
		slices.SortStableFunc(lines, byOffset)
	}
	b := ix.bi.NewBatch()
	var err error
	ch := newChunker(s, func(id string, doc map[string]any) {
		if err == nil {
			err = b.Index(id, doc)
		}
		if err == nil && b.Size() >= batchDocs {
			if err = ctx.Err(); err == nil {
				err = ix.bi.Batch(b)
			}
			b.Reset()
		}
	})
	ch.hashIDs = hashIDs
	for _, l := range lines {
		if l.Kind != KindCommand && l.Kind != KindScreen && l.Kind != KindOCR {
			return fmt.Errorf("index: add lines of %s: %w: kind %q", s.ID, ErrBadQuery, l.Kind)
		}
		ch.add(l)
	}
	ch.flush()
	if err == nil && b.Size() > 0 {
		if err = ctx.Err(); err == nil {
			err = ix.bi.Batch(b)
		}
	}
	if err != nil {
		return fmt.Errorf("index: add lines of %s: %w", s.ID, err)
	}
	return nil
}

func byOffset(a, b Line) int { return int(a.Offset - b.Offset) }

// encodeRegions writes each line's region as four varints (x, y, width, height) in unpadded
// base64: about 6 bytes a line.
func encodeRegions(rs []image.Rectangle) string {
	b := make([]byte, 0, len(rs)*6)
	for _, r := range rs {
		b = binary.AppendVarint(b, int64(r.Min.X))
		b = binary.AppendVarint(b, int64(r.Min.Y))
		b = binary.AppendUvarint(b, uint64(max(r.Dx(), 0)))
		b = binary.AppendUvarint(b, uint64(max(r.Dy(), 0)))
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// errRegions means a chunk's stored regions do not decode: the index is damaged.
var errRegions = errors.New("index: corrupt line regions")

// maxCoord bounds a decoded coordinate: far beyond any screen, far from overflowing an int.
const maxCoord = 1 << 24

// decodeRegions reverses encodeRegions, which must hold exactly n regions.
func decodeRegions(s string, n int) ([]image.Rectangle, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: %d lines", errRegions, n)
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRegions, err)
	}
	out := make([]image.Rectangle, 0, min(n, len(b)/4))
	for len(b) > 0 {
		if len(out) == n {
			return nil, fmt.Errorf("%w: more than %d", errRegions, n)
		}
		var v [4]int64
		for i := range v {
			var k int
			if i < 2 {
				v[i], k = binary.Varint(b)
			} else {
				var u uint64
				u, k = binary.Uvarint(b)
				v[i] = int64(min(u, maxCoord+1))
			}
			if k <= 0 || v[i] > maxCoord || v[i] < -maxCoord {
				return nil, errRegions
			}
			b = b[k:]
		}
		out = append(out, image.Rect(int(v[0]), int(v[1]), int(v[0]+v[2]), int(v[1]+v[3])))
	}
	if len(out) != n {
		return nil, fmt.Errorf("%w: %d for %d lines", errRegions, len(out), n)
	}
	return out, nil
}
