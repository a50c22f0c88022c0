package video

import (
	"context"
	"errors"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
)

// Recorder writes one graphical session into video and event-log segments (FORMAT.md).
type Recorder struct {
	meta encode.SessionMeta
	sink encode.SegmentSink
	opts Options
}

// NewRecorder returns a recorder for the session described by meta. meta.Cols and meta.Rows, if
// set, are the desktop's initial size in pixels; the first Size damage event overrides them.
func NewRecorder(meta encode.SessionMeta, sink encode.SegmentSink, opts Options) *Recorder {
	return &Recorder{meta: meta, sink: sink, opts: opts.withDefaults()}
}

// Run reads rd (a lossless reader of the session's ring) until the ring is closed and drained,
// with the semantics of encode.Recorder.Run: it returns the summary as it stands and the first
// error that stopped it (wrapping encode.ErrSink or ErrEncode); the sink's Finish is called in
// every case, with cause as the reason the session ended. Run must own rd.
func (r *Recorder) Run(ctx context.Context, rd *capture.Reader, cause func() error) (encode.Summary, error) {
	return encode.Summary{}, errors.ErrUnsupported
}
