package capture

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// Mode is how a Reader relates to the producers.
type Mode uint8

const (
	// Lossless readers see every event; producers wait for them (up to StallTimeout).
	Lossless Mode = iota
	// Lossy readers never slow producers down; when overrun they get ErrOverrun and skip ahead.
	Lossy
)

// Reader consumes a ring's events in commit order. A Reader belongs to one goroutine.
type Reader struct {
	r    *Ring
	mode Mode
	next uint64 // seq of the next event to return

	// guarded by Ring.mu
	floor  uint64 // lossless: lowest seq this reader still holds (its payload is in use)
	parked bool
	closed bool

	wake  chan struct{}
	buf   []byte  // lossy: the reader's own copy of the current payload
	small [4]byte // payload of inline (redacted) events
}

// NewReader returns a reader that starts at the next event to be committed.
func (r *Ring) NewReader(m Mode) *Reader {
	rd := &Reader{r: r, mode: m, wake: make(chan struct{}, 1)}
	if m == Lossy {
		rd.buf = make([]byte, r.cfg.MaxRead)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rd.next = r.committed
	rd.floor = r.committed
	if m == Lossless {
		r.lossless = append(r.lossless, rd)
	}
	return rd
}

// Next returns the next event. It blocks until there is one, ctx is done (ctx.Err()), or the
// ring is closed and this reader has drained it (io.EOF). After the reader's Close it returns
// ErrClosed.
//
// Lossless: Payload is a slice of ring memory, valid until the reader's next Next or Close;
// calling Next releases the previous event to its producer.
//
// Lossy: Payload is the reader's own copy, valid until its next Next. The copy is what makes a
// lossy reader safe: producers never wait for it, so ring memory may be overwritten at any time
// after the reader learns of an event. The copy is taken under the producer's read lock after
// checking the bytes are not reclaimed; the producer takes the write lock only to publish a new
// reservation, never across its network read, so both sides hold it for nanoseconds. If the
// reader's position was overwritten, Next returns ErrOverrun once and moves the reader to the
// newest event committed at that moment; compare Event.Seq with a snapshot's to resync.
func (rd *Reader) Next(ctx context.Context) (Event, error) {
	r := rd.r
	r.mu.Lock()
	if rd.closed {
		r.mu.Unlock()
		return Event{}, fmt.Errorf("capture: next: %w", ErrClosed)
	}
	if rd.mode == Lossless && rd.floor != rd.next {
		rd.floor = rd.next
		r.wakeProducersLocked()
	}
	for rd.next == r.committed {
		if r.closed {
			r.mu.Unlock()
			return Event{}, io.EOF
		}
		if err := rd.parkLocked(ctx); err != nil {
			r.mu.Unlock()
			return Event{}, err
		}
		if rd.closed {
			r.mu.Unlock()
			return Event{}, fmt.Errorf("capture: next: %w", ErrClosed)
		}
	}
	if rd.mode == Lossy && (r.committed-rd.next > uint64(len(r.index)) || rd.next < r.indexLow) {
		rd.next = r.committed - 1
		r.mu.Unlock()
		return Event{}, ErrOverrun
	}
	rec := r.index[rd.next%uint64(len(r.index))]
	p := r.producers[rec.prod]
	var held []byte
	if rd.mode == Lossless && !rec.inline {
		// Held by this reader's floor: the producer cannot reuse these bytes until the next Next.
		// Resolved under Ring.mu because a growing arena swaps arena and mapping under it; the
		// slice stays valid after a later swap because the old array is never written again.
		off := p.off(rec.pos)
		held = p.arena[off : off+uint64(rec.n) : off+uint64(rec.n)]
	}
	r.mu.Unlock()

	ev := Event{Seq: rec.seq, Time: rec.time, Type: rec.typ, Channel: rec.ch}
	switch {
	case rec.inline:
		binary.BigEndian.PutUint32(rd.small[:], rec.n)
		ev.Payload = rd.small[:]
	case rd.mode == Lossless:
		ev.Payload = held
	default:
		if !p.copyOut(rd.buf, rec.pos, rec.n) {
			r.mu.Lock()
			rd.next = r.committed - 1
			r.mu.Unlock()
			return Event{}, ErrOverrun
		}
		ev.Payload = rd.buf[:rec.n:rec.n]
	}
	rd.next++
	return ev, nil
}

// parkLocked waits, with Ring.mu dropped, for a commit, a Close or ctx.
func (rd *Reader) parkLocked(ctx context.Context) error {
	r := rd.r
	if !rd.parked {
		rd.parked = true
		r.waiting = append(r.waiting, rd)
	}
	r.mu.Unlock()
	var err error
	select {
	case <-rd.wake:
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.mu.Lock()
	return err
}

// copyOut copies arena bytes [pos, pos+n) into dst unless the producer has reserved them since
// or they were left behind when the arena grew.
func (p *Producer) copyOut(dst []byte, pos uint64, n uint32) bool {
	p.rw.RLock()
	defer p.rw.RUnlock()
	if pos < p.base || pos+p.size < p.resEnd {
		return false
	}
	off := p.off(pos)
	copy(dst, p.arena[off:off+uint64(n)])
	return true
}

// Close releases everything the reader holds; a closed lossless reader no longer holds producers
// back. Next then returns ErrClosed. Close is idempotent and may be called from any goroutine,
// and it wakes a Next that is blocked.
func (rd *Reader) Close() {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if rd.closed {
		return
	}
	rd.closed = true
	if rd.mode == Lossless {
		for i, x := range r.lossless {
			if x == rd {
				last := len(r.lossless) - 1
				r.lossless[i] = r.lossless[last]
				r.lossless[last] = nil
				r.lossless = r.lossless[:last]
				break
			}
		}
		r.wakeProducersLocked()
	}
	select {
	case rd.wake <- struct{}{}:
	default:
	}
}
