package rdp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

// ConnectTimeout bounds the RDP handshake (TCP, security, licensing, capabilities) in Dial.
const ConnectTimeout = 30 * time.Second

// maxPending bounds the rectangles kept for Run between two emits; beyond it they merge into
// their bounding box, so a slow consumer costs pixels, never memory.
const maxPending = 256

// Session is one RDP connection through one worker process. It implements proxy/desktop's Target.
// Its methods are safe for concurrent use; Run is meant to be called once at a time.
type Session struct {
	opts   Options
	cmd    *exec.Cmd
	stderr *tail

	wmu   sync.Mutex
	stdin io.WriteCloser
	wbuf  []byte

	mu       sync.Mutex
	img      *image.RGBA
	gen      int // bumped by each desktop resize
	pending  []image.Rectangle
	caps     byte
	protocol uint32
	fp       []byte
	clip     []byte // the server's clipboard text not yet emitted
	hasClip  bool

	notify    chan struct{} // cap 1: pending has rectangles
	connected chan struct{}
	logon     chan struct{}
	logonOnce sync.Once
	done      chan struct{}
	cause     error
	endOnce   sync.Once

	exited  chan struct{}
	exitErr error
	hung    atomic.Bool
	closing atomic.Bool
	waiting atomic.Int64 // unix nanos since the reader waits for a frame; 0 while it handles one
	wg      sync.WaitGroup

	inMu    sync.Mutex
	buttons uint8
	px, py  int
}

// Dial starts a worker, connects it to the target and logs in with o's credential. It returns
// once the desktop is up and the logon is confirmed: by NLA, or by the server's logon
// notification (ErrLogon if none comes within o.LogonTimeout). Errors wrap ErrAuth, ErrLogon,
// ErrCertificate, ErrSecurity, ErrConnect, ErrWorker or the context's error. ctx bounds the dial
// only; the session lasts until Close or until the server or the worker ends it.
func Dial(ctx context.Context, o Options) (*Session, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	sec, _ := o.Security.wire()
	if debug {
		fmt.Fprintf(os.Stderr, "rdp: %s dial %s:%d\n", time.Now().Format("15:04:05.000"), o.Host, o.Port)
	}
	cmd, stdin, stdout, errTail, err := startWorker(o)
	if err != nil {
		return nil, err
	}
	s := &Session{
		opts: o, cmd: cmd, stdin: stdin, stderr: errTail,
		notify: make(chan struct{}, 1), connected: make(chan struct{}), logon: make(chan struct{}),
		done: make(chan struct{}), exited: make(chan struct{}),
	}
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	s.wg.Add(1)
	go s.read(stdout)
	if err := s.handshake(ctx, sec); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) handshake(ctx context.Context, sec byte) error {
	o := s.opts
	b := wire.AppendConnect(nil, wire.ConnectParams{
		Host: o.Host, Port: o.Port, User: o.User, Domain: o.Domain, Password: o.Password,
		Security: sec, Pin: o.Fingerprint, W: o.Width, H: o.Height,
	})
	err := s.write(b)
	clear(b)
	if err != nil {
		return err
	}
	target := fmt.Sprintf("%s:%d", o.Host, o.Port)
	t := time.NewTimer(ConnectTimeout)
	defer t.Stop()
	select {
	case <-s.connected:
	case <-s.done:
		return fmt.Errorf("rdp: dial %s: %w", target, s.cause)
	case <-ctx.Done():
		return fmt.Errorf("rdp: dial %s: %w", target, context.Cause(ctx))
	case <-t.C:
		return fmt.Errorf("rdp: dial %s: no desktop after %v: %w", target, ConnectTimeout, ErrConnect)
	}
	s.startWatchdog()
	s.mu.Lock()
	nla := s.protocol&(2|8) != 0 // PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX: CredSSP checked the credential
	s.mu.Unlock()
	if nla {
		return nil
	}
	t.Reset(o.LogonTimeout)
	select {
	case <-s.logon:
		return nil
	case <-s.done:
		return fmt.Errorf("rdp: dial %s: %w", target, s.cause)
	case <-ctx.Done():
		return fmt.Errorf("rdp: dial %s: %w", target, context.Cause(ctx))
	case <-t.C:
		return fmt.Errorf("rdp: dial %s: no logon notification in %v: %w", target, o.LogonTimeout, ErrLogon)
	}
}

// Size is the desktop size.
func (s *Session) Size() (w, h int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.img.Bounds()
	return b.Dx(), b.Dy()
}

// Fingerprint is the SHA-256 of the server certificate's DER, as seen in the handshake (nil with
// standard RDP security). With trust on first use the caller pins this value.
func (s *Session) Fingerprint() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.fp...)
}

// Pid is the worker's process id (for resource accounting).
func (s *Session) Pid() int { return s.cmd.Process.Pid }

// Done is closed when the session has ended; Err says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session ended, or nil while it runs.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.cause
	default:
		return nil
	}
}

// Run writes the screen into e: the size and the whole screen first, then each update the server
// completes, and the server's clipboard text (capture.TypeOutput, an InputClipboard payload). It returns nil when ctx ends, the session's cause when the session ends first, or
// the emitter's error.
func (s *Session) Run(ctx context.Context, e *frame.Emitter) error {
	gen := -1
	for {
		if err := s.emit(e, &gen); err != nil {
			return fmt.Errorf("rdp: emit: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return s.cause
		case <-s.notify:
		}
	}
}

// emit writes what changed since the last call. It holds mu throughout, so a consumer slower
// than the worker holds up the reader and, through the pipe, the worker: the recording never
// skips a frame it was shown.
func (s *Session) emit(e *frame.Emitter, gen *int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *gen != s.gen {
		*gen = s.gen
		s.pending = s.pending[:0]
		b := s.img.Bounds()
		if err := e.Size(b.Dx(), b.Dy()); err != nil {
			return err
		}
		return e.Update(s.img, []image.Rectangle{b})
	}
	if s.hasClip {
		s.hasClip = false
		in := frame.Input{Kind: frame.InputClipboard, Text: s.clip}
		if _, err := e.W.Write(capture.TypeOutput, 0, in.Append(nil)); err != nil {
			return err
		}
	}
	if len(s.pending) == 0 {
		return nil
	}
	err := e.Update(s.img, s.pending)
	s.pending = s.pending[:0]
	return err
}

// Input sends a key (by its scancode; ErrNoScancode without one), a pointer event, or clipboard
// text (offered to the server; it is dropped if the server has no clipboard channel).
func (s *Session) Input(in frame.Input) error {
	if err := s.Err(); err != nil {
		return err
	}
	switch in.Kind {
	case frame.InputKey:
		if in.Scancode == 0 {
			// A VNC viewer sends keysyms only: find the US-layout key that types it.
			in.Scancode, _ = frame.KeysymScancode(in.Keysym)
		}
		if in.Scancode == 0 || in.Scancode > 0x1ff {
			return fmt.Errorf("rdp: input: keysym %#x scancode %#x: %w", in.Keysym, in.Scancode, ErrNoScancode)
		}
		var b [3]byte
		if in.Down {
			b[0] = 1
		}
		binary.BigEndian.PutUint16(b[1:], in.Scancode)
		return s.write(wire.Append(nil, wire.Key, b[:]))
	case frame.InputPointer:
		s.inMu.Lock()
		defer s.inMu.Unlock()
		var msg []byte
		for _, ev := range pointerEvents(s.buttons, s.px, s.py, in) {
			msg = wire.Append(msg, wire.Pointer, u16s(int(ev.flags), ev.x, ev.y))
		}
		s.buttons, s.px, s.py = in.Buttons, in.X, in.Y
		if len(msg) == 0 {
			return nil
		}
		return s.write(msg)
	case frame.InputClipboard:
		if len(in.Text) > wire.MaxText {
			return fmt.Errorf("rdp: input: clipboard of %d bytes: %w", len(in.Text), frame.ErrMalformed)
		}
		return s.write(wire.Append(nil, wire.SetClip, in.Text))
	}
	return fmt.Errorf("rdp: input: kind %d: %w", in.Kind, frame.ErrMalformed)
}

// Resize asks the server for a w x h desktop through the display-control channel (the width is
// rounded down to even, as the channel requires). errors.ErrUnsupported if the server has not
// offered the channel. The new size arrives later, as a resize of the screen Run writes.
func (s *Session) Resize(w, h int) error {
	if w < 200 || h < 200 || w > 8192 || h > 8192 {
		return fmt.Errorf("rdp: resize %dx%d: out of 200..8192", w, h)
	}
	s.mu.Lock()
	ok := s.caps&wire.CapDisplayControl != 0
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("rdp: resize: no display control channel: %w", errors.ErrUnsupported)
	}
	return s.write(wire.Append(nil, wire.DoResize, u16s(w&^1, h)))
}

// Close ends the session and its worker and waits for them. It is safe to call more than once.
func (s *Session) Close() error {
	s.closing.Store(true)
	// Closing stdin asks the worker to disconnect and exit; a worker that does not within 2 s is
	// killed.
	_ = s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(2 * time.Second):
		_ = s.cmd.Process.Kill()
	}
	s.end(ErrClosed)
	s.wg.Wait()
	return nil
}

func (s *Session) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.stdin.Write(b); err != nil {
		// A broken pipe means the worker is gone: its exit, which the reader is about to see,
		// says more than EPIPE does.
		select {
		case <-s.done:
			return s.cause
		case <-time.After(2 * time.Second):
		}
		return fmt.Errorf("rdp: write to worker: %w", err)
	}
	return nil
}

// end records the first cause, wakes everyone and kills the worker (a no-op if it has exited).
func (s *Session) end(cause error) {
	s.endOnce.Do(func() {
		s.cause = cause
		close(s.done)
		_ = s.cmd.Process.Kill()
	})
}

func (s *Session) startWatchdog() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(s.opts.Watchdog / 4)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
			since := s.waiting.Load()
			if since != 0 && time.Since(time.Unix(0, since)) > s.opts.Watchdog {
				s.hung.Store(true)
				// Killing ends the reader's wait with EOF; it reports the cause.
				_ = s.cmd.Process.Kill()
				return
			}
		}
	}()
}

// exitCause explains a worker whose output ended without an Error frame, or broke the format.
func (s *Session) exitCause(readErr error) error {
	if errors.Is(readErr, ErrProtocol) {
		// A worker that breaks the format is not trusted to exit by itself.
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(2 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	switch {
	case s.hung.Load():
		return fmt.Errorf("%w: no frame for %v, killed", ErrWorkerHung, s.opts.Watchdog)
	case s.closing.Load():
		return ErrClosed
	case errors.Is(readErr, ErrProtocol):
		return fmt.Errorf("%w: %w", ErrWorker, readErr)
	}
	why := "exited"
	if s.exitErr != nil {
		why = s.exitErr.Error() // "signal: killed", "exit status 2"
	}
	if t := lastLine(s.stderr.String()); t != "" {
		why += " (" + t + ")"
	}
	return fmt.Errorf("%w: %s", ErrWorker, why)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func u16s(v ...int) []byte {
	b := make([]byte, 0, 2*len(v))
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, uint16(x))
	}
	return b
}
