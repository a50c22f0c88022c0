package encode

import (
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// The terminal emulator (vt10x) digests about 3 MB/s on this machine class and allocates per byte,
// while a session can move hundreds of MB/s. So it works off the recorder's path, on a budget
// (capture.Budget, shared with the live shadows' screen model in proxy/ssh):
// it is fed at most screenRate bytes a second on average (screenBurst at once). Output beyond the
// budget is not emulated; only its last tailBytes are kept, and the emulator resyncs from that tail
// (a fresh screen fed the tail) when a keyframe is asked for or the flood is over. The event
// records stay complete whatever happens here; only a keyframe taken during a flood is
// approximate, and it is made from the last tailBytes of output, which is what fills a screen.
const (
	screenRate  = 1 << 20
	screenBurst = 128 << 10
	tailBytes   = 16 << 10
)

type screenMsg struct {
	data       []byte
	cols, rows int         // resize, or the size of a resync
	reply      chan []byte // keyframe request
	resync     bool        // reset the screen and replay data (a tail of the output)
}

// screenWorker owns the terminal emulator of one recording.
type screenWorker struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []screenMsg
	budget   *capture.Budget
	nresync  int
	done     bool
	finished chan struct{}
	cols     int
	rows     int
}

// startScreen and resize clamp the size as term.Screen does (1..term.MaxSide a side): the size of a
// resync comes from here, and a recording made before the gateway bounded sizes may carry any.
func startScreen(cols, rows int) *screenWorker {
	cols, rows = term.Clamp(cols, rows)
	w := &screenWorker{finished: make(chan struct{}), cols: cols, rows: rows,
		budget: capture.NewBudget(screenRate, screenBurst, tailBytes)}
	w.cond = sync.NewCond(&w.mu)
	go w.run(term.NewScreen(cols, rows))
	return w
}

func (w *screenWorker) run(s *term.Screen) {
	defer close(w.finished)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.done {
			w.cond.Wait()
		}
		if len(w.queue) == 0 && w.done {
			w.mu.Unlock()
			return
		}
		m := w.queue[0]
		w.queue[0] = screenMsg{}
		w.queue = w.queue[1:]
		w.mu.Unlock()
		switch {
		case m.resync:
			s = term.NewScreen(m.cols, m.rows)
			s.Write(m.data)
		case m.reply != nil:
			m.reply <- s.Keyframe()
		case m.cols > 0:
			s.Resize(m.cols, m.rows)
		default:
			s.Write(m.data)
		}
	}
}

// output hands a copy of p to the emulator within the budget, or lets the budget keep it.
func (w *screenWorker) output(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	resync, feed := w.budget.Offer(p, time.Now())
	if resync != nil {
		w.resyncLocked(resync) // the flood is over
	}
	if feed {
		w.push(screenMsg{data: append([]byte(nil), p...)})
	}
}

func (w *screenWorker) resyncLocked(tail []byte) {
	w.push(screenMsg{data: tail, resync: true, cols: w.cols, rows: w.rows})
	w.nresync++
}

func (w *screenWorker) push(m screenMsg) {
	w.queue = append(w.queue, m)
	w.cond.Signal()
}

func (w *screenWorker) resize(cols, rows int) {
	cols, rows = term.Clamp(cols, rows)
	w.mu.Lock()
	w.cols, w.rows = cols, rows
	w.push(screenMsg{cols: cols, rows: rows})
	w.mu.Unlock()
}

// keyframe asks for the screen as it stands after all output handed over so far. The answer
// arrives on the returned channel once the emulator has worked through its queue, which the
// budget bounds to screenBurst+tailBytes bytes (about 50 ms); the caller need not wait for it.
func (w *screenWorker) keyframe() <-chan []byte {
	reply := make(chan []byte, 1)
	w.mu.Lock()
	if tail := w.budget.Settle(); tail != nil {
		w.resyncLocked(tail)
	}
	w.push(screenMsg{reply: reply})
	w.mu.Unlock()
	return reply
}

func (w *screenWorker) resyncs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nresync
}

func (w *screenWorker) stop() {
	w.mu.Lock()
	w.done = true
	w.cond.Signal()
	w.mu.Unlock()
	<-w.finished
}
