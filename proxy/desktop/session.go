package desktop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// Session is one graphical session: a ring, a recording, a target and a screen model. Its methods
// are safe for concurrent use.
type Session struct {
	cfg    Config
	info   Info
	log    *slog.Logger
	target Target
	ring   *capture.Ring
	rec    Recording
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the recording is persisted and the session is gone

	// commitMu serialises every write to the ring, so nextSeq is exactly the ring's commit count:
	// Attach needs that to place a new reader right after the screen model's snapshot.
	commitMu sync.Mutex
	nextSeq  uint64
	screen   *capture.Producer // the target's side: damage, target clipboard
	user     *capture.Producer // the user's side: input, redactions, live-control markers

	modelMu   sync.Mutex
	modelCond *sync.Cond
	fb        *frame.Framebuffer
	cursor    frame.Damage // last cursor payload (Pix is the model's own copy)
	applied   uint64       // events the model has seen: the Seq of the last one + 1
	modelDone bool

	paused  atomic.Pointer[pauseState]
	watchMu sync.Mutex
	watch   chan struct{} // closed and replaced on every pause, resume and at the end
	err     error         // the cause, set before done is closed
}

// emitWriter is the Emitter's Writer: the screen producer, under commitMu.
type emitWriter struct{ s *Session }

func (w emitWriter) Write(t capture.Type, ch uint16, p []byte) (capture.Event, error) {
	return w.s.write(w.s.screen, t, ch, p)
}

func (s *Session) write(p *capture.Producer, t capture.Type, ch uint16, payload []byte) (capture.Event, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	ev, err := p.Write(t, ch, payload)
	if err != nil {
		return ev, err
	}
	s.nextSeq = ev.Seq + 1
	return ev, nil
}

// Start begins a session over a connected target: it makes the ring, starts the recording
// (an error refuses the session and closes the target), the screen model and the target's Run,
// and lists the session in cfg.Registry. The session ends when ctx ends (cause ErrShutdown unless
// ctx carries one), the target goes away (ErrTargetClosed), the recording fails, or End or
// Terminate is called. Start owns t from then on and closes it at the end.
func Start(ctx context.Context, cfg Config, info Info, t Target) (*Session, error) {
	if cfg.Recorder == nil {
		t.Close()
		return nil, errors.New("desktop: start: no recorder")
	}
	if cfg.Ring.MaxRead == 0 {
		cfg.Ring = RingConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if info.ID == "" {
		info.ID = newID()
	}
	if info.Start.IsZero() {
		info.Start = time.Now()
	}
	info.Width, info.Height = t.Size()
	ring, err := capture.New(cfg.Ring)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("desktop: start %s: %w", info.ID, err)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &Session{cfg: cfg, info: info, log: cfg.Logger, target: t, ring: ring, ctx: sctx, cancel: cancel,
		done: make(chan struct{}), fb: frame.NewFramebuffer(info.Width, info.Height), watch: make(chan struct{})}
	s.modelCond = sync.NewCond(&s.modelMu)
	rec, err := cfg.Recorder.Start(sctx, info, ring)
	if err != nil {
		cancel(err)
		ring.Close()
		t.Close()
		return nil, fmt.Errorf("desktop: start recording %s: %w", info.ID, err)
	}
	s.rec = rec
	s.screen, s.user = ring.NewProducer(), ring.NewProducer()
	model := ring.NewReader(capture.Lossless)
	modelDone := make(chan struct{})
	go func() {
		defer close(modelDone)
		s.runModel(model)
	}()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		e := &frame.Emitter{W: emitWriter{s}, MaxPayload: cfg.Ring.MaxRead}
		err := t.Run(sctx, e)
		switch {
		case err == nil:
			cancel(ErrShutdown) // ctx ended: its cause, if any, is already set
		case errors.Is(err, capture.ErrStalled), errors.Is(err, capture.ErrClosed):
			cancel(s.ringCause(err))
		default:
			cancel(fmt.Errorf("%w: %w", ErrTargetClosed, err))
		}
	}()
	if cfg.Registry != nil {
		cfg.Registry.add(s)
	}
	s.audit(AuditEvent{Kind: AuditSessionStart, Detail: info.Protocol + " via " + info.Via})
	s.log.Info("desktop session started", "session", info.ID, "user", info.User, "target", info.Target,
		"protocol", info.Protocol, "via", info.Via)
	go s.teardown(runDone, modelDone)
	return s, nil
}

// ringCause names a ring failure: a stalled or failed recorder is a recording failure.
func (s *Session) ringCause(err error) error {
	if rerr := s.ring.Err(); rerr != nil {
		return rerr
	}
	return fmt.Errorf("%w: %w", ErrRecordingFailure, err)
}

// teardown waits for the end, stops the target and the model, and closes the recording with the
// cause.
func (s *Session) teardown(runDone, modelDone chan struct{}) {
	<-s.ctx.Done()
	cause := context.Cause(s.ctx)
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		cause = ErrShutdown // the parent (the gateway) ended without naming a cause
	}
	s.target.Close()
	<-runDone
	s.ring.Close()
	<-modelDone
	if s.cfg.Registry != nil {
		s.cfg.Registry.remove(s)
	}
	if err := s.rec.Close(cause); err != nil {
		s.log.Error("desktop recording close", "session", s.info.ID, "err", err)
	}
	s.audit(AuditEvent{Kind: AuditSessionEnd, Cause: cause})
	s.log.Info("desktop session ended", "session", s.info.ID, "cause", cause)
	s.err = cause
	s.notify()
	close(s.done)
}

// runModel applies the ring's damage to the framebuffer until the ring is closed and drained.
func (s *Session) runModel(rd *capture.Reader) {
	defer rd.Close()
	defer func() {
		s.modelMu.Lock()
		s.modelDone = true
		s.modelCond.Broadcast()
		s.modelMu.Unlock()
	}()
	for {
		ev, err := rd.Next(context.Background())
		if err != nil {
			return // io.EOF: the ring was closed and drained
		}
		s.modelMu.Lock()
		if ev.Type == capture.TypeDamage {
			d, err := s.fb.Apply(ev.Payload)
			switch {
			case err != nil:
				// Only our own producers write here: a refused payload is a back end's bug.
				s.log.Warn("desktop model: bad damage", "session", s.info.ID, "err", err)
			case d.Kind == frame.KindCursor:
				d.Pix = append([]byte(nil), d.Pix...)
				s.cursor = d
			}
		}
		s.applied = ev.Seq + 1
		s.modelCond.Broadcast()
		s.modelMu.Unlock()
	}
}

// Attach returns a copy of the current screen and a lossy reader positioned just after the last
// event the copy reflects: applying the reader's damage events to the copy keeps it exact. On
// capture.ErrOverrun from the reader, close it and Attach again. The caller closes the reader.
// It returns ErrEnded once the session has ended.
func (s *Session) Attach() (*image.RGBA, *capture.Reader, error) {
	for range 8 {
		if s.ctx.Err() != nil {
			return nil, nil, fmt.Errorf("attach %s: %w", s.info.ID, ErrEnded)
		}
		s.commitMu.Lock()
		rd := s.ring.NewReader(capture.Lossy)
		from := s.nextSeq // rd's first event
		s.commitMu.Unlock()

		s.modelMu.Lock()
		for s.applied < from && !s.modelDone {
			s.modelCond.Wait()
		}
		if s.applied < from {
			s.modelMu.Unlock()
			rd.Close()
			return nil, nil, fmt.Errorf("attach %s: %w", s.info.ID, ErrEnded)
		}
		img, upto := s.fb.Snapshot(), s.applied
		s.modelMu.Unlock()

		// Events [from, upto) are in the snapshot already: skip them. They are committed, so
		// Next does not wait; an overrun here means a flood, and the next try starts later.
		ok := true
		for n := upto - from; n > 0; n-- {
			if _, err := rd.Next(context.Background()); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return img, rd, nil
		}
		rd.Close()
	}
	return nil, nil, fmt.Errorf("attach %s: %w", s.info.ID, capture.ErrOverrun)
}

// Cursor returns the target's last cursor shape (image at the origin, hotspot), or ok false.
func (s *Session) Cursor() (img *image.RGBA, hotspot image.Point, ok bool) {
	s.modelMu.Lock()
	defer s.modelMu.Unlock()
	if s.cursor.Kind != frame.KindCursor {
		return nil, image.Point{}, false
	}
	img = image.NewRGBA(s.cursor.Rect)
	copy(img.Pix, s.cursor.Pix)
	return img, s.cursor.Src, true
}

// Input records one input event from the controlling front end, then forwards it to the target.
// A printable key is recorded, per Config.Keys, only as a redaction. It returns ErrPaused while
// the session is paused (the input is dropped), ErrEnded after the end, frame.ErrMalformed for
// an event that does not encode, or the ring's or the target's error. A ring failure ends the
// session: nothing is forwarded unrecorded.
func (s *Session) Input(in frame.Input) error {
	if s.ctx.Err() != nil {
		return fmt.Errorf("input %s: %w", s.info.ID, ErrEnded)
	}
	if s.paused.Load() != nil {
		return fmt.Errorf("input %s: %w", s.info.ID, ErrPaused)
	}
	if in.Kind == frame.InputClipboard && len(in.Text) > frame.MaxClipboard {
		in.Text = in.Text[:frame.MaxClipboard]
	}
	payload := in.Append(nil)
	if _, err := frame.ParseInput(payload); err != nil {
		return fmt.Errorf("input %s: %w", s.info.ID, err)
	}
	var err error
	switch {
	case in.Printable() && s.cfg.Keys == KeysPrintableRedacted:
		if in.Down {
			_, err = s.write(s.user, capture.TypeRedacted, 0, []byte{0, 0, 0, 1}) // one key withheld
		}
	default:
		_, err = s.write(s.user, capture.TypeInput, 0, payload)
	}
	if err != nil {
		s.cancel(s.ringCause(err))
		return fmt.Errorf("input %s: record: %w", s.info.ID, err)
	}
	if err := s.target.Input(in); err != nil {
		return fmt.Errorf("input %s: %w", s.info.ID, err)
	}
	return nil
}

// Resize asks the target for a new desktop size; errors.ErrUnsupported if it cannot.
func (s *Session) Resize(w, h int) error {
	if s.ctx.Err() != nil {
		return fmt.Errorf("resize %s: %w", s.info.ID, ErrEnded)
	}
	return s.target.Resize(w, h)
}

// End ends the session with cause (nil: ErrUserExit), e.g. when the user's viewer disconnects.
func (s *Session) End(cause error) {
	if cause == nil {
		cause = ErrUserExit
	}
	s.cancel(cause)
}

// ID returns the session's id.
func (s *Session) ID() string { return s.info.ID }

// Info returns what the session was started with (Width and Height as at the start).
func (s *Session) Info() Info { return s.info }

// Done is closed when the session has ended and its recording is persisted.
func (s *Session) Done() <-chan struct{} { return s.done }

// Context is the session's context: done as soon as the session is ending, its cause the reason.
func (s *Session) Context() context.Context { return s.ctx }

// Err returns why the session ended: nil before Done is closed.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Changed returns a channel closed at the next pause, resume or end: front ends wait on it to
// show the user the session's state.
func (s *Session) Changed() <-chan struct{} {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	return s.watch
}

func (s *Session) notify() {
	s.watchMu.Lock()
	close(s.watch)
	s.watch = make(chan struct{})
	s.watchMu.Unlock()
}

func (s *Session) mark(fields map[string]any) {
	b, err := json.Marshal(fields)
	if err != nil {
		return
	}
	if _, err := s.write(s.user, capture.TypeMarker, 0, b); err != nil {
		s.cancel(s.ringCause(err))
	}
}

func (s *Session) audit(ev AuditEvent) {
	if s.cfg.Audit == nil {
		return
	}
	ev.Time = time.Now()
	ev.Session, ev.User, ev.Target, ev.Remote = s.info.ID, s.info.User, s.info.Target, s.info.Remote
	s.cfg.Audit(ev)
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
