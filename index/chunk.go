package index

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"strings"
	"time"
)

// Documents are chunks of lines, not lines: Bleve's cost is per document (6.7k documents/s of one
// line each on this machine class), so a chunk holds up to chunkLines lines of one kind, joined by
// '\n', with each line's offset kept compactly in a stored-only field. A hit's location in the
// text names its line at query time.
const (
	chunkLines = 128
	chunkSpan  = 5 * time.Minute // a chunk's lines are this close in time, so its time range filters well
	chunkBytes = 32 << 10
)

// SessionInfo describes the session whose lines are indexed.
type SessionInfo struct {
	ID, User, Target, Protocol string
	Start                      time.Time
}

// chunk is one document being built.
type chunk struct {
	kind    Kind
	text    strings.Builder
	offsets []time.Duration
	regions []image.Rectangle // per line; nil while every line's region is zero
}

func (c *chunk) add(l Line) {
	if len(c.offsets) > 0 {
		c.text.WriteByte('\n')
	}
	// A line's own newlines would shift the line count; a terminal row has none, but be sure.
	c.text.WriteString(strings.ReplaceAll(l.Text, "\n", " "))
	if !l.Region.Empty() && c.regions == nil {
		c.regions = make([]image.Rectangle, len(c.offsets), chunkLines)
	}
	if c.regions != nil {
		c.regions = append(c.regions, l.Region)
	}
	c.offsets = append(c.offsets, l.Offset)
}

func (c *chunk) full(next time.Duration) bool {
	return len(c.offsets) >= chunkLines || c.text.Len() >= chunkBytes ||
		(len(c.offsets) > 0 && next-c.offsets[0] > chunkSpan)
}

// chunker groups a session's lines into documents, one open chunk per kind.
type chunker struct {
	s       SessionInfo
	hashIDs bool // ids carry a hash of the chunk, see close
	seq     int
	open    map[Kind]*chunk
	out     func(id string, doc map[string]any)
}

func newChunker(s SessionInfo, out func(id string, doc map[string]any)) *chunker {
	return &chunker{s: s, open: map[Kind]*chunk{}, out: out}
}

func (c *chunker) add(l Line) {
	ch := c.open[l.Kind]
	if ch != nil && ch.full(l.Offset) {
		c.close(ch)
		ch = nil
	}
	if ch == nil {
		ch = &chunk{kind: l.Kind}
		c.open[l.Kind] = ch
	}
	ch.add(l)
}

// flush closes every open chunk, in a fixed order so document ids are reproducible.
func (c *chunker) flush() {
	for _, k := range kinds {
		if ch := c.open[k]; ch != nil {
			c.close(ch)
		}
	}
}

func (c *chunker) close(ch *chunk) {
	delete(c.open, ch.kind)
	if len(ch.offsets) == 0 {
		return
	}
	first, last := ch.offsets[0], ch.offsets[len(ch.offsets)-1]
	text := ch.text.String()
	doc := map[string]any{
		fieldSession: c.s.ID, fieldUser: c.s.User, fieldTarget: c.s.Target, fieldProtocol: c.s.Protocol,
		fieldKind: string(ch.kind),
		fieldTime: c.s.Start.Add(first), fieldEnd: c.s.Start.Add(last),
		fieldOffset: float64(first.Milliseconds()),
		fieldText:   text,
		fieldLines:  encodeOffsets(first, ch.offsets),
	}
	if ch.regions != nil {
		doc[fieldRegions] = encodeRegions(ch.regions)
	}
	id := docID(c.s.ID, ch.kind, first, c.seq)
	if c.hashIDs {
		// Lines added in several calls (OCR as a session runs) restart seq at 0: the text's hash
		// keeps two chunks apart while the same lines indexed again still get the same id.
		h := fnv.New64a()
		h.Write([]byte(text))
		h.Write([]byte(doc[fieldLines].(string)))
		id += fmt.Sprintf(".%016x", h.Sum64())
	}
	c.out(id, doc)
	c.seq++
}

// docID names a chunk by its session, kind, first line's offset and place in its batch of lines:
// unique within a session, and the same when the same lines are indexed again.
func docID(session string, k Kind, first time.Duration, seq int) string {
	letter := k[0]
	if k == KindOCR {
		letter = 'o' // not 's', which screen has
	}
	return fmt.Sprintf("%s/%c%d.%d", session, letter, first.Milliseconds(), seq)
}

// encodeOffsets writes each line's offset as a uvarint of milliseconds since the previous line
// (the first since base), in unpadded base64: about 2 bytes a line.
func encodeOffsets(base time.Duration, offs []time.Duration) string {
	b := make([]byte, 0, len(offs)*2)
	prev := base.Milliseconds()
	for _, o := range offs {
		ms := o.Milliseconds()
		b = binary.AppendUvarint(b, uint64(max(ms-prev, 0)))
		prev = max(ms, prev)
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// errOffsets means a chunk's stored line offsets do not decode: the index is damaged.
var errOffsets = errors.New("index: corrupt line offsets")

// decodeOffsets reverses encodeOffsets. It returns errOffsets for malformed input and never more
// than max offsets (a chunk holds at most chunkLines lines; max guards a damaged index).
func decodeOffsets(base time.Duration, s string, limit int) ([]time.Duration, error) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errOffsets, err)
	}
	out := make([]time.Duration, 0, min(len(b), limit))
	ms := base.Milliseconds()
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d > 1<<40 {
			return nil, errOffsets
		}
		if len(out) == limit {
			return nil, fmt.Errorf("%w: more than %d lines", errOffsets, limit)
		}
		b = b[n:]
		ms += int64(d)
		out = append(out, time.Duration(ms)*time.Millisecond)
	}
	return out, nil
}
