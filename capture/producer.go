package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"
)

// Producer commits the events of one direction of a session. Its arena is a circular byte
// buffer written only by the producer, so a network read lands in ring memory without a lock.
// A Producer is not safe for concurrent use: give each direction its own.
type Producer struct {
	r  *Ring
	id uint32
	// arena, size and base change only when the arena grows, under Ring.mu and rw together, so a
	// reader holding either lock sees one consistent triple; the producer reads them without a lock
	// because it is their only writer. Position pos lives at arena[(pos-base)%size].
	arena []byte
	size  uint64 // len(arena)
	base  uint64 // lowest position the current arena holds

	head  uint64 // monotonic position where the next reservation starts (before any wrap skip)
	limit uint64 // reservations must end at or below limit; a lower bound, only ever raised

	// own lists this producer's committed events that may still be held by lossless readers,
	// oldest first, as a circular queue; it tells the producer where its oldest held byte is.
	own      []ownRec
	ownFirst int
	ownLen   int

	// secret is the arena region of the last ReadEventRedacted, cleared on the next call so the
	// withheld bytes do not linger in ring memory.
	secret []byte

	rw      sync.RWMutex
	resEnd  uint64 // guarded by rw: end of the latest reservation; bytes below resEnd-size are gone
	parked  bool   // guarded by Ring.mu
	wake    chan struct{}
	timer   *time.Timer
	scratch [4]byte
}

type ownRec struct {
	seq uint64
	pos uint64
}

// NewProducer adds a producer with its own arena of Config.InitialArenaBytes; the arena grows
// on demand up to Config.ArenaBytes (see Config).
func (r *Ring) NewProducer() *Producer {
	size := r.cfg.initialArena()
	p := &Producer{
		r:     r,
		arena: make([]byte, size),
		size:  uint64(size),
		limit: uint64(size),
		own:   make([]ownRec, min(initialOwn, r.cfg.Records)),
		wake:  make(chan struct{}, 1),
		timer: time.NewTimer(time.Hour),
	}
	p.timer.Stop()
	r.mu.Lock()
	p.id = uint32(len(r.producers))
	r.producers = append(r.producers, p)
	r.mu.Unlock()
	return p
}

// ReadEvent does one src.Read straight into the arena, commits the bytes as an event of type t on
// channel ch and returns it. The caller forwards ev.Payload to the other side; it stays valid
// until this producer's next ReadEvent, ReadEventRedacted or Write.
//
// Like io.Reader, a read may return bytes and an error together: the event is then committed and
// returned with src's error. A read of 0 bytes commits nothing and returns an empty Event with
// src's error (nil if src returned 0, nil).
//
// Before reading it waits for lossless readers to release arena space; after StallTimeout it
// returns ErrStalled and the session must end. After Ring.Close it returns ErrClosed.
func (p *Producer) ReadEvent(src io.Reader, t Type, ch uint16) (Event, error) {
	buf, pos, err := p.readArena(src)
	if len(buf) == 0 {
		return Event{}, err
	}
	ev, cerr := p.commit(t, ch, pos, buf, false)
	if cerr != nil {
		return Event{}, cerr
	}
	p.head = pos + uint64(len(buf))
	return ev, err
}

// ReadEventRedacted is ReadEvent(src, TypeInput, ch) for input that must not be recorded, such as
// what a user types at a password prompt. The bytes are read into the arena and returned as
// forward, valid until the producer's next call, but the committed event is TypeRedacted with the
// 4-byte count as payload (see ParseRedacted). The index never points at the withheld bytes, so
// no reader, lossless or lossy, can obtain them, and the producer clears them on its next call.
func (p *Producer) ReadEventRedacted(src io.Reader, ch uint16) (forward []byte, ev Event, err error) {
	buf, pos, err := p.readArena(src)
	if len(buf) == 0 {
		return nil, Event{}, err
	}
	ev, cerr := p.commit(TypeRedacted, ch, pos, buf, true)
	if cerr != nil {
		clear(buf)
		return nil, Event{}, cerr
	}
	// head stays put: the region is not referenced by any record and is reused by the next call.
	p.secret = buf
	return buf, ev, err
}

// Write commits a copy of payload as an event (control events, markers). The returned event's
// Payload is ring memory, valid until the producer's next call. Payloads longer than
// Config.MaxRead return ErrTooLarge; waiting and errors are as for ReadEvent.
func (p *Producer) Write(t Type, ch uint16, payload []byte) (Event, error) {
	if len(payload) > p.r.cfg.MaxRead {
		return Event{}, fmt.Errorf("capture: write %d bytes: %w", len(payload), ErrTooLarge)
	}
	p.clearSecret()
	pos, err := p.reserve(len(payload))
	if err != nil {
		return Event{}, err
	}
	off := p.off(pos)
	buf := p.arena[off : off+uint64(len(payload)) : off+uint64(len(payload))]
	copy(buf, payload)
	ev, err := p.commit(t, ch, pos, buf, false)
	if err != nil {
		return Event{}, err
	}
	p.head = pos + uint64(len(buf))
	return ev, nil
}

// readArena reserves MaxRead bytes and does one read into them. The returned slice is capped
// at its length so a caller cannot reslice into neighbouring events.
func (p *Producer) readArena(src io.Reader) ([]byte, uint64, error) {
	p.clearSecret()
	pos, err := p.reserve(p.r.cfg.MaxRead)
	if err != nil {
		return nil, 0, err
	}
	off := p.off(pos)
	n, err := src.Read(p.arena[off : off+uint64(p.r.cfg.MaxRead)])
	if n < 0 || n > p.r.cfg.MaxRead {
		return nil, 0, fmt.Errorf("capture: read returned %d bytes", n)
	}
	return p.arena[off : off+uint64(n) : off+uint64(n)], pos, err
}

func (p *Producer) clearSecret() {
	if p.secret != nil {
		clear(p.secret)
		p.secret = nil
	}
}

// reserve returns the position of need contiguous arena bytes that no lossless reader holds,
// growing the arena first if that avoids a wait, and publishes the reservation so lossy readers
// stop trusting the bytes about to be overwritten.
func (p *Producer) reserve(need int) (uint64, error) {
	pos, end := p.place(need)
	if end > p.limit {
		var err error
		if pos, end, err = p.waitSpace(need); err != nil {
			return 0, err
		}
	} else if p.r.isClosed() {
		return 0, p.r.closedErr("reserve")
	}
	if end > p.resEnd {
		p.rw.Lock()
		p.resEnd = end
		p.rw.Unlock()
	}
	return pos, nil
}

func (r *Ring) isClosed() bool { return r.closedA.Load() }

// off maps a position held by the current arena to its offset.
func (p *Producer) off(pos uint64) uint64 { return (pos - p.base) % p.size }

// place returns where a reservation of need bytes goes in the current arena: at head, or at the
// arena's start when less than need is left before its end, so a payload is never split.
func (p *Producer) place(need int) (pos, end uint64) {
	pos = p.head
	if room := p.size - p.off(pos); room < uint64(need) {
		pos += room
	}
	return pos, pos + uint64(need)
}

// waitSpace finds room for a reservation of need bytes that is free of held bytes: it grows the
// arena while it is below Config.ArenaBytes, and only then waits for lossless readers.
func (p *Producer) waitSpace(need int) (pos, end uint64, err error) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	var deadline time.Time
	for {
		if r.closed {
			return 0, 0, r.closedErrLocked("reserve")
		}
		p.refreshLimitLocked()
		if pos, end = p.place(need); end <= p.limit {
			return pos, end, nil
		}
		if p.size < uint64(r.cfg.ArenaBytes) {
			p.growArenaLocked()
			continue
		}
		if err := p.parkLocked(&deadline); err != nil {
			return 0, 0, fmt.Errorf("capture: reserve %d bytes: %w", end-p.head, err)
		}
	}
}

// refreshLimitLocked drops own events every lossless reader has released and raises limit to
// one arena length past the oldest byte still held.
func (p *Producer) refreshLimitLocked() {
	released := p.r.releasedLocked()
	for p.ownLen > 0 && p.own[p.ownFirst].seq < released {
		p.ownFirst++
		if p.ownFirst == len(p.own) {
			p.ownFirst = 0
		}
		p.ownLen--
	}
	tail := p.head
	if p.ownLen > 0 {
		tail = p.own[p.ownFirst].pos
	}
	if l := tail + p.size; l > p.limit {
		p.limit = l
	}
}

// parkLocked sleeps until a lossless reader releases something, the ring closes or the stall
// deadline (set on the first call of one wait) passes. It drops Ring.mu while asleep.
func (p *Producer) parkLocked(deadline *time.Time) error {
	now := time.Now()
	if deadline.IsZero() {
		*deadline = now.Add(p.r.cfg.StallTimeout)
	}
	left := deadline.Sub(now)
	if left <= 0 {
		return ErrStalled
	}
	r := p.r
	p.parked = true
	r.prodWait++
	r.mu.Unlock()
	p.timer.Reset(left)
	select {
	case <-p.wake:
	case <-p.timer.C:
	}
	p.timer.Stop()
	r.mu.Lock()
	p.parked = false
	r.prodWait--
	return nil
}

// commit appends the event to the index, growing it or, at Config.Records, waiting for a free
// slot if lossless readers hold all of them, and wakes parked readers.
func (p *Producer) commit(t Type, ch uint16, pos uint64, buf []byte, inline bool) (Event, error) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	var deadline time.Time
	for {
		if r.closed {
			return Event{}, r.closedErrLocked("commit")
		}
		if r.committed-r.releasedLocked() < uint64(len(r.index)) {
			break
		}
		if len(r.index) < r.cfg.Records {
			r.growIndexLocked()
			continue
		}
		if err := p.parkLocked(&deadline); err != nil {
			return Event{}, fmt.Errorf("capture: commit: index full: %w", err)
		}
	}
	seq := r.committed
	rec := record{
		seq:    seq,
		time:   time.Since(r.start),
		pos:    pos,
		n:      uint32(len(buf)),
		prod:   p.id,
		ch:     ch,
		typ:    t,
		inline: inline,
	}
	r.index[seq%uint64(len(r.index))] = rec
	r.committed++
	if !inline {
		p.pushOwnLocked(seq, pos)
	}
	if len(r.waiting) > 0 {
		r.wakeReadersLocked()
	}
	ev := Event{Seq: seq, Time: rec.time, Type: t, Channel: ch, Payload: buf}
	if inline {
		binary.BigEndian.PutUint32(p.scratch[:], rec.n)
		ev.Payload = p.scratch[:]
	}
	return ev, nil
}

// pushOwnLocked remembers an own event. When the queue is full it drops released events first
// and grows only if that frees nothing. It never needs more than Config.Records slots: the index
// holds at most that many unreleased events.
func (p *Producer) pushOwnLocked(seq, pos uint64) {
	if p.ownLen == len(p.own) {
		p.refreshLimitLocked()
		if p.ownLen == len(p.own) {
			p.growOwnLocked()
		}
	}
	i := p.ownFirst + p.ownLen
	if i >= len(p.own) {
		i -= len(p.own)
	}
	p.own[i] = ownRec{seq: seq, pos: pos}
	p.ownLen++
}
