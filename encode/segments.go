package encode

import (
	"errors"
	"fmt"
	"io"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// Records reads the records of a recording's segments, in order, as one stream.
//
// Each segment begins with a keyframe. Played from the start, the keyframe of every segment after
// the first repaints what the terminal already shows, so Records passes on only the first segment's
// keyframe; Seek-style players that start mid-recording use the segment's own.
type Records struct {
	segs   []io.Reader
	i      int
	r      *eventlog.Reader
	header eventlog.Header
	first  bool
}

// NewRecords reads segs in the order given.
func NewRecords(segs []io.Reader) *Records { return &Records{segs: segs, first: true} }

// Header is the header of the segment being read.
func (rs *Records) Header() eventlog.Header { return rs.header }

// Next returns the next record, io.EOF after the last segment, and a read error naming the segment
// otherwise (a corrupt or truncated segment stops the stream: evidence is not skipped silently).
func (rs *Records) Next() (eventlog.Record, error) {
	for {
		if rs.r == nil {
			if rs.i >= len(rs.segs) {
				return eventlog.Record{}, io.EOF
			}
			r, err := eventlog.NewReader(rs.segs[rs.i])
			if err != nil {
				return eventlog.Record{}, fmt.Errorf("segment %d: %w", rs.i, err)
			}
			rs.r, rs.header = r, r.Header()
		}
		rec, err := rs.r.Next()
		if errors.Is(err, io.EOF) {
			rs.r = nil
			rs.i++
			continue
		}
		if err != nil {
			return eventlog.Record{}, fmt.Errorf("segment %d: %w", rs.i, err)
		}
		if rec.Type == eventlog.TypeKeyframe {
			if !rs.first {
				continue
			}
			rs.first = false
		}
		return rec, nil
	}
}
