package encode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// SegmentSink receives a recording's finished segments, in order, and its summary at the end.
//
// PutSegment must persist the segment before it returns: the recorder is a lossless reader, so the
// session waits while it does, and an error ends the session with a recording-failure cause (Vigil
// fails closed). Finish is called once, after the last segment, whatever the cause of the end.
type SegmentSink interface {
	PutSegment(ctx context.Context, seg SegmentInfo, data []byte) error
	Finish(ctx context.Context, s Summary) error
}

// SessionMeta describes the session being recorded.
type SessionMeta struct {
	ID, User, Target, Account, Protocol, Remote string
	Start                                       time.Time
	Cols, Rows                                  int
	Command                                     string // exec sessions
}

// SegmentInfo describes one finished segment.
type SegmentInfo struct {
	Index   int           `json:"index"`
	Start   time.Duration `json:"start_ns"` // since session start
	End     time.Duration `json:"end_ns"`
	Bytes   int           `json:"bytes"`
	Records int           `json:"records"`
	// Media says what the segment holds: "" for an event log (encode/eventlog), MediaMP4 for a
	// fragmented-MP4 video segment of a graphical session (encode/video). A graphical recording
	// interleaves the two in one index sequence: each cut yields its video segment, then the event
	// log of the same time range (input, markers).
	Media string `json:"media,omitempty"`
}

// MediaMP4 is SegmentInfo.Media for H.264 video in fragmented MP4.
const MediaMP4 = "mp4"

// Summary is what a recording amounts to when it ends.
type Summary struct {
	Meta        SessionMeta   `json:"meta"`
	Segments    []SegmentInfo `json:"segments"`
	Duration    time.Duration `json:"duration_ns"`
	OutputBytes int64         `json:"output_bytes"`
	InputBytes  int64         `json:"input_bytes"`
	Redactions  int           `json:"redactions"`
	Cause       string        `json:"cause"` // why the session ended
	// ScreenResyncs counts keyframes made from a tail of the output because the screen model fell
	// behind its byte budget (the records stay complete: only the keyframe is approximate).
	ScreenResyncs int `json:"screen_resyncs,omitempty"`
}

// Options bound a segment: whichever limit comes first cuts it.
type Options struct {
	SegmentDuration time.Duration
	SegmentBytes    int
	// OnFailure is called once when the recording fails (a segment cannot be persisted), before the
	// recorder drains the rest of the ring. It must stop the session (capture.Ring.Fail): Vigil fails
	// closed. When nil, the recorder returns without releasing its reader, so the session's
	// producers stall and the ring ends the session after its stall timeout.
	OnFailure func(error)
}

// DefaultOptions cut every 5 s or 4 MiB (DESIGN.md).
func DefaultOptions() Options {
	return Options{SegmentDuration: 5 * time.Second, SegmentBytes: 4 << 20}
}

// ErrSink wraps a sink's failure: the recording could not be persisted.
var ErrSink = errors.New("recording sink failed")

// Recorder writes the events of one session into event-log segments.
type Recorder struct {
	opts   Options
	meta   SessionMeta
	sink   SegmentSink
	screen *screenWorker
	// channels keeps file transfers and forwarded ports out of the screen model.
	channels Channels

	buf     *bytes.Buffer
	put     *putter
	w       *eventlog.Writer // nil while the open segment waits for its keyframe
	open    bool             // a segment is open (its records may still be pending)
	header  eventlog.Header  // of the open segment
	kf      <-chan []byte    // the open segment's keyframe, until it arrives
	pending []pendingRecord  // records that came before the keyframe, payloads in pendBuf
	pendBuf []byte
	segment SegmentInfo
	sum     Summary
	cols    int
	rows    int
	last    time.Duration
	segRaw  int64 // raw bytes of the open segment's records
	// ratio is the last closed segment's raw/stored bytes (at least 1): while a segment's
	// keyframe is still being made its records wait uncompressed, and raw/ratio estimates what
	// they will store.
	ratio float64
	// wallStart is when the open segment began, on the wall clock, for the quiet-session cut.
	wallStart time.Time
}

type pendingRecord struct {
	rec      eventlog.Record // Payload unset: pendBuf[off:off+n]
	off, len int
}

// NewRecorder returns a recorder for the session described by meta.
func NewRecorder(meta SessionMeta, sink SegmentSink, opts Options) *Recorder {
	if opts.SegmentDuration <= 0 {
		opts.SegmentDuration = DefaultOptions().SegmentDuration
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultOptions().SegmentBytes
	}
	cols, rows := meta.Cols, meta.Rows
	if cols <= 0 || rows <= 0 {
		cols, rows = 80, 24
	}
	return &Recorder{opts: opts, meta: meta, sink: sink, cols: cols, rows: rows,
		sum: Summary{Meta: meta}, segment: SegmentInfo{Index: -1}}
}

// Run reads rd (a lossless reader of the session's ring) until the ring is closed and drained, and
// writes every event. It returns the summary as it stands and the first error that stopped it; the
// sink's Finish is called in every case, with cause as the reason the session ended.
//
// Run must own rd: the ring's producers wait for it, which is what makes the recording lossless.
func (r *Recorder) Run(ctx context.Context, rd *capture.Reader, cause func() error) (Summary, error) {
	r.screen = startScreen(r.cols, r.rows)
	defer r.screen.stop()
	if r.opts.OnFailure != nil {
		once, onFailure := sync.Once{}, r.opts.OnFailure
		r.opts.OnFailure = func(err error) { once.Do(func() { onFailure(err) }) }
	}
	r.put = startPutter(ctx, r.sink, r.opts.OnFailure)
	err := r.loop(ctx, rd)
	hold := false
	if err == nil || errors.Is(err, io.EOF) {
		err = nil
	} else if r.opts.OnFailure != nil {
		r.opts.OnFailure(err)
		drain(ctx, rd)
	} else {
		hold = true // never release the reader: the producers stall and the ring ends the session
	}
	if ferr := r.closeSegment(ctx); ferr != nil && err == nil {
		err = ferr
	}
	segs, perr := r.put.finish()
	r.sum.Segments = segs
	if perr != nil && err == nil {
		err = perr
	}
	if !hold {
		rd.Close()
	}
	r.sum.Duration = r.last
	r.sum.ScreenResyncs = r.screen.resyncs()
	switch c := cause(); {
	case err != nil:
		r.sum.Cause = "recording failure: " + err.Error()
	case c != nil:
		r.sum.Cause = c.Error()
	default:
		r.sum.Cause = "ended"
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if ferr := r.sink.Finish(fctx, r.sum); ferr != nil && err == nil {
		err = fmt.Errorf("%w: finish: %w", ErrSink, ferr)
	}
	return r.sum, err
}

// loop cuts a segment when its time is up even if the session has gone quiet, so that a crash
// loses at most SegmentDuration of a session: Next waits under a deadline while a segment is open
// (one context per segment, not per event).
func (r *Recorder) loop(ctx context.Context, rd *capture.Reader) error {
	wait := segmentDeadline{segment: -1}
	defer wait.stop()
	for {
		if r.open && wait.segment != r.segment.Index {
			wait.set(ctx, r.segment.Index, r.wallStart.Add(r.opts.SegmentDuration))
		}
		ev, err := rd.Next(wait.context(ctx))
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// The open segment's time is up and the session is quiet: persist it now.
			wait.stop()
			if err := r.closeSegment(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := r.put.failed(); err != nil {
			return err
		}
		if err := r.write(ctx, ev); err != nil {
			return err
		}
	}
}

// segmentDeadline is the context Next waits under while a segment is open.
type segmentDeadline struct {
	ctx     context.Context
	cancel  context.CancelFunc
	segment int // whose deadline it carries; -1 (after stop) for none
}

func (d *segmentDeadline) set(parent context.Context, segment int, at time.Time) {
	d.stop()
	d.ctx, d.cancel = context.WithDeadline(parent, at)
	d.segment = segment
}

func (d *segmentDeadline) context(parent context.Context) context.Context {
	if d.ctx == nil {
		return parent
	}
	return d.ctx
}

func (d *segmentDeadline) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.ctx, d.cancel, d.segment = nil, nil, -1
}

func (r *Recorder) write(ctx context.Context, ev capture.Event) error {
	if !r.open || r.segmentFull(ev.Time) {
		if err := r.closeSegment(ctx); err != nil {
			return err
		}
		r.openSegment(ev.Time)
	}
	terminal := r.channels.Terminal(ev)
	switch ev.Type {
	case capture.TypeOutput:
		r.sum.OutputBytes += int64(len(ev.Payload))
		if terminal {
			r.screen.output(ev.Payload)
		}
	case capture.TypeInput:
		r.sum.InputBytes += int64(len(ev.Payload))
	case capture.TypeRedacted:
		r.sum.Redactions++
	case capture.TypeResize:
		if cols, rows, err := capture.ParseResize(ev.Payload); terminal && err == nil && cols > 0 && rows > 0 {
			r.cols, r.rows = term.Clamp(int(cols), int(rows))
			r.screen.resize(r.cols, r.rows)
		}
	}
	r.last = ev.Time
	r.segRaw += int64(len(ev.Payload)) + 8
	r.segment.End = ev.Time
	r.segment.Records++
	rec := eventlog.Record{Time: ev.Time, Type: uint8(ev.Type), Channel: ev.Channel, Payload: ev.Payload}
	if r.w == nil {
		select {
		case kf := <-r.kf:
			if err := r.startWriter(kf); err != nil {
				return err
			}
		default:
			// The keyframe is still being made: keep a copy, since the ring reuses the payload's
			// memory once this event is released.
			r.pending = append(r.pending, pendingRecord{rec: rec, off: len(r.pendBuf), len: len(rec.Payload)})
			r.pendBuf = append(r.pendBuf, rec.Payload...)
			return nil
		}
	}
	return r.w.Write(rec)
}

// drain reads the rest of a failed recording's events until the ring ends, so the producers, which
// the failure has stopped, are not left waiting.
func drain(ctx context.Context, rd *capture.Reader) {
	for {
		if _, err := rd.Next(ctx); err != nil {
			return
		}
	}
}

// segmentFull cuts on time, on the stored (compressed) size, and on a raw-size ceiling.
//
// Stored size: what was written so far plus the open block's raw bytes (which compress to no
// more), so a stored segment stays within SegmentBytes plus one record and its framing. Cutting on
// raw bytes instead made a flood of compressible output (a build log, /dev/zero) cut a 2 kB
// segment, three objects, every 20 ms: the object store's per-object cost, not its bandwidth,
// then bounded the session (issue #4's S3 benchmark).
//
// Raw ceiling: readers of a segment (the web player's records, asciicast export, the indexer)
// hold its decoded records, so a segment never holds more than rawSegmentFactor*SegmentBytes of
// payload however well it compresses.
func (r *Recorder) segmentFull(now time.Duration) bool {
	if now-r.segment.Start >= r.opts.SegmentDuration || r.segRaw >= rawSegmentFactor*int64(r.opts.SegmentBytes) {
		return true
	}
	stored := int64(float64(r.segRaw) / max(r.ratio, 1)) // keyframe pending: estimate
	if r.w != nil {
		stored = r.w.Size() + int64(r.w.Pending()) + blockFraming
	}
	return stored >= int64(r.opts.SegmentBytes)
}

// blockFraming covers a block's chunk header, counts and CRC, and zstd's worst-case expansion.
const blockFraming = 64

// rawSegmentFactor caps a segment's raw payload at this multiple of SegmentBytes.
const rawSegmentFactor = 16

// openSegment starts a segment at time at. Its keyframe is asked of the screen model, which
// answers once it has digested the output so far; until then the segment's records wait in
// pending, so the session never waits for the emulator.
func (r *Recorder) openSegment(at time.Duration) {
	r.buf = r.put.buffer()
	r.header = eventlog.Header{
		SessionID: r.meta.ID, Segment: r.segment.Index + 1, User: r.meta.User, Target: r.meta.Target,
		Protocol: r.meta.Protocol, Start: r.meta.Start, Offset: at, Cols: r.cols, Rows: r.rows,
		Meta: map[string]string{"account": r.meta.Account, "remote": r.meta.Remote},
	}
	if r.meta.Command != "" {
		r.header.Meta["command"] = r.meta.Command
	}
	r.kf = r.screen.keyframe()
	r.open = true
	r.segment = SegmentInfo{Index: r.header.Segment, Start: at, End: at, Records: 1}
	r.segRaw = 0
	r.wallStart = r.meta.Start.Add(at)
}

// startWriter begins the open segment's bytes with its keyframe and the records that waited for it.
func (r *Recorder) startWriter(kf []byte) error {
	w, err := eventlog.NewWriter(r.buf, r.header, kf)
	if err != nil {
		return fmt.Errorf("recorder: open segment %d: %w", r.header.Segment, err)
	}
	r.w, r.kf = w, nil
	r.segRaw += int64(len(kf))
	for _, p := range r.pending {
		p.rec.Payload = r.pendBuf[p.off : p.off+p.len]
		if err := w.Write(p.rec); err != nil {
			return err
		}
	}
	r.pending, r.pendBuf = r.pending[:0], r.pendBuf[:0]
	return nil
}

func (r *Recorder) closeSegment(ctx context.Context) error {
	if !r.open {
		return nil
	}
	if r.w == nil {
		if err := r.startWriter(<-r.kf); err != nil {
			return err
		}
	}
	w := r.w
	r.w, r.open = nil, false
	if err := w.Close(); err != nil {
		return fmt.Errorf("recorder: close segment %d: %w", r.segment.Index, err)
	}
	r.segment.Bytes = r.buf.Len()
	if r.segment.Bytes > 0 {
		r.ratio = min(float64(r.segRaw)/float64(r.segment.Bytes), rawSegmentFactor)
	}
	buf := r.buf
	r.buf = nil
	return r.put.put(r.segment, buf)
}
