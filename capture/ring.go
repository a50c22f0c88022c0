package capture

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// record is one slot of the shared index. It holds no pointers, so the index costs the garbage
// collector nothing to scan however large it is.
type record struct {
	seq  uint64
	time time.Duration
	pos  uint64 // monotonic position of the payload in its producer's arena
	n    uint32 // payload length; for an inline record, the withheld byte count
	prod uint32 // index into Ring.producers
	ch   uint16
	typ  Type
	// inline records carry no arena bytes: the payload is built from n by the reader. Redaction
	// uses it so the withheld bytes are never referenced by the index at all.
	inline bool
}

// Ring is the capture ring of one session. Producers (one per direction) commit events into it;
// Readers consume them in one order. All methods are safe for concurrent use, but each Producer
// and each Reader belongs to one goroutine at a time.
//
// Locking: mu guards the index, the reader and producer sets and every wait/wake decision. It is
// held for bookkeeping only, never across a network read or a payload copy. Each producer's rw
// lock guards its reservation watermark against lossy readers' copies (see Reader.Next).
type Ring struct {
	cfg   Config
	start time.Time

	mu        sync.Mutex
	index     []record
	indexLow  uint64 // seqs below it are not in index (dropped when it grew)
	committed uint64 // seq of the next event; all below are committed
	closed    bool
	closedA   atomic.Bool // closed, readable without mu on the producer's fast path
	failure   error       // set by Fail: why the session must stop
	producers []*Producer
	lossless  []*Reader // open lossless readers: they hold producers back
	waiting   []*Reader // readers parked in Next, woken by the next commit or Close
	prodWait  int       // producers parked waiting for lossless readers
}

// New returns an empty ring whose clock starts now. It returns an error naming the bad field if
// cfg does not validate.
func New(cfg Config) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new ring: %w", err)
	}
	return &Ring{
		cfg:   cfg,
		start: time.Now(),
		index: make([]record, cfg.initialRecords()),
	}, nil
}

// Start returns the wall-clock start of the session clock: Event.Time is measured from it.
func (r *Ring) Start() time.Time { return r.start }

// Close ends the ring: producers get ErrClosed from then on; readers drain what is committed and
// then get io.EOF. Close is idempotent.
func (r *Ring) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.closedA.Store(true)
	r.wakeReadersLocked()
	r.wakeProducersLocked()
}

// Fail ends the ring because the session must stop (its recording cannot be persisted): like
// Close, but producers get an error wrapping cause instead of ErrClosed, so the proxy ends the
// session with that cause at its next read. Readers drain what is committed, then io.EOF.
func (r *Ring) Fail(cause error) {
	r.mu.Lock()
	if !r.closed && r.failure == nil {
		r.failure = cause
	}
	r.mu.Unlock()
	r.Close()
}

// Err returns the cause given to Fail, or nil.
func (r *Ring) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failure
}

// closedErr is the error a producer gets from a closed ring.
func (r *Ring) closedErr(op string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closedErrLocked(op)
}

func (r *Ring) closedErrLocked(op string) error {
	if r.failure != nil {
		return fmt.Errorf("capture: %s: %w: %w", op, ErrClosed, r.failure)
	}
	return fmt.Errorf("capture: %s: %w", op, ErrClosed)
}

// releasedLocked returns the lowest seq some open lossless reader still holds; every event below
// it may be overwritten. With no lossless reader, everything committed is released.
func (r *Ring) releasedLocked() uint64 {
	low := r.committed
	for _, rd := range r.lossless {
		if rd.floor < low {
			low = rd.floor
		}
	}
	return low
}

// wakeReadersLocked wakes every parked reader. The wake channels have room for one token, so a
// send never blocks and a token left by a reader that stopped waiting only causes a recheck.
func (r *Ring) wakeReadersLocked() {
	for i, rd := range r.waiting {
		rd.parked = false
		select {
		case rd.wake <- struct{}{}:
		default:
		}
		r.waiting[i] = nil
	}
	r.waiting = r.waiting[:0]
}

func (r *Ring) wakeProducersLocked() {
	if r.prodWait == 0 {
		return
	}
	for _, p := range r.producers {
		if p.parked {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
}
