package encode

import (
	"sync"

	"github.com/seed18fc72c3/vigil/encode/term"
)

// screenBudget is how much output may wait for the terminal emulator. The emulator runs at about
// 10 MB/s (DESIGN.md) while a session can move hundreds of MB/s, so it works off the recorder's path:
// output is copied into a bounded queue, and when the queue is full the oldest output is dropped and
// the emulator later resyncs from the last tailBytes of output. The event records stay complete
// whatever happens here; only a keyframe made during a flood may be approximate.
const (
	screenBudget = 1 << 20
	tailBytes    = 64 << 10
)

type screenMsg struct {
	data       []byte
	cols, rows int         // resize when non-zero
	reply      chan []byte // keyframe request
	resync     bool        // reset the screen and replay data (a tail of the output)
}

// screenWorker owns the terminal emulator of one recording.
type screenWorker struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []screenMsg
	queued   int // bytes of output in queue
	dropping bool
	tail     []byte // the last tailBytes of output, kept while dropping
	nresync  int
	done     bool
	finished chan struct{}
	cols     int
	rows     int
}

func startScreen(cols, rows int) *screenWorker {
	w := &screenWorker{finished: make(chan struct{}), cols: cols, rows: rows}
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
		w.queued -= len(m.data)
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

// output queues a copy of p for the emulator, or keeps it in the tail when over budget.
func (w *screenWorker) output(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropping || w.queued+len(p) > screenBudget {
		if !w.dropping {
			w.dropping = true
			w.tail = w.tail[:0]
		}
		w.tail = appendTail(w.tail, p)
		if w.queued < screenBudget/2 {
			// The emulator has caught up enough: resync it from the tail.
			w.push(screenMsg{data: append([]byte(nil), w.tail...), resync: true, cols: w.cols, rows: w.rows})
			w.dropping = false
			w.nresync++
		}
		return
	}
	w.push(screenMsg{data: append([]byte(nil), p...)})
}

func appendTail(tail, p []byte) []byte {
	if len(p) >= tailBytes {
		return append(tail[:0], p[len(p)-tailBytes:]...)
	}
	if over := len(tail) + len(p) - tailBytes; over > 0 {
		tail = append(tail[:0], tail[over:]...)
	}
	return append(tail, p...)
}

func (w *screenWorker) push(m screenMsg) {
	w.queue = append(w.queue, m)
	w.queued += len(m.data)
	w.cond.Signal()
}

func (w *screenWorker) resize(cols, rows int) {
	w.mu.Lock()
	w.cols, w.rows = cols, rows
	w.push(screenMsg{cols: cols, rows: rows})
	w.mu.Unlock()
}

// keyframe returns the screen as it stands after all output queued so far. It waits for the
// emulator to work through its queue, which the budget bounds (about 0.1 s at 10 MB/s).
func (w *screenWorker) keyframe() []byte {
	reply := make(chan []byte, 1)
	w.mu.Lock()
	if w.dropping {
		w.push(screenMsg{data: append([]byte(nil), w.tail...), resync: true, cols: w.cols, rows: w.rows})
		w.dropping = false
		w.nresync++
	}
	w.push(screenMsg{reply: reply})
	w.mu.Unlock()
	return <-reply
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
