package capture

// Growth on demand. A ring starts small (Config.InitialArenaBytes, Config.InitialRecords) because
// most sessions are interactive and move a few KiB, and it doubles a structure only where keeping
// it small would make a producer wait. The doubling is amortised: a structure grows at most
// log2(max/initial) times, and steady state allocates nothing.

// initialOwn is the first size of a producer's own-record queue: 1 KiB, enough for the events a
// quick recorder has not yet released.
const initialOwn = 64

// growArenaLocked replaces the arena with one twice as large (at most Config.ArenaBytes). Called
// by the producer with Ring.mu held; it drops the lock while it allocates and copies.
//
// Every byte the old arena still holds, [lo, head), is copied so that the new arena starts at lo:
// position q moves to offset q-lo. The range is shorter than the old arena, so it lands
// contiguously and no payload is split; lossy readers keep every event they could read before.
// Bytes in [head, resEnd) belong to no committed event (a short read's tail or a redacted read's
// withheld bytes, already cleared) and are not copied.
//
// Readers resolve payloads under Ring.mu (lossless) or rw (lossy), and the swap takes both, so a
// lookup sees either the old arena with the old mapping or the new one with the new mapping.
// Slices that lossless readers or the caller already hold keep pointing into the old array, which
// the producer never writes again; the garbage collector frees it when the last slice is dropped.
func (p *Producer) growArenaLocked() {
	r := p.r
	size := min(2*p.size, uint64(r.cfg.ArenaBytes))
	// Positions below resEnd-size were overwritten by later reservations, below base never held.
	lo := p.base
	if p.resEnd > p.size && p.resEnd-p.size > lo {
		lo = p.resEnd - p.size
	}
	// Only this goroutine writes the arena and the fields read here, so nothing changes while the
	// lock is dropped; readers may still read the old arena, which is only read here too.
	r.mu.Unlock()
	arena := make([]byte, size)
	if n := p.head - lo; n > 0 {
		from := p.off(lo)
		first := min(n, p.size-from)
		copy(arena, p.arena[from:from+first])
		copy(arena[first:n], p.arena[:n-first])
	}
	r.mu.Lock()
	p.rw.Lock()
	p.arena, p.size, p.base = arena, size, lo
	p.rw.Unlock()
}

// growOwnLocked doubles the own-record queue (at most Config.Records), keeping its order.
// It allocates under Ring.mu: it happens a handful of times in a ring's life.
func (p *Producer) growOwnLocked() {
	own := make([]ownRec, min(2*len(p.own), p.r.cfg.Records))
	k := copy(own, p.own[p.ownFirst:])
	copy(own[k:p.ownLen], p.own[:p.ownFirst])
	p.own, p.ownFirst = own, 0
}

// growIndexLocked doubles the index (at most Config.Records). Called with Ring.mu held by a
// producer that found every slot held by lossless readers; it drops the lock to allocate.
//
// Seqs keep their slots by seq % len(index). The newest len(old) events are copied, which covers
// every event a lossless reader holds (commit never lets more than len(index) be unreleased) and
// every event a lossy reader may still read; indexLow records that older seqs are gone, so a lossy
// reader behind it is overrun instead of reading an empty slot.
func (r *Ring) growIndexLocked() {
	old := len(r.index)
	n := min(2*old, r.cfg.Records)
	r.mu.Unlock()
	index := make([]record, n)
	r.mu.Lock()
	if len(r.index) != old {
		return // another producer grew it while the lock was dropped
	}
	low := r.committed - min(r.committed, uint64(old))
	for s := low; s < r.committed; s++ {
		index[s%uint64(n)] = r.index[s%uint64(old)]
	}
	r.index = index
	r.indexLow = max(r.indexLow, low)
}
