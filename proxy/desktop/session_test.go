package desktop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// fakeTarget paints its own screen: each step either fills a random rectangle or scrolls one
// (a Copy, which is not idempotent, so a viewer that applied an event twice or missed one would
// end up wrong). steps is closed-over work; Run stops after it and waits for ctx or fail.
type fakeTarget struct {
	w, h  int
	steps int
	img   *image.RGBA
	fail  chan error // a value ends Run with it

	mu      sync.Mutex
	inputs  []frame.Input
	closed  bool
	painted chan struct{} // closed when every step has been emitted
}

func newFakeTarget(w, h, steps int) *fakeTarget {
	return &fakeTarget{w: w, h: h, steps: steps, img: image.NewRGBA(image.Rect(0, 0, w, h)),
		fail: make(chan error, 1), painted: make(chan struct{})}
}

func (f *fakeTarget) Size() (int, int) { return f.w, f.h }

func (f *fakeTarget) Run(ctx context.Context, e *frame.Emitter) error {
	if err := e.Size(f.w, f.h); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range f.img.Pix {
		f.img.Pix[i] = byte(rng.Uint32()) | 0 // alpha is forced opaque by Framebuffer
		if i%4 == 3 {
			f.img.Pix[i] = 0xff
		}
	}
	if err := e.Update(f.img, []image.Rectangle{f.img.Bounds()}); err != nil {
		return err
	}
	for i := 0; i < f.steps; i++ {
		x, y := rng.IntN(f.w-8), rng.IntN(f.h-8)
		r := image.Rect(x, y, x+1+rng.IntN(f.w-x-1), y+1+rng.IntN(f.h-y-1))
		if i%3 == 0 { // scroll r up by one row
			if r.Dy() < 2 {
				continue
			}
			dst := image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Max.Y-1)
			src := image.Pt(r.Min.X, r.Min.Y+1)
			for yy := dst.Min.Y; yy < dst.Max.Y; yy++ {
				copy(f.img.Pix[f.img.PixOffset(dst.Min.X, yy):][:dst.Dx()*4], f.img.Pix[f.img.PixOffset(src.X, yy+1):][:dst.Dx()*4])
			}
			if err := e.Copy(dst, src); err != nil {
				return err
			}
			if err := e.Frame(); err != nil {
				return err
			}
			continue
		}
		c := byte(rng.Uint32())
		for yy := r.Min.Y; yy < r.Max.Y; yy++ {
			for xx := r.Min.X; xx < r.Max.X; xx++ {
				o := f.img.PixOffset(xx, yy)
				f.img.Pix[o], f.img.Pix[o+1], f.img.Pix[o+2] = c, c^0x55, byte(xx)
			}
		}
		if err := e.Update(f.img, []image.Rectangle{r}); err != nil {
			return err
		}
	}
	close(f.painted)
	select {
	case <-ctx.Done():
		return nil
	case err := <-f.fail:
		return err
	}
}

func (f *fakeTarget) Input(in frame.Input) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	in.Text = append([]byte(nil), in.Text...)
	f.inputs = append(f.inputs, in)
	return nil
}

func (f *fakeTarget) Resize(w, h int) error { return errors.ErrUnsupported }

func (f *fakeTarget) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

// memRecorder keeps every event of the ring (a lossless reader, as the real recorder).
type memRecorder struct {
	startErr error
	discard  bool // keep nothing (benchmarks)
	mu       sync.Mutex
	events   []capture.Event
	cause    error
	done     chan struct{}
}

func (m *memRecorder) Start(ctx context.Context, info Info, ring *capture.Ring) (Recording, error) {
	if m.startErr != nil {
		return nil, m.startErr
	}
	rd := ring.NewReader(capture.Lossless)
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		defer rd.Close()
		for {
			ev, err := rd.Next(context.Background())
			if err != nil {
				return
			}
			if m.discard {
				continue
			}
			ev.Payload = append([]byte(nil), ev.Payload...)
			m.mu.Lock()
			m.events = append(m.events, ev)
			m.mu.Unlock()
		}
	}()
	return m, nil
}

func (m *memRecorder) Close(cause error) error {
	<-m.done
	m.mu.Lock()
	m.cause = cause
	m.mu.Unlock()
	return nil
}

func (m *memRecorder) snapshot() []capture.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]capture.Event(nil), m.events...)
}

func smallRing() capture.Config {
	return capture.Config{ArenaBytes: 4 << 20, Records: 4096, MaxRead: 64 << 10, StallTimeout: 5 * time.Second}
}

func startFake(t *testing.T, ft *fakeTarget, cfg Config) (*Session, *memRecorder) {
	t.Helper()
	rec := &memRecorder{}
	return startWith(t, ft, cfg, rec), rec
}

func startBench(b *testing.B, ft *fakeTarget, rec *memRecorder) *Session {
	return startWith(b, ft, Config{Ring: RingConfig()}, rec)
}

func startWith(t testing.TB, ft *fakeTarget, cfg Config, rec *memRecorder) *Session {
	t.Helper()
	cfg.Recorder = rec
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.Ring.MaxRead == 0 {
		cfg.Ring = smallRing()
	}
	s, err := Start(context.Background(), cfg, Info{User: "alice", Target: "desk1", Protocol: "vnc", Via: "test"}, ft)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.End(nil)
		<-s.Done()
	})
	return s
}

// follow applies the reader's damage to fb until the reader has delivered `frames` Frame events
// past the snapshot or the target's painting is over and the reader is idle. It returns false on
// an overrun.
func follow(t *testing.T, rd *capture.Reader, fb *frame.Framebuffer, painted <-chan struct{}) bool {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		ev, err := rd.Next(ctx)
		cancel()
		switch {
		case errors.Is(err, capture.ErrOverrun):
			return false
		case errors.Is(err, context.DeadlineExceeded):
			select {
			case <-painted:
				return true
			default:
				continue
			}
		case err != nil:
			t.Fatalf("reader: %v", err)
		}
		if ev.Type == capture.TypeDamage {
			if _, err := fb.Apply(ev.Payload); err != nil {
				t.Fatalf("apply seq %d: %v", ev.Seq, err)
			}
		}
	}
}

// TestAttachIsConsistent attaches viewers while the target paints (fills and scrolls) and checks
// each viewer, snapshot plus reader, ends pixel-identical to the target's own screen.
func TestAttachIsConsistent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{{"at once", 0}, {"mid-stream", 2 * time.Millisecond}, {"later", 20 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFakeTarget(97, 61, 3000)
			s, _ := startFake(t, ft, Config{})
			time.Sleep(tc.delay)
			for attempt := 0; ; attempt++ {
				img, rd, err := s.Attach()
				if err != nil {
					t.Fatal(err)
				}
				fb := frame.NewFramebuffer(1, 1)
				fb.Load(img)
				ok := follow(t, rd, fb, ft.painted)
				rd.Close()
				if !ok {
					if attempt > 20 {
						t.Fatal("overrun on every attempt")
					}
					continue
				}
				if !bytes.Equal(fb.Image().Pix, ft.img.Pix) {
					t.Fatal("viewer's screen differs from the target's")
				}
				break
			}
			// A late attach after painting is a snapshot only, and must also be exact.
			img, rd, err := s.Attach()
			if err != nil {
				t.Fatal(err)
			}
			rd.Close()
			if !bytes.Equal(img.Pix, ft.img.Pix) {
				t.Fatal("late snapshot differs from the target's screen")
			}
		})
	}
}

func key(down bool, sym uint32) frame.Input {
	return frame.Input{Kind: frame.InputKey, Down: down, Keysym: sym}
}

// TestInputRedaction: printable keys reach the target but the ring holds only redaction counts;
// control keys and pointer events are recorded; with KeysAll everything is.
func TestInputRedaction(t *testing.T) {
	typed := []frame.Input{key(true, 's'), key(false, 's'), key(true, '3'), key(false, '3'),
		key(true, 0xff0d), key(false, 0xff0d), {Kind: frame.InputPointer, X: 5, Y: 6, Buttons: frame.ButtonLeft},
		{Kind: frame.InputClipboard, Text: []byte("clip")}}
	for _, tc := range []struct {
		policy       KeyPolicy
		wantRedacted int
		wantInputs   int
	}{{KeysPrintableRedacted, 2, 4}, {KeysAll, 0, 8}} {
		ft := newFakeTarget(16, 16, 0)
		s, rec := startFake(t, ft, Config{Keys: tc.policy})
		for _, in := range typed {
			if err := s.Input(in); err != nil {
				t.Fatal(err)
			}
		}
		s.End(nil)
		<-s.Done()
		var redacted, inputs int
		for _, ev := range rec.snapshot() {
			switch ev.Type {
			case capture.TypeRedacted:
				n, err := capture.ParseRedacted(ev.Payload)
				if err != nil || n != 1 {
					t.Fatalf("redaction payload %v: %d %v", ev.Payload, n, err)
				}
				redacted++
			case capture.TypeInput:
				in, err := frame.ParseInput(ev.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if tc.policy == KeysPrintableRedacted && in.Printable() {
					t.Fatalf("printable key %#x recorded", in.Keysym)
				}
				inputs++
			}
		}
		if redacted != tc.wantRedacted || inputs != tc.wantInputs {
			t.Fatalf("policy %d: %d redactions, %d inputs; want %d, %d", tc.policy, redacted, inputs, tc.wantRedacted, tc.wantInputs)
		}
		ft.mu.Lock()
		got := len(ft.inputs)
		ft.mu.Unlock()
		if got != len(typed) {
			t.Fatalf("target got %d inputs, want %d", got, len(typed))
		}
		if !errors.Is(rec.cause, ErrUserExit) || !errors.Is(s.Err(), ErrUserExit) {
			t.Fatalf("cause %v / %v, want ErrUserExit", rec.cause, s.Err())
		}
	}
}

func TestLiveControls(t *testing.T) {
	reg := NewRegistry()
	var auditMu sync.Mutex
	var kinds []string
	ft := newFakeTarget(16, 16, 0)
	s, rec := startFake(t, ft, Config{Registry: reg, Audit: func(ev AuditEvent) {
		auditMu.Lock()
		kinds = append(kinds, ev.Kind)
		auditMu.Unlock()
	}})
	if l := reg.Sessions(); len(l) != 1 || l[0].ID != s.ID() || l[0].Protocol != "vnc" || l[0].Width != 16 {
		t.Fatalf("live list %+v", l)
	}
	if got, err := reg.Session(s.ID()); err != nil || got != s {
		t.Fatalf("get: %v", err)
	}
	if _, err := reg.Session("nope"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("get unknown: %v", err)
	}
	if err := s.Pause("", "x"); !errors.Is(err, ErrNoActor) {
		t.Fatalf("pause without actor: %v", err)
	}
	changed := s.Changed()
	if err := s.Pause("os:carol", "checking"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed not signalled by pause")
	}
	if err := s.Pause("os:carol", ""); !errors.Is(err, ErrAlreadyPaused) {
		t.Fatalf("second pause: %v", err)
	}
	if err := s.Input(key(true, 0xff0d)); !errors.Is(err, ErrPaused) {
		t.Fatalf("input while paused: %v", err)
	}
	if p, by, _ := s.Paused(); !p || by != "os:carol" || !reg.Sessions()[0].Paused {
		t.Fatal("not shown as paused")
	}
	if err := s.Resume("os:carol"); err != nil {
		t.Fatal(err)
	}
	if err := s.Resume("os:carol"); !errors.Is(err, ErrNotPaused) {
		t.Fatalf("second resume: %v", err)
	}
	if err := s.Input(key(true, 0xff0d)); err != nil {
		t.Fatalf("input after resume: %v", err)
	}
	if err := s.Terminate("os:carol", "policy\x1b[2J"); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	var te *TerminatedError
	if !errors.As(s.Err(), &te) || te.By != "os:carol" || te.Reason != "policy [2J" || !errors.Is(rec.cause, ErrTerminated) {
		t.Fatalf("cause %v / %v", s.Err(), rec.cause)
	}
	if err := s.Input(key(true, 0xff0d)); !errors.Is(err, ErrEnded) {
		t.Fatalf("input after end: %v", err)
	}
	if _, _, err := s.Attach(); !errors.Is(err, ErrEnded) {
		t.Fatalf("attach after end: %v", err)
	}
	if err := s.Terminate("x", ""); !errors.Is(err, ErrNoSession) {
		t.Fatalf("terminate after end: %v", err)
	}
	if len(reg.Sessions()) != 0 {
		t.Fatal("ended session still listed")
	}
	ft.mu.Lock()
	closed := ft.closed
	ft.mu.Unlock()
	if !closed {
		t.Fatal("target not closed")
	}
	var markers int
	for _, ev := range rec.snapshot() {
		if ev.Type == capture.TypeMarker {
			markers++
		}
	}
	if markers != 3 {
		t.Fatalf("%d markers, want pause, resume, terminate", markers)
	}
	auditMu.Lock()
	defer auditMu.Unlock()
	want := []string{AuditSessionStart, AuditPause, AuditResume, AuditTerminate, AuditSessionEnd}
	if len(kinds) != len(want) {
		t.Fatalf("audit %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("audit %v, want %v", kinds, want)
		}
	}
}

func TestTargetGoneAndRecorderRefusal(t *testing.T) {
	ft := newFakeTarget(8, 8, 0)
	s, rec := startFake(t, ft, Config{})
	boom := errors.New("connection reset")
	ft.fail <- boom
	<-s.Done()
	if !errors.Is(s.Err(), ErrTargetClosed) || !errors.Is(s.Err(), boom) || !errors.Is(rec.cause, ErrTargetClosed) {
		t.Fatalf("cause %v", s.Err())
	}

	ft2 := newFakeTarget(8, 8, 0)
	noStore := errors.New("spool full")
	_, err := Start(context.Background(), Config{Recorder: &memRecorder{startErr: noStore}, Ring: smallRing()}, Info{}, ft2)
	if !errors.Is(err, noStore) {
		t.Fatalf("start with a failing recorder: %v", err)
	}
	if !ft2.closed {
		t.Fatal("target left open after a refused start")
	}
}

func TestParseKeyPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want KeyPolicy
		ok   bool
	}{{"", KeysPrintableRedacted, true}, {"printable-redacted", KeysPrintableRedacted, true}, {"all", KeysAll, true}, {"none", 0, false}} {
		got, err := ParseKeyPolicy(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseKeyPolicy(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// failingRecorder fails the ring as the real recorder does when it cannot persist.
type failingRecorder struct {
	memRecorder
	ring *capture.Ring
}

func (f *failingRecorder) Start(ctx context.Context, info Info, ring *capture.Ring) (Recording, error) {
	f.ring = ring
	return f.memRecorder.Start(ctx, info, ring)
}

// TestRecordingFailureEndsSession: once the recording fails, nothing more is forwarded and the
// session ends with a recording-failure cause (fail closed).
func TestRecordingFailureEndsSession(t *testing.T) {
	ft := newFakeTarget(16, 16, 0)
	rec := &failingRecorder{}
	s, err := Start(context.Background(), Config{Recorder: rec, Ring: smallRing(), Logger: slog.New(slog.DiscardHandler)}, Info{}, ft)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Input(key(true, 0xff0d)); err != nil {
		t.Fatal(err)
	}
	rec.ring.Fail(fmt.Errorf("%w: disk full", ErrRecordingFailure))
	if err := s.Input(key(false, 0xff0d)); err == nil {
		t.Fatal("input accepted after the recording failed")
	}
	<-s.Done()
	if !errors.Is(s.Err(), ErrRecordingFailure) {
		t.Fatalf("cause %v, want a recording failure", s.Err())
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.inputs) != 1 {
		t.Fatalf("target got %d inputs, want only the recorded one", len(ft.inputs))
	}
}
