package ssh

import (
	"net/netip"
	"sync"
	"time"
)

// failureLimiter is a token bucket per source address that only failures drain: an address may fail
// burst times in a row, then earns one more try every interval. Successful logins cost nothing, so a
// flood from one address never slows another.
type failureLimiter struct {
	burst    float64
	interval time.Duration // time to earn one token back
	now      func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the memory an attacker with many addresses can make us hold; full buckets are
// dropped first since forgetting them changes nothing.
const maxBuckets = 100_000

func newFailureLimiter(perMinute int, now func() time.Time) *failureLimiter {
	return &failureLimiter{
		burst:    float64(perMinute),
		interval: time.Minute / time.Duration(perMinute),
		now:      now,
		buckets:  make(map[netip.Addr]*bucket),
	}
}

// refill brings b up to date; l.mu must be held.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	b.tokens += float64(now.Sub(b.last)) / float64(l.interval)
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
}

// Allow reports whether addr may try to log in now.
func (l *failureLimiter) Allow(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		return true
	}
	l.refill(b, l.now())
	return b.tokens >= 1
}

// Fail charges one failed login to addr.
func (l *failureLimiter) Fail(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[addr] = b
	}
	l.refill(b, now)
	if b.tokens > 0 {
		b.tokens--
	}
}

// prune drops the buckets that have refilled; l.mu must be held.
func (l *failureLimiter) prune(now time.Time) {
	for a, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, a)
		}
	}
}
