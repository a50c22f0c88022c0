package ssh

import (
	"net/netip"
	"testing"
	"time"
)

func TestFailureLimiter(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	tests := []struct {
		name      string
		perMinute int
		fails     int
		wait      time.Duration
		wantA     bool
		wantB     bool
	}{
		{"under limit", 5, 4, 0, true, true},
		{"at limit", 5, 5, 0, false, true},
		{"over limit", 5, 50, 0, false, true},
		{"one token back after interval", 6, 6, 10 * time.Second, true, true},
		{"not yet back", 6, 6, 9 * time.Second, false, true},
		{"full refill", 6, 60, time.Minute, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			l := newFailureLimiter(tt.perMinute, func() time.Time { return now })
			for range tt.fails {
				l.Fail(a)
			}
			now = now.Add(tt.wait)
			if got := l.Allow(a); got != tt.wantA {
				t.Errorf("Allow(a) = %v, want %v", got, tt.wantA)
			}
			if got := l.Allow(b); got != tt.wantB {
				t.Errorf("Allow(b) = %v, want %v", got, tt.wantB)
			}
		})
	}
}

func TestFailureLimiterPrune(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newFailureLimiter(3, func() time.Time { return now })
	l.Fail(netip.MustParseAddr("192.0.2.1"))
	now = now.Add(time.Hour)
	l.mu.Lock()
	l.prune(now)
	n := len(l.buckets)
	l.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d buckets after prune, want 0", n)
	}
}
