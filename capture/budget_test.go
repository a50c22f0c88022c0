package capture

import (
	"bytes"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	t0 := time.Now()
	b := NewBudget(1000, 100, 8) // 1000 B/s, 100 at once, an 8-byte tail
	b.refilled = t0
	step := func(name string, at time.Duration, p string, wantResync string, wantFeed bool) {
		t.Helper()
		resync, feed := b.Offer([]byte(p), t0.Add(at))
		if feed != wantFeed || (resync == nil) != (wantResync == "-") || (resync != nil && string(resync) != wantResync) {
			t.Fatalf("%s: Offer = %q, %v; want %q, %v", name, resync, feed, wantResync, wantFeed)
		}
	}
	step("within the burst", 0, string(bytes.Repeat([]byte("a"), 99)), "-", true)
	step("one byte left", 0, "b", "-", true)
	step("over: held back", 0, "cd", "-", false)
	step("still held back though it would fit", 50*time.Millisecond, "efghijkl", "-", false)
	if !b.Dropping() {
		t.Fatal("not dropping during a flood")
	}
	// The tail keeps the last 8 bytes of what was held back.
	step("flood over: resync from the tail, then feed", 200*time.Millisecond, "z", "efghijkl", true)
	step("over again", 200*time.Millisecond, string(bytes.Repeat([]byte("x"), 200)), "-", false)
	if got := b.Settle(); string(got) != "xxxxxxxx" {
		t.Fatalf("Settle = %q, want the tail", got)
	}
	if b.Settle() != nil {
		t.Fatal("Settle of a current reader is not nil")
	}
	b.Lose()
	if got := b.Settle(); got == nil || len(got) != 0 {
		t.Fatalf("Settle after Lose = %q, want an empty (not nil) tail", got)
	}
	b.Lose()
	b.Reset()
	if b.Dropping() || b.Settle() != nil {
		t.Fatal("Reset left the budget holding back")
	}
}

func TestAppendTail(t *testing.T) {
	tests := []struct{ tail, p, want string }{
		{"", "abc", "abc"},
		{"abc", "de", "bcde"},    // n+1 over a max of 4
		{"ab", "cd", "abcd"},     // exactly max
		{"abc", "wxyzq", "xyzq"}, // p alone over max
		{"abcd", "", "abcd"},
	}
	for _, tt := range tests {
		if got := string(AppendTail([]byte(tt.tail), []byte(tt.p), 4)); got != tt.want {
			t.Errorf("AppendTail(%q, %q, 4) = %q, want %q", tt.tail, tt.p, got, tt.want)
		}
	}
}
