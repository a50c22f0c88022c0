package capture

import "time"

// Budget meters what a slow reader of the ring is fed: a terminal emulator digests a few MB/s
// while a session can move hundreds. The reader is offered at most rate bytes a second on
// average, burst at once. Output beyond that is held back: only its last tailBytes are kept, and
// the reader rebuilds its state from that tail ("resyncs") when it must be current (before a
// keyframe, Settle) or when the flood is over (Offer). What it shows from a resync is approximate:
// screen state set long before the tail is lost. A Budget is not safe for concurrent use.
type Budget struct {
	rate, burst float64
	tailBytes   int
	tokens      float64
	refilled    time.Time
	dropping    bool
	tail        []byte
}

// NewBudget returns a full budget.
func NewBudget(rate, burst, tailBytes int) *Budget {
	return &Budget{rate: float64(rate), burst: float64(burst), tailBytes: tailBytes, tokens: float64(burst), refilled: time.Now()}
}

// Offer decides for output p at time now. feed says whether the reader takes p now; if not, p
// went to the tail. resync, when not nil, is a tail the reader must rebuild from before taking p
// (a flood has just ended); the caller owns it.
func (b *Budget) Offer(p []byte, now time.Time) (resync []byte, feed bool) {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.refilled).Seconds()*b.rate)
	b.refilled = now
	if b.dropping && b.tokens >= b.burst {
		resync = b.Settle()
	}
	if b.dropping || float64(len(p)) > b.tokens {
		b.dropping = true
		b.tail = AppendTail(b.tail, p, b.tailBytes)
		return resync, false
	}
	b.tokens -= float64(len(p))
	return resync, true
}

// Settle returns the tail to rebuild from if output has been held back (the caller owns it; it
// may be empty after Lose), and nil if the reader is current.
func (b *Budget) Settle() []byte {
	if !b.dropping {
		return nil
	}
	t := b.tail
	if t == nil {
		t = []byte{}
	}
	b.tokens -= float64(len(t))
	b.dropping, b.tail = false, nil
	return t
}

// Lose says output was lost before the reader saw it (a lossy reader's overrun): the reader is
// wrong until rebuilt from what follows, so hold back from now on.
func (b *Budget) Lose() { b.dropping, b.tail = true, nil }

// Reset forgets held-back output: the reader starts afresh (a new screen).
func (b *Budget) Reset() { b.dropping, b.tail = false, nil }

// Dropping tells whether output is being held back.
func (b *Budget) Dropping() bool { return b.dropping }

// AppendTail appends p to tail and keeps only the last max bytes.
func AppendTail(tail, p []byte, max int) []byte {
	if len(p) >= max {
		return append(tail[:0], p[len(p)-max:]...)
	}
	if over := len(tail) + len(p) - max; over > 0 {
		tail = append(tail[:0], tail[over:]...)
	}
	return append(tail, p...)
}
