package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
)

// Screen is a terminal screen model: fed a session's output, it repaints itself on demand.
// encode/term.Screen satisfies it. Its methods are called from one goroutine at a time.
type Screen interface {
	Write(p []byte) (int, error)
	Resize(cols, rows int)
	// Keyframe returns bytes that repaint the screen on a fresh terminal of the screen's size.
	Keyframe() []byte
}

// The emulator digests a few MB/s and a session can move hundreds, so, as encode/screen.go does
// for the recorder (both with capture.Budget), the live model is fed at most screenRate bytes a
// second (screenBurst at once);
// beyond that only the last tailBytes of output are kept and the model is rebuilt from them when a
// keyframe is asked for or the flood is over. A keyframe taken during a flood is approximate; the
// stream that follows it is exact.
const (
	screenRate  = 1 << 20
	screenBurst = 128 << 10
	tailBytes   = 16 << 10
	// shadowQueueBytes is what a shadow may have waiting before it is dropped to a resync: a
	// viewer further behind than this would rather see the screen as it is now.
	shadowQueueBytes = 256 << 10
)

// Chunk is one piece of a shadow's stream: terminal bytes to write to the viewer's terminal.
type Chunk struct {
	Data []byte
	// Keyframe says Data repaints the whole screen (the first chunk, and every resync); the
	// viewer's terminal should be Cols x Rows before writing it.
	Keyframe   bool
	Cols, Rows int
	// Time is when the output passed through the gateway (for a keyframe: when it was taken).
	Time time.Time
}

// hub follows one session's output off the hot path: one lossy ring reader feeds the screen
// model within its budget and fans output out to the shadows. The session is never slowed: the
// reader is lossy, and a hub that falls behind is overrun and rebuilds its model.
type hub struct {
	rd        *capture.Reader
	start     time.Time
	newScreen func(cols, rows int) Screen
	done      chan struct{}

	mu         sync.Mutex
	screen     Screen
	cols, rows int
	ch         int  // the channel followed; -1 until the first resize or output
	chByResize bool // ch was chosen by a pty's resize: output of other channels no longer moves it
	budget     *capture.Budget
	shadows    map[*Shadow]struct{}
	ended      bool
}

func startHub(ring *capture.Ring, cols, rows int, newScreen func(cols, rows int) Screen) *hub {
	if newScreen == nil {
		newScreen = newTailScreen
	}
	cols, rows = sane(cols, rows)
	h := &hub{
		rd: ring.NewReader(capture.Lossy), start: ring.Start(), newScreen: newScreen,
		done: make(chan struct{}), screen: newScreen(cols, rows), cols: cols, rows: rows, ch: -1,
		budget: capture.NewBudget(screenRate, screenBurst, tailBytes), shadows: make(map[*Shadow]struct{}),
	}
	go h.run()
	return h
}

// sane gives a session without a pty (or with a silly size) the classic terminal's size.
func sane(cols, rows int) (int, int) {
	if cols <= 0 || rows <= 0 || cols > 1000 || rows > 1000 {
		return 80, 24
	}
	return cols, rows
}

// run reads the ring until it is closed (the session's finish closes it), then ends every shadow.
func (h *hub) run() {
	defer close(h.done)
	defer h.rd.Close()
	for {
		ev, err := h.rd.Next(context.Background())
		switch {
		case errors.Is(err, capture.ErrOverrun):
			// Output was lost: the model is wrong until rebuilt from what follows.
			h.mu.Lock()
			h.budget.Lose()
			h.loseAllLocked()
			h.mu.Unlock()
			continue
		case err != nil:
			h.mu.Lock()
			h.ended = true
			for sh := range h.shadows {
				sh.signal()
			}
			h.mu.Unlock()
			return
		}
		h.mu.Lock()
		h.eventLocked(ev)
		h.mu.Unlock()
	}
}

func (h *hub) eventLocked(ev capture.Event) {
	switch ev.Type {
	case capture.TypeResize:
		cols, rows, err := capture.ParseResize(ev.Payload)
		if err != nil {
			return
		}
		if h.ch != int(ev.Channel) {
			if h.chByResize {
				return // another pty channel: the first one stays the one shown
			}
			// The first pty: follow it from a blank screen.
			h.ch, h.chByResize = int(ev.Channel), true
			h.cols, h.rows = sane(int(cols), int(rows))
			h.screen = h.newScreen(h.cols, h.rows)
			h.budget.Reset()
			h.loseAllLocked()
			return
		}
		h.chByResize = true
		h.cols, h.rows = sane(int(cols), int(rows))
		h.screen.Resize(h.cols, h.rows)
		// A viewer's terminal must change size too: a new keyframe carries the size.
		h.loseAllLocked()
	case capture.TypeOutput:
		if h.ch < 0 {
			h.ch = int(ev.Channel)
		}
		if int(ev.Channel) != h.ch {
			return
		}
		h.outputLocked(ev.Payload, h.start.Add(ev.Time))
	}
}

// outputLocked hands p to the model within the budget, or lets the budget keep it, and queues it
// for every shadow.
func (h *hub) outputLocked(p []byte, at time.Time) {
	resync, feed := h.budget.Offer(p, time.Now())
	if resync != nil {
		h.rebuildLocked(resync) // the flood is over
	}
	if feed {
		h.screen.Write(p)
	}
	if len(h.shadows) == 0 {
		return
	}
	// One copy shared by every shadow: chunks are read-only once queued.
	c := Chunk{Data: append([]byte(nil), p...), Time: at}
	for sh := range h.shadows {
		sh.pushLocked(c)
	}
}

// rebuildLocked makes the model anew from a tail of the output.
func (h *hub) rebuildLocked(tail []byte) {
	h.screen = h.newScreen(h.cols, h.rows)
	h.screen.Write(tail)
}

func (h *hub) keyframeLocked() Chunk {
	if tail := h.budget.Settle(); tail != nil {
		h.rebuildLocked(tail)
	}
	return Chunk{Data: h.screen.Keyframe(), Keyframe: true, Cols: h.cols, Rows: h.rows, Time: time.Now()}
}

func (h *hub) loseAllLocked() {
	for sh := range h.shadows {
		sh.loseLocked()
	}
}

func (h *hub) size() (cols, rows int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cols, h.rows
}

// Shadow is a read-only live view of a session's terminal, for one viewer. Its goroutine calls
// Next; Close may be called from any goroutine. Several shadows of one session are independent.
type Shadow struct {
	h    *hub
	wake chan struct{}
	stop func() bool

	// guarded by h.mu
	queue   []Chunk
	queued  int
	lost    bool // the viewer must be repainted: the next Next is a keyframe
	closed  bool
	resyncs int
}

func (h *hub) newShadow(ctx context.Context) (*Shadow, error) {
	sh := &Shadow{h: h, wake: make(chan struct{}, 1), lost: true}
	h.mu.Lock()
	if h.ended {
		h.mu.Unlock()
		return nil, fmt.Errorf("shadow: %w", ErrNoSession)
	}
	h.shadows[sh] = struct{}{}
	h.mu.Unlock()
	sh.stop = context.AfterFunc(ctx, sh.Close)
	return sh, nil
}

// Next returns the next chunk: first a keyframe of the screen as it is, then the session's
// output as it happens, and a fresh keyframe whenever this viewer fell more than
// shadowQueueBytes behind or the terminal was resized. It returns io.EOF once the session ended
// and everything queued was returned, ctx.Err() when ctx is done, and ErrNoSession after Close.
// Chunk.Data belongs to the caller but must not be modified: other shadows share it.
func (sh *Shadow) Next(ctx context.Context) (Chunk, error) {
	h := sh.h
	for {
		h.mu.Lock()
		switch {
		case sh.closed:
			h.mu.Unlock()
			return Chunk{}, fmt.Errorf("shadow: closed: %w", ErrNoSession)
		case sh.lost && !h.ended:
			c := h.keyframeLocked()
			sh.lost = false
			h.mu.Unlock()
			return c, nil
		case len(sh.queue) > 0:
			c := sh.queue[0]
			sh.queue[0] = Chunk{}
			sh.queue = sh.queue[1:]
			sh.queued -= len(c.Data)
			h.mu.Unlock()
			return c, nil
		case h.ended:
			h.mu.Unlock()
			return Chunk{}, io.EOF
		}
		h.mu.Unlock()
		select {
		case <-sh.wake:
		case <-ctx.Done():
			return Chunk{}, ctx.Err()
		}
	}
}

// Resyncs is how many times this viewer fell behind (or the terminal was resized) and was
// repainted from a keyframe, not counting the first.
func (sh *Shadow) Resyncs() int {
	sh.h.mu.Lock()
	defer sh.h.mu.Unlock()
	return sh.resyncs
}

// Close detaches the shadow; a blocked Next returns. Close is idempotent.
func (sh *Shadow) Close() {
	h := sh.h
	h.mu.Lock()
	sh.closed = true
	sh.queue = nil
	delete(h.shadows, sh)
	h.mu.Unlock()
	if sh.stop != nil {
		sh.stop()
	}
	sh.signal()
}

func (sh *Shadow) pushLocked(c Chunk) {
	if sh.lost || sh.closed {
		return // a keyframe will cover it
	}
	if sh.queued+len(c.Data) > shadowQueueBytes {
		sh.loseLocked()
		return
	}
	sh.queue = append(sh.queue, c)
	sh.queued += len(c.Data)
	sh.signal()
}

func (sh *Shadow) loseLocked() {
	if !sh.lost {
		sh.resyncs++
	}
	sh.lost, sh.queue, sh.queued = true, nil, 0
	sh.signal()
}

func (sh *Shadow) signal() {
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// tailScreen is the model used when Config.NewScreen is nil: it keeps the last tailBytes of
// output and replays them after a reset. Good enough to show a shell prompt and the last
// commands; wrong for full-screen programs, which is why cmd wires a real emulator.
type tailScreen struct{ tail []byte }

func newTailScreen(int, int) Screen { return &tailScreen{} }

func (t *tailScreen) Write(p []byte) (int, error) {
	t.tail = capture.AppendTail(t.tail, p, tailBytes)
	return len(p), nil
}
func (t *tailScreen) Resize(int, int) {}
func (t *tailScreen) Keyframe() []byte {
	return append([]byte("\x1bc"), t.tail...)
}
