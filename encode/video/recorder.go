package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// Recorder writes one graphical session into video and event-log segments (FORMAT.md).
type Recorder struct {
	meta encode.SessionMeta
	sink encode.SegmentSink
	opts Options
	pipe *pipeline
	// clock0 is the wall time of session time 0, for the deadlines of quiet sessions.
	clock0 time.Time

	fb         *frame.Framebuffer
	consistent bool          // the last damage event was a Frame: the screen may be shown
	changed    bool          // the screen changed since the last encoded frame
	pending    bool          // a Frame came too soon after the last encoded one: encode at slot
	lastFrame  time.Duration // pts of the last encoded frame
	open       bool          // a cut is open
	cut        cutState
	sum        encode.Summary
	last       time.Duration
	malformed  int // damage events refused by the framebuffer
}

// cutState is the open cut's reader-side half: its time range and its event log.
type cutState struct {
	index int // of the video segment; the event log is index+1
	start time.Duration
	w, h  int // the desktop's real (unpadded) size
	buf   *bytes.Buffer
	log   *eventlog.Writer
	info  encode.SegmentInfo
}

// NewRecorder returns a recorder for the session described by meta. meta.Cols and meta.Rows, if
// set, are the desktop's initial size in pixels; the first Size damage event overrides them.
func NewRecorder(meta encode.SessionMeta, sink encode.SegmentSink, opts Options) *Recorder {
	return &Recorder{meta: meta, sink: sink, opts: opts.withDefaults(), sum: encode.Summary{Meta: meta}, cut: cutState{index: -2}}
}

// Run reads rd (a lossless reader of the session's ring) until the ring is closed and drained,
// with the semantics of encode.Recorder.Run: it returns the summary as it stands and the first
// error that stopped it (wrapping encode.ErrSink or ErrEncode); the sink's Finish is called in
// every case, with cause as the reason the session ended. Run must own rd.
func (r *Recorder) Run(ctx context.Context, rd *capture.Reader, cause func() error) (encode.Summary, error) {
	if r.opts.OnFailure != nil {
		once, onFailure := sync.Once{}, r.opts.OnFailure
		r.opts.OnFailure = func(err error) { once.Do(func() { onFailure(err) }) }
	}
	r.clock0 = r.meta.Start
	if r.clock0.IsZero() {
		r.clock0 = time.Now()
	}
	r.pipe = startPipeline(ctx, r.sink, r.opts)
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
	if err == nil {
		err = r.finalCut()
	} else {
		r.abandonCut()
	}
	segs, perr := r.pipe.finish()
	r.sum.Segments = segs
	if perr != nil && err == nil {
		err = perr
	}
	if !hold {
		rd.Close()
	}
	r.sum.Duration = r.last
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
		err = fmt.Errorf("%w: finish: %w", encode.ErrSink, ferr)
	}
	return r.sum, err
}

// loop waits for events under a deadline while there is something to do at a time of its own: a
// frame deferred to its slot, or a quiet cut at the end of its duration. The deadline's context is
// made again only when the deadline moves, not at every event.
func (r *Recorder) loop(ctx context.Context, rd *capture.Reader) error {
	var wait deadline
	defer wait.stop()
	for {
		at, ok := r.nextDeadline()
		if !ok {
			wait.stop()
		} else if !wait.armed || wait.at != at {
			wait.set(ctx, at, r.clock0.Add(at))
		}
		ev, err := rd.Next(wait.context(ctx))
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			wait.stop()
			if err := r.tick(at); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := r.pipe.failed(); err != nil {
			return err
		}
		if err := r.event(ev); err != nil {
			return err
		}
	}
}

// deadline is the context Next waits under while the recorder has something due.
type deadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	at     time.Duration // session time it carries
	armed  bool
}

func (d *deadline) set(parent context.Context, at time.Duration, wall time.Time) {
	d.stop()
	d.ctx, d.cancel = context.WithDeadline(parent, wall)
	d.at, d.armed = at, true
}

func (d *deadline) context(parent context.Context) context.Context {
	if !d.armed {
		return parent
	}
	return d.ctx
}

func (d *deadline) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.ctx, d.cancel, d.armed = nil, nil, false
}

// nextDeadline is the session time at which the recorder must act if no event comes first.
func (r *Recorder) nextDeadline() (time.Duration, bool) {
	var at time.Duration
	ok := false
	if r.pending && r.consistent {
		at, ok = r.lastFrame+r.opts.interval(), true
	}
	if r.open {
		if end := r.cutDue(); !ok || end < at {
			at, ok = end, true
		}
	}
	return at, ok
}

// cutDue is when the open cut ends by time. A cut waits for a consistent screen (its keyframe must
// not show half an update), but not past twice its duration, for a back end that stopped mid-update.
func (r *Recorder) cutDue() time.Duration {
	if r.consistent {
		return r.cut.start + r.opts.SegmentDuration
	}
	return r.cut.start + 2*r.opts.SegmentDuration
}

// tick acts at session time at with no event having come: encode the deferred frame, or cut.
func (r *Recorder) tick(at time.Duration) error {
	if err := r.pipe.failed(); err != nil {
		return err
	}
	if r.open && at >= r.cutDue() {
		// at is the earliest deadline, so a deferred frame's slot is not before it: the new
		// cut's keyframe, which shows the screen as it is, is that frame.
		return r.recut(at)
	}
	if r.pending && r.consistent && r.lastFrame+r.opts.interval() <= at {
		return r.encodeFrame(r.lastFrame + r.opts.interval())
	}
	return nil
}

func (r *Recorder) event(ev capture.Event) error {
	// What was due before this event happens first, on the session clock.
	if r.pending && r.consistent && r.lastFrame+r.opts.interval() < ev.Time {
		if err := r.encodeFrame(r.lastFrame + r.opts.interval()); err != nil {
			return err
		}
	}
	if r.open && (ev.Time >= r.cutDue() || r.consistent && r.pipe.bytes.Load() >= int64(r.opts.SegmentBytes)) {
		if err := r.recut(ev.Time); err != nil {
			return err
		}
	}
	r.last = ev.Time
	if ev.Type == capture.TypeDamage {
		return r.damage(ev)
	}
	switch ev.Type {
	case capture.TypeInput:
		r.sum.InputBytes += int64(len(ev.Payload))
	case capture.TypeOutput:
		r.sum.OutputBytes += int64(len(ev.Payload))
	case capture.TypeRedacted:
		r.sum.Redactions++
	case capture.TypeMarker:
	default:
		return nil // resize and unknown types mean nothing in a graphical session
	}
	if !r.open {
		if err := r.openCut(ev.Time); err != nil {
			return err
		}
	}
	r.cut.info.Records++
	r.cut.info.End = ev.Time
	return r.cut.log.Write(eventlog.Record{Time: ev.Time, Type: uint8(ev.Type), Channel: ev.Channel, Payload: ev.Payload})
}

// damage applies a damage event. A malformed one is counted and skipped: a hostile or broken
// back end must not be able to end the recording (the live viewers refuse it the same way).
func (r *Recorder) damage(ev capture.Event) error {
	r.sum.OutputBytes += int64(len(ev.Payload))
	if len(ev.Payload) > 0 && ev.Payload[0] == frame.KindSize {
		d, err := frame.Parse(ev.Payload)
		if err != nil || d.Rect.Empty() || d.Rect.Dx() > frame.MaxSide || d.Rect.Dy() > frame.MaxSide {
			r.malformed++
			return nil
		}
		// A segment never changes size: the cut ends here, and the next opens with the new size
		// at the first Frame (or logged event), so its keyframe shows the new screen.
		if err := r.closeCut(ev.Time); err != nil {
			return err
		}
	}
	if r.fb == nil {
		r.fb = r.newFramebuffer()
	}
	d, err := r.fb.Apply(ev.Payload)
	if err != nil {
		r.malformed++
		return nil
	}
	switch d.Kind {
	case frame.KindPixels, frame.KindCopy, frame.KindSize:
		r.changed, r.consistent = true, false
	case frame.KindFrame:
		r.consistent = true
		if !r.open {
			return r.openCut(ev.Time)
		}
		if !r.changed {
			return nil
		}
		if ev.Time >= r.lastFrame+r.opts.interval() {
			return r.encodeFrame(ev.Time)
		}
		r.pending = true
	}
	return nil
}

// newFramebuffer makes the screen before any Size event: meta's size, or a placeholder that the
// back end's first Size replaces (proxy/desktop.Target.Run starts with one).
func (r *Recorder) newFramebuffer() *frame.Framebuffer {
	w, h := r.meta.Cols, r.meta.Rows
	if w <= 0 || h <= 0 {
		w, h = 640, 480
	}
	return frame.NewFramebuffer(w, h)
}

// encodeFrame hands the changed rectangles to the encoder as the frame shown from at.
func (r *Recorder) encodeFrame(at time.Duration) error {
	rects, _ := r.fb.TakeDirty()
	pix, buf := r.copyRects(rects)
	r.pipe.send(job{kind: jobFrame, at: at, pix: pix, buf: buf})
	r.lastFrame, r.pending, r.changed = at, false, false
	return nil
}

// copyRects copies the changed rectangles of the screen, grown to even coordinates (4:2:0 blocks
// are 2x2) and merged into the whole screen when they are many or cover most of it.
func (r *Recorder) copyRects(rects []image.Rectangle) ([]*image.RGBA, []byte) {
	img := r.fb.Image()
	bounds := img.Bounds()
	area, grown := 0, make([]image.Rectangle, 0, len(rects))
	for _, rc := range rects {
		rc = image.Rect(rc.Min.X&^1, rc.Min.Y&^1, (rc.Max.X+1)&^1, (rc.Max.Y+1)&^1).Intersect(bounds)
		if rc.Empty() {
			continue
		}
		grown = append(grown, rc)
		area += rc.Dx() * rc.Dy()
	}
	if len(grown) > 64 || area > bounds.Dx()*bounds.Dy()/2 {
		grown = []image.Rectangle{bounds}
		area = bounds.Dx() * bounds.Dy()
	}
	buf := r.pipe.buffer(area * 4)
	pix := make([]*image.RGBA, 0, len(grown))
	off := 0
	for _, rc := range grown {
		n := rc.Dx() * rc.Dy() * 4
		sub := &image.RGBA{Pix: buf[off : off+n : off+n], Stride: rc.Dx() * 4, Rect: rc}
		for y := rc.Min.Y; y < rc.Max.Y; y++ {
			copy(sub.Pix[(y-rc.Min.Y)*sub.Stride:][:sub.Stride], img.Pix[img.PixOffset(rc.Min.X, y):])
		}
		pix = append(pix, sub)
		off += n
	}
	return pix, buf
}

// openCut starts a cut at session time at: its keyframe is the whole screen as it is now.
func (r *Recorder) openCut(at time.Duration) error {
	if r.fb == nil {
		r.fb = r.newFramebuffer()
	}
	b := r.fb.Image().Bounds()
	r.fb.TakeDirty()
	pix, buf := r.copyRects([]image.Rectangle{b})
	r.cut = cutState{index: r.cut.index + 2, start: at, w: b.Dx(), h: b.Dy(), buf: new(bytes.Buffer)}
	r.pipe.send(job{kind: jobBegin, at: at, w: b.Dx(), h: b.Dy(), index: r.cut.index, pix: pix, buf: buf})
	r.lastFrame, r.pending, r.changed, r.open = at, false, false, true
	h := eventlog.Header{
		SessionID: r.meta.ID, Segment: r.cut.index + 1, User: r.meta.User, Target: r.meta.Target,
		Protocol: r.meta.Protocol, Start: r.meta.Start, Offset: at, Cols: b.Dx(), Rows: b.Dy(),
		Meta: map[string]string{
			"account": r.meta.Account, "remote": r.meta.Remote, "media": "video",
			"width": strconv.Itoa(b.Dx()), "height": strconv.Itoa(b.Dy()),
			"video_segment": strconv.Itoa(r.cut.index), "video_format": "1",
		},
	}
	w, err := eventlog.NewWriter(r.cut.buf, h, nil)
	if err != nil {
		return fmt.Errorf("video: open cut %d: %w", r.cut.index, err)
	}
	r.cut.log = w
	r.cut.info = encode.SegmentInfo{Index: r.cut.index + 1, Start: at, End: at, Records: 1}
	return nil
}

// closeCut ends the open cut at session time at and queues its two segments.
func (r *Recorder) closeCut(at time.Duration) error {
	if !r.open {
		return nil
	}
	r.open = false
	if err := r.cut.log.Close(); err != nil {
		return fmt.Errorf("video: close cut %d: %w", r.cut.index, err)
	}
	info := r.cut.info
	info.End, info.Bytes = at, r.cut.buf.Len()
	r.pipe.send(job{kind: jobEnd, at: at, events: r.cut.buf.Bytes(), eventInfo: info})
	r.cut.buf, r.cut.log = nil, nil
	return nil
}

// finalCut ends the last cut when the session ends. A change still waiting for its slot is encoded
// there, and the cut runs one slot past it, so the final screen is in the video and shown (the last
// cut may thus end up to 2/MaxFPS after the last event).
func (r *Recorder) finalCut() error {
	if !r.open {
		return nil
	}
	end := max(r.last, r.cut.start)
	if r.pending && r.consistent {
		slot := r.lastFrame + r.opts.interval()
		if err := r.encodeFrame(slot); err != nil {
			return err
		}
		end = max(end, slot+r.opts.interval())
	}
	return r.closeCut(max(end, r.lastFrame+time.Millisecond))
}

// recut ends the open cut and starts the next at the same time, with the screen as it is.
func (r *Recorder) recut(at time.Duration) error {
	if err := r.closeCut(at); err != nil {
		return err
	}
	return r.openCut(at)
}

// abandonCut drops the open cut of a failed recording: its segments cannot be persisted in order.
func (r *Recorder) abandonCut() {
	r.open = false
	r.cut.buf, r.cut.log = nil, nil
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
