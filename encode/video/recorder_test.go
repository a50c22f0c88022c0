package video

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// memSink keeps segments in memory, or fails from segment index failAt on (when failAt > 0).
type memSink struct {
	mu     sync.Mutex
	segs   [][]byte
	infos  []encode.SegmentInfo
	sum    *encode.Summary
	failAt int
}

var errDiskFull = errors.New("disk full")

func (m *memSink) PutSegment(_ context.Context, seg encode.SegmentInfo, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && seg.Index >= m.failAt {
		return errDiskFull
	}
	m.segs = append(m.segs, bytes.Clone(data))
	m.infos = append(m.infos, seg)
	return nil
}

func (m *memSink) Finish(_ context.Context, s encode.Summary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sum = &s
	return nil
}

// newRing returns a ring sized like a graphical session's (gcontract.md), smaller arena.
func newRing(t testing.TB, stall time.Duration) *capture.Ring {
	t.Helper()
	r, err := capture.New(capture.Config{ArenaBytes: 8 << 20, Records: 8 << 10, MaxRead: 1 << 20, StallTimeout: stall})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type recordRun struct {
	sum  encode.Summary
	err  error
	done chan struct{}
}

func startRecorder(t testing.TB, ring *capture.Ring, sink encode.SegmentSink, opts Options, cause error) *recordRun {
	t.Helper()
	rd := ring.NewReader(capture.Lossless)
	run := &recordRun{done: make(chan struct{})}
	meta := encode.SessionMeta{ID: "g1", User: "alice", Target: "desk01", Protocol: "vnc", Start: ring.Start()}
	rec := NewRecorder(meta, sink, opts)
	go func() {
		defer close(run.done)
		run.sum, run.err = rec.Run(context.Background(), rd, func() error { return cause })
	}()
	return run
}

// driver plays a back end: it draws on its screen and emits damage, and types as a user would.
type driver struct {
	t      testing.TB
	screen *image.RGBA
	em     *frame.Emitter
	in     *capture.Producer
}

func newDriver(t testing.TB, ring *capture.Ring, w, h int) *driver {
	d := &driver{t: t, em: &frame.Emitter{W: ring.NewProducer(), MaxPayload: 1 << 20}, in: ring.NewProducer()}
	d.resize(w, h)
	return d
}

// resize starts a new desktop, as a back end does: Size, then the whole screen.
func (d *driver) resize(w, h int) {
	d.screen = desktop(w, h, 0)
	if err := d.em.Size(w, h); err != nil {
		d.t.Fatal(err)
	}
	d.update(d.screen.Bounds())
}

func (d *driver) update(rects ...image.Rectangle) {
	if err := d.em.Update(d.screen, rects); err != nil {
		d.t.Fatal(err)
	}
}

func (d *driver) input(in frame.Input) {
	if _, err := d.in.Write(capture.TypeInput, 0, in.Append(nil)); err != nil {
		d.t.Fatal(err)
	}
}

func (d *driver) redacted(n uint32) {
	if _, err := d.in.Write(capture.TypeRedacted, 0, []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}); err != nil {
		d.t.Fatal(err)
	}
}

// checkRecording checks what FORMAT.md promises of a whole recording and returns its cuts' video
// segments.
func checkRecording(t *testing.T, sink *memSink, opts Options) [][]byte {
	t.Helper()
	if len(sink.infos)%2 != 0 || len(sink.infos) == 0 {
		t.Fatalf("%d segments, want video+events pairs", len(sink.infos))
	}
	if sink.sum == nil || len(sink.sum.Segments) != len(sink.infos) {
		t.Fatalf("summary %+v does not list the %d segments", sink.sum, len(sink.infos))
	}
	interval := DefaultOptions().interval()
	if opts.MaxFPS > 0 {
		interval = opts.withDefaults().interval()
	}
	var videos [][]byte
	for i := 0; i < len(sink.infos); i += 2 {
		v, e := sink.infos[i], sink.infos[i+1]
		if v.Index != i || e.Index != i+1 || v.Media != encode.MediaMP4 || e.Media != "" {
			t.Fatalf("segments %d,%d: %+v %+v, want video then events", i, i+1, v, e)
		}
		if v.Start != e.Start || v.End != e.End || v.End <= v.Start {
			t.Errorf("cut %d: video [%v,%v) events [%v,%v): want one range", i/2, v.Start, v.End, e.Start, e.End)
		}
		p := probe(t, sink.segs[i])
		s := p.Streams[0]
		var ts []time.Duration
		for _, f := range p.Frames {
			ts = append(ts, seconds(t, f.PtsTime))
		}
		checkProbe(t, p, v.Start.Round(time.Millisecond), v.End.Round(time.Millisecond), s.Width, s.Height, ts)
		if len(ts) != v.Records {
			t.Errorf("cut %d: %d frames, info says %d", i/2, len(ts), v.Records)
		}
		for j := 1; j < len(ts); j++ {
			if ts[j]-ts[j-1] < interval-time.Millisecond {
				t.Errorf("cut %d: frames %v apart, MaxFPS allows %v", i/2, ts[j]-ts[j-1], interval)
			}
		}
		r, err := eventlog.NewReader(bytes.NewReader(sink.segs[i+1]))
		if err != nil {
			t.Fatalf("event log %d: %v", i+1, err)
		}
		h := r.Header()
		realW := h.Cols == s.Width || h.Cols == s.Width-1 // padded to even
		if h.Segment != i+1 || h.Offset != e.Start.Truncate(time.Microsecond) || h.Meta["media"] != "video" || !realW {
			t.Errorf("event log %d header %+v", i+1, h)
		}
		videos = append(videos, sink.segs[i])
	}
	return videos
}

// readEvents returns the records of every event-log segment, keyframes left out.
func readEvents(t *testing.T, sink *memSink) []eventlog.Record {
	t.Helper()
	var out []eventlog.Record
	for i := 1; i < len(sink.segs); i += 2 {
		r, err := eventlog.NewReader(bytes.NewReader(sink.segs[i]))
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("event log %d: %v", i, err)
			}
			if rec.Type != eventlog.TypeKeyframe {
				rec.Payload = bytes.Clone(rec.Payload)
				out = append(out, rec)
			}
		}
	}
	return out
}

// TestRecorderSession: a session through a real ring: changes faster than MaxFPS, input, a quiet
// spell longer than a cut, and a last change just before the end. Every segment is valid, cuts
// tile the session, input is in the event logs, and the last screen is in the video.
func TestRecorderSession(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	opts := Options{SegmentDuration: 400 * time.Millisecond, MaxFPS: 10}
	run := startRecorder(t, ring, sink, opts, errors.New("user exit"))
	d := newDriver(t, ring, 320, 240)
	for i := 1; i <= 12; i++ {
		time.Sleep(30 * time.Millisecond) // faster than 10 fps: changes are merged
		d.update(drawClock(d.screen, i))
		if i%4 == 0 {
			d.input(frame.Input{Kind: frame.InputPointer, X: 10 * i, Y: 20, Buttons: frame.ButtonLeft})
			d.input(frame.Input{Kind: frame.InputKey, Down: true, Keysym: 0xff0d, Scancode: 0x1c})
			d.redacted(3)
		}
	}
	time.Sleep(time.Second) // quiet: cuts go on on time
	d.update(drawTerminal(d.screen, 9))
	final := d.screen
	prev := desktop(320, 240, 0)
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	videos := checkRecording(t, sink, opts)
	if len(videos) < 4 {
		t.Errorf("%d cuts in 1.4 s with 400 ms cuts, want at least 4", len(videos))
	}
	for i := 2; i < len(sink.infos); i += 2 {
		if sink.infos[i].Start != sink.infos[i-2].End {
			t.Errorf("cut %d starts at %v, the previous ended at %v: want no gap", i/2, sink.infos[i].Start, sink.infos[i-2].End)
		}
	}
	recs := readEvents(t, sink)
	var pointers, keys, redactions int
	for _, rec := range recs {
		switch capture.Type(rec.Type) {
		case capture.TypeInput:
			in, err := frame.ParseInput(rec.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if in.Kind == frame.InputPointer {
				pointers++
			} else {
				keys++
			}
		case capture.TypeRedacted:
			redactions++
		}
	}
	if pointers != 3 || keys != 3 || redactions != 3 || sink.sum.Redactions != 3 {
		t.Errorf("event logs: %d pointer, %d key, %d redacted (summary %d), want 3 each", pointers, keys, redactions, sink.sum.Redactions)
	}
	last := sink.infos[len(sink.infos)-2]
	img, err := FrameAt(videos[len(videos)-1], last.End)
	if err != nil {
		t.Fatal(err)
	}
	pf, pp := psnr(img, final, 320, 240), psnr(img, prev, 320, 240)
	if pf < minPSNR || pp >= pf {
		t.Errorf("last frame: %.1f dB to the final screen, %.1f dB to the one before: want the final one", pf, pp)
	}
	// The recording exports as one MP4 covering every cut.
	var rs []io.Reader
	for _, v := range videos {
		rs = append(rs, bytes.NewReader(v))
	}
	var out bytes.Buffer
	if err := Concat(&out, rs); err != nil {
		t.Fatal(err)
	}
	cp := probe(t, out.Bytes())
	want := (last.End - sink.infos[0].Start).Round(time.Millisecond)
	if got := seconds(t, cp.Format.Duration); absDur(got-want) > 2*time.Millisecond || cp.Streams[0].CodecName != "h264" {
		t.Errorf("concatenated: %s %v, want h264 of %v", cp.Streams[0].CodecName, got, want)
	}
	if sink.sum.Cause != "user exit" {
		t.Errorf("cause %q", sink.sum.Cause)
	}
}

// TestRecorderResize: a desktop resize cuts; no segment changes size; the last frame is the new
// desktop's.
func TestRecorderResize(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	run := startRecorder(t, ring, sink, Options{}, nil)
	d := newDriver(t, ring, 320, 240)
	time.Sleep(250 * time.Millisecond)
	d.update(drawClock(d.screen, 1))
	time.Sleep(100 * time.Millisecond)
	d.resize(401, 301) // odd: padded to 402x302
	time.Sleep(250 * time.Millisecond)
	d.update(drawClock(d.screen, 2))
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	videos := checkRecording(t, sink, Options{})
	var sizes []image.Point
	for _, v := range videos {
		s := probe(t, v).Streams[0]
		sizes = append(sizes, image.Pt(s.Width, s.Height))
	}
	if len(sizes) != 2 || sizes[0] != image.Pt(320, 240) || sizes[1] != image.Pt(402, 302) {
		t.Fatalf("video sizes %v, want [320x240 402x302]", sizes)
	}
	r, _ := eventlog.NewReader(bytes.NewReader(sink.segs[3]))
	if h := r.Header(); h.Cols != 401 || h.Rows != 301 || h.Meta["width"] != "401" {
		t.Errorf("second cut's event log header %dx%d %v, want the real size 401x301", h.Cols, h.Rows, h.Meta)
	}
	img, err := FrameAt(videos[1], sink.infos[2].End)
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr(img, d.screen, 401, 301); p < minPSNR {
		t.Errorf("last frame %.1f dB, want >= %d", p, minPSNR)
	}
}

// TestRecorderFailsClosed: when a segment cannot be persisted the recorder reports it through
// OnFailure (which stops the session) and the summary says why.
func TestRecorderFailsClosed(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{failAt: 1}
	failed := make(chan error, 1)
	opts := Options{SegmentDuration: 100 * time.Millisecond, OnFailure: func(err error) { failed <- err; ring.Fail(err) }}
	run := startRecorder(t, ring, sink, opts, nil)
	d := newDriver(t, ring, 160, 120)
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; err == nil && time.Now().Before(deadline); i++ {
		time.Sleep(20 * time.Millisecond)
		err = d.em.Update(d.screen, []image.Rectangle{drawClock(d.screen, i)})
	}
	if err == nil {
		t.Fatal("the session went on after its recording failed")
	}
	select {
	case ferr := <-failed:
		if !errors.Is(ferr, errDiskFull) || !errors.Is(ferr, encode.ErrSink) {
			t.Errorf("OnFailure(%v), want ErrSink wrapping the sink's error", ferr)
		}
	default:
		t.Fatal("OnFailure was not called")
	}
	<-run.done
	if !errors.Is(run.err, errDiskFull) {
		t.Errorf("Run = %v, want the sink's error", run.err)
	}
	if sink.sum == nil || !strings.HasPrefix(sink.sum.Cause, "recording failure") {
		t.Errorf("summary %+v, want a recording failure cause", sink.sum)
	}
}

// TestRecorderWithoutFailureHandlerStallsTheSession: with no OnFailure the recorder stops reading,
// so the producers stall: never an unrecorded session.
func TestRecorderWithoutFailureHandlerStallsTheSession(t *testing.T) {
	ring := newRing(t, 300*time.Millisecond)
	sink := &memSink{failAt: 1}
	run := startRecorder(t, ring, sink, Options{SegmentDuration: 50 * time.Millisecond}, nil)
	d := newDriver(t, ring, 160, 120)
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		time.Sleep(2 * time.Millisecond)
		err = d.em.Update(d.screen, []image.Rectangle{d.screen.Bounds()})
	}
	if !errors.Is(err, capture.ErrStalled) {
		t.Fatalf("producer error %v, want ErrStalled", err)
	}
	ring.Close()
	<-run.done
}

// TestRecorderMalformedDamage: damage that is malformed or out of bounds is skipped, not fatal,
// and what follows is recorded.
func TestRecorderMalformedDamage(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	run := startRecorder(t, ring, sink, Options{}, nil)
	d := newDriver(t, ring, 160, 120)
	p := ring.NewProducer()
	outside := frame.AppendPixels(nil, image.NewRGBA(image.Rect(0, 0, 200, 10)), image.Rect(0, 0, 200, 10))
	for _, bad := range [][]byte{
		{},
		{99},
		{frame.KindPixels, 0, 0},
		outside,
		outside[:len(outside)-1],
		frame.AppendCopy(nil, image.Rect(0, 0, 10, 10), image.Pt(155, 0)),
		frame.AppendSize(nil, 0, 100),
		frame.AppendSize(nil, 9000, 100),
		{frame.KindFrame, 1},
	} {
		if _, err := p.Write(capture.TypeDamage, 0, bad); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(250 * time.Millisecond)
	d.update(drawTerminal(d.screen, 5))
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	videos := checkRecording(t, sink, Options{})
	img, err := FrameAt(videos[len(videos)-1], sink.infos[len(sink.infos)-1].End)
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr(img, d.screen, 160, 120); p < minPSNR {
		t.Errorf("last frame %.1f dB, want >= %d", p, minPSNR)
	}
}

// TestRecorderCutsOnBytes: a busy screen cuts when the video segment reaches SegmentBytes, long
// before its duration.
func TestRecorderCutsOnBytes(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	opts := Options{SegmentDuration: time.Hour, SegmentBytes: 30 << 10}
	run := startRecorder(t, ring, sink, opts, nil)
	d := newDriver(t, ring, 320, 240)
	for i := 1; i <= 8; i++ {
		time.Sleep(220 * time.Millisecond)
		d.screen = desktop(320, 240, 3*i) // a new page of text each time
		d.update(d.screen.Bounds())
	}
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	checkRecording(t, sink, opts)
	t.Logf("%d cuts", len(sink.infos)/2)
	if cuts := len(sink.infos) / 2; cuts < 2 {
		t.Errorf("%d cuts of %v bytes, want several at %d bytes each", cuts, sink.infos, opts.SegmentBytes)
	}
	for i := 0; i < len(sink.infos)-2; i += 2 {
		// A cut ends at the first frame after the limit: at most one frame's worth over it.
		if n := sink.infos[i].Bytes; n > 3*opts.SegmentBytes {
			t.Errorf("segment %d: %d bytes, limit %d", i, n, opts.SegmentBytes)
		}
	}
}
