package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
)

// ErrDropped is returned by Feed.Close when the feed dropped events (its queue was full or its
// reader was overrun): the session is marked for catch-up and must be indexed again from its
// stored recording with IndexRecording once the recording is complete.
var ErrDropped = errors.New("index: live feed dropped events")

// Limits of a live feed.
const (
	// MaxQueueBytes bounds the payload bytes a feed holds for its worker. The emulator digests a
	// few MB/s; a session faster than that for long fills the queue, and the feed drops rather
	// than slow the session.
	MaxQueueBytes = 4 << 20
	// idleFlush is how long a live session stays quiet before its settled screen and open chunks
	// are indexed, so a search finds what a running session showed a moment ago.
	idleFlush = 3 * time.Second
)

// Feed indexes one running session from its events. Event never blocks; a worker goroutine owned
// by the feed runs the extractor and hands chunks to the index's writer. Close ends it.
type Feed struct {
	ix *Index
	s  SessionInfo

	mu      sync.Mutex
	queue   []queued
	qbytes  int
	dropped bool
	closing bool
	chans   encode.Channels
	wake    chan struct{}
	done    chan struct{}
	err     error
}

type queued struct {
	t       time.Duration
	typ     capture.Type
	payload []byte
}

// Feed starts indexing a running session whose terminal is cols x rows.
func (ix *Index) Feed(s SessionInfo, cols, rows int) *Feed {
	f := &Feed{ix: ix, s: s, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go f.run(cols, rows)
	return f
}

// Event queues a copy of ev for the worker. It never blocks. It returns false once the feed has
// dropped events (now or before): the rest of the session is left to catch-up.
func (f *Feed) Event(ev capture.Event) bool {
	if ev.Type == capture.TypeRedacted {
		return true // a count of withheld bytes: nothing to index, and nothing to leak
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dropped || f.closing || !f.chans.Terminal(ev) {
		return !f.dropped // file transfers and forwarded ports are not screen text
	}
	if f.qbytes+len(ev.Payload) > MaxQueueBytes {
		f.dropLocked()
		return false
	}
	f.queue = append(f.queue, queued{t: ev.Time, typ: ev.Type, payload: append([]byte(nil), ev.Payload...)})
	f.qbytes += len(ev.Payload)
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return true
}

// Drop gives up on live indexing of the session (its ring reader was overrun, say) and marks it
// for catch-up.
func (f *Feed) Drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropLocked()
}

func (f *Feed) dropLocked() {
	if f.dropped {
		return
	}
	f.dropped = true
	f.queue, f.qbytes = nil, 0
	if err := f.ix.setCatchUp(f.s.ID, true); err != nil {
		f.err = err
	}
}

// Close indexes what is queued and waits for it to be committed. It returns ErrDropped when the
// session needs catch-up from its recording, or the index's error.
func (f *Feed) Close() error {
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.dropped {
		return fmt.Errorf("session %s: %w", f.s.ID, ErrDropped)
	}
	return nil
}

func (f *Feed) run(cols, rows int) {
	defer close(f.done)
	ch := newChunker(f.s, func(id string, doc map[string]any) { f.ix.live.index(id, doc) })
	x := NewExtractor(cols, rows, ch.add)
	idle := time.NewTimer(idleFlush)
	defer idle.Stop()
	for {
		select {
		case <-f.wake:
		case <-idle.C:
			x.Settle()
			ch.flush()
			continue
		}
		f.mu.Lock()
		batch, closing, dropped := f.queue, f.closing, f.dropped
		f.queue, f.qbytes = nil, 0
		f.mu.Unlock()
		if !dropped {
			for _, q := range batch {
				x.Event(q.t, q.typ, q.payload)
			}
		}
		if closing {
			if !dropped {
				x.Flush(x.now)
				ch.flush()
			}
			if err := f.ix.live.sync(); err != nil {
				f.mu.Lock()
				f.err = err
				f.mu.Unlock()
			}
			return
		}
		idle.Reset(idleFlush)
	}
}

// writer gathers the live feeds' chunks into batches: one commit for many sessions' chunks, at
// most a second after the first of them arrived.
type writer struct {
	ops  chan writeOp
	done chan struct{}
}

type writeOp struct {
	id   string
	doc  map[string]any
	sync chan error // a sync request: commit, then answer
}

func startWriter(ctx context.Context, bi bleve.Index) *writer {
	w := &writer{ops: make(chan writeOp, batchDocs), done: make(chan struct{})}
	go w.run(ctx, bi)
	return w
}

func (w *writer) index(id string, doc map[string]any) {
	select {
	case w.ops <- writeOp{id: id, doc: doc}:
	case <-w.done:
	}
}

// sync commits what was handed over before it, returning the commit's error.
func (w *writer) sync() error {
	reply := make(chan error, 1)
	select {
	case w.ops <- writeOp{sync: reply}:
	case <-w.done:
		return ErrClosed
	}
	select {
	case err := <-reply:
		return err
	case <-w.done:
		return ErrClosed
	}
}

func (w *writer) wait() { <-w.done }

func (w *writer) run(ctx context.Context, bi bleve.Index) {
	defer close(w.done)
	b := bi.NewBatch()
	var err error // sticky until reported to a sync
	commit := func() {
		if b.Size() > 0 {
			if cerr := bi.Batch(b); cerr != nil && err == nil {
				err = cerr
			}
			b.Reset()
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// Take what is already queued, then stop.
			for {
				select {
				case op := <-w.ops:
					if op.sync != nil {
						commit()
						op.sync <- err
					} else if ierr := b.Index(op.id, op.doc); ierr != nil && err == nil {
						err = ierr
					}
				default:
					commit()
					return
				}
			}
		case <-tick.C:
			commit()
		case op := <-w.ops:
			if op.sync != nil {
				commit()
				op.sync <- err
				err = nil
				continue
			}
			if ierr := b.Index(op.id, op.doc); ierr != nil && err == nil {
				err = ierr
			}
			if b.Size() >= batchDocs {
				commit()
			}
		}
	}
}
