package capture

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func newRing(t *testing.T, arena, maxRead, records int, stall time.Duration) *Ring {
	t.Helper()
	r, err := New(Config{ArenaBytes: arena, MaxRead: maxRead, Records: records, StallTimeout: stall})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return r
}

// fixedReader offers exactly its bytes once per Read call, up to len(p), and counts calls.
type fixedReader struct {
	data  []byte
	calls int
}

func (f *fixedReader) Read(p []byte) (int, error) {
	f.calls++
	return copy(p, f.data), nil
}

func next(t *testing.T, rd *Reader) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := rd.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return ev
}

// TestReadSizeBoundaries: a source offering n-1, n, n+1 bytes around MaxRead yields at most
// MaxRead per event; a Write of MaxRead+1 is refused.
func TestReadSizeBoundaries(t *testing.T) {
	const maxRead = 16
	for _, offer := range []int{1, maxRead - 1, maxRead, maxRead + 1, 3 * maxRead} {
		r := newRing(t, 4*maxRead, maxRead, 8, time.Second)
		p := r.NewProducer()
		rd := r.NewReader(Lossless)
		src := &fixedReader{data: bytes.Repeat([]byte{'a'}, offer)}
		ev, err := p.ReadEvent(src, TypeOutput, 0)
		if err != nil {
			t.Fatalf("offer %d: %v", offer, err)
		}
		if want := min(offer, maxRead); len(ev.Payload) != want || cap(ev.Payload) != want {
			t.Errorf("offer %d: payload len %d cap %d, want %d", offer, len(ev.Payload), cap(ev.Payload), want)
		}
		if got := next(t, rd); !bytes.Equal(got.Payload, ev.Payload) || got.Seq != 0 {
			t.Errorf("offer %d: reader got seq %d %q", offer, got.Seq, got.Payload)
		}
	}
	for _, n := range []int{0, maxRead - 1, maxRead, maxRead + 1} {
		r := newRing(t, 4*maxRead, maxRead, 8, time.Second)
		_, err := r.NewProducer().Write(TypeMarker, 0, make([]byte, n))
		if tooLarge := n > maxRead; errors.Is(err, ErrTooLarge) != tooLarge || (!tooLarge && err != nil) {
			t.Errorf("write %d bytes: %v", n, err)
		}
	}
}

// TestArenaWrapBoundaries puts the arena head at n-1, n, n+1 around the last place a full read
// still fits before the arena's end, and around the arena's end itself, and checks where the
// next read lands and that a reader sees every byte.
func TestArenaWrapBoundaries(t *testing.T) {
	const maxRead, arena = 16, 64
	for _, head := range []int{
		arena - maxRead - 1, arena - maxRead, arena - maxRead + 1,
		arena - 1, arena, arena + 1,
		2*arena - maxRead, 2*arena - maxRead + 1,
	} {
		r := newRing(t, arena, maxRead, 64, time.Second)
		p := r.NewProducer()
		rd := r.NewReader(Lossless)
		var want, got []byte
		for left, i := head, 0; left > 0; i++ {
			n := min(left, maxRead-1-i%3)
			payload := bytes.Repeat([]byte{byte('a' + i%26)}, n)
			if _, err := p.Write(TypeMarker, 0, payload); err != nil {
				t.Fatalf("head %d: write: %v", head, err)
			}
			want = append(want, payload...)
			got = append(got, next(t, rd).Payload...)
			left -= n
		}
		if int(p.head) < head {
			t.Fatalf("head %d: producer head %d (wrap skips already)", head, p.head)
		}
		at := p.head
		if room := arena - int(at)%arena; room < maxRead {
			at += uint64(room)
		}
		ev, err := p.ReadEvent(&fixedReader{data: []byte("0123456789abcdef")}, TypeOutput, 0)
		if err != nil {
			t.Fatalf("head %d: read: %v", head, err)
		}
		if p.head != at+maxRead {
			t.Errorf("head %d: read landed ending at %d, want %d", head, p.head, at+maxRead)
		}
		want = append(want, ev.Payload...)
		got = append(got, next(t, rd).Payload...)
		if !bytes.Equal(got, want) {
			t.Errorf("head %d: reader saw %q, want %q", head, got, want)
		}
	}
}

func TestStallTimeout(t *testing.T) {
	t.Run("arena", func(t *testing.T) {
		r := newRing(t, 64, 16, 1024, 50*time.Millisecond)
		p := r.NewProducer()
		rd := r.NewReader(Lossless) // never reads: holds everything from seq 0
		src := &fixedReader{data: make([]byte, 16)}
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			_, err = p.ReadEvent(src, TypeOutput, 0)
		}
		if !errors.Is(err, ErrStalled) {
			t.Fatalf("error %v, want ErrStalled", err)
		}
		if src.calls != 4 {
			t.Errorf("source read %d times; a stalled producer must not read", src.calls)
		}
		rd.Close()
		if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
			t.Fatalf("after the lagging reader closed: %v", err)
		}
	})
	t.Run("index", func(t *testing.T) {
		r := newRing(t, 1024, 16, 4, 50*time.Millisecond)
		p := r.NewProducer()
		rd := r.NewReader(Lossless)
		for i := range 4 {
			if _, err := p.Write(TypeMarker, 0, nil); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if _, err := p.Write(TypeMarker, 0, nil); !errors.Is(err, ErrStalled) {
			t.Fatalf("error %v, want ErrStalled", err)
		}
		next(t, rd)
		next(t, rd) // releases seq 0
		if _, err := p.Write(TypeMarker, 0, []byte("x")); err != nil {
			t.Fatalf("after a release: %v", err)
		}
	})
	t.Run("a held event blocks only its bytes", func(t *testing.T) {
		r := newRing(t, 64, 16, 1024, 50*time.Millisecond)
		p := r.NewProducer()
		rd := r.NewReader(Lossless)
		src := &fixedReader{data: make([]byte, 16)}
		for range 3 {
			if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
				t.Fatal(err)
			}
			next(t, rd) // hold the newest event only
		}
		for i := range 20 {
			if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			next(t, rd)
		}
	})
}

// TestStallWakes: a producer waiting for a slow lossless reader continues as soon as it reads.
func TestStallWakes(t *testing.T) {
	r := newRing(t, 64, 16, 1024, 10*time.Second)
	p := r.NewProducer()
	rd := r.NewReader(Lossless)
	done := make(chan error, 1)
	go func() {
		src := &fixedReader{data: make([]byte, 16)}
		for range 40 {
			if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 40 {
		time.Sleep(time.Millisecond)
		next(t, rd)
	}
	if err := <-done; err != nil {
		t.Fatalf("producer: %v", err)
	}
}

func TestLossyOverrun(t *testing.T) {
	tests := []struct {
		name                  string
		arena, records, count int
	}{
		{"index overwritten", 4096, 8, 20},
		{"arena overwritten", 64, 1024, 10},
		{"index n+1", 4096, 8, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(t, tt.arena, 16, tt.records, time.Second)
			p := r.NewProducer()
			rd := r.NewReader(Lossy)
			for i := range tt.count {
				if _, err := p.Write(TypeOutput, 0, bytes.Repeat([]byte{byte(i)}, 16)); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			if _, err := rd.Next(ctx); !errors.Is(err, ErrOverrun) {
				t.Fatalf("first Next: %v, want ErrOverrun", err)
			}
			for want := tt.count - 1; want <= tt.count; want++ {
				if want == tt.count {
					if _, err := p.Write(TypeOutput, 0, bytes.Repeat([]byte{byte(want)}, 16)); err != nil {
						t.Fatal(err)
					}
				}
				ev, err := rd.Next(ctx)
				if err != nil {
					t.Fatalf("after the overrun: %v", err)
				}
				if ev.Seq != uint64(want) || !bytes.Equal(ev.Payload, bytes.Repeat([]byte{byte(want)}, 16)) {
					t.Fatalf("got seq %d payload % x, want seq %d", ev.Seq, ev.Payload, want)
				}
			}
		})
	}
	t.Run("index n, no overrun", func(t *testing.T) {
		r := newRing(t, 4096, 16, 8, time.Second)
		p := r.NewProducer()
		rd := r.NewReader(Lossy)
		for i := range 8 {
			if _, err := p.Write(TypeOutput, 0, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 8 {
			if ev := next(t, rd); ev.Seq != uint64(i) || ev.Payload[0] != byte(i) {
				t.Fatalf("event %d: seq %d payload % x", i, ev.Seq, ev.Payload)
			}
		}
	})
}

func TestCloseDrainsThenEOF(t *testing.T) {
	r := newRing(t, 1024, 16, 16, time.Second)
	p := r.NewProducer()
	readers := []*Reader{r.NewReader(Lossless), r.NewReader(Lossy)}
	for i := range 3 {
		if _, err := p.Write(TypeOutput, 0, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	r.Close()
	src := &fixedReader{data: []byte("x")}
	if _, err := p.ReadEvent(src, TypeOutput, 0); !errors.Is(err, ErrClosed) || src.calls != 0 {
		t.Errorf("ReadEvent after Close: %v after %d reads, want ErrClosed and no read", err, src.calls)
	}
	if _, err := p.Write(TypeOutput, 0, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	for _, rd := range readers {
		for i := range 3 {
			if ev := next(t, rd); ev.Seq != uint64(i) || ev.Payload[0] != byte(i) {
				t.Fatalf("drain %d: seq %d", i, ev.Seq)
			}
		}
		for range 2 {
			if _, err := rd.Next(context.Background()); err != io.EOF {
				t.Fatalf("after drain: %v, want io.EOF", err)
			}
		}
	}
}

// TestCloseWakesBlocked: readers parked in Next and a producer parked on a stall all return.
func TestCloseWakesBlocked(t *testing.T) {
	r := newRing(t, 64, 16, 1024, time.Minute)
	p := r.NewProducer()
	lagging := r.NewReader(Lossless)
	_ = lagging
	src := &fixedReader{data: make([]byte, 16)}
	for range 4 {
		if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
			t.Fatal(err)
		}
	}
	waiter := r.NewReader(Lossy)
	errs := make(chan error, 2)
	go func() { _, err := p.ReadEvent(src, TypeOutput, 0); errs <- err }()
	go func() { _, err := waiter.Next(context.Background()); errs <- err }()
	time.Sleep(20 * time.Millisecond)
	r.Close()
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrClosed) && err != io.EOF {
			t.Errorf("woken with %v", err)
		}
	}
}

func TestContextCancelUnblocksNext(t *testing.T) {
	for _, m := range []Mode{Lossless, Lossy} {
		r := newRing(t, 1024, 16, 16, time.Second)
		p := r.NewProducer()
		rd := r.NewReader(m)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := rd.Next(ctx); errc <- err }()
		time.Sleep(10 * time.Millisecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("mode %d: %v, want context.Canceled", m, err)
		}
		// The reader is still usable after a cancelled wait.
		if _, err := p.Write(TypeOutput, 0, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, rd); string(ev.Payload) != "x" {
			t.Fatalf("mode %d: after cancel got %q", m, ev.Payload)
		}
	}
}

func TestReaderCloseUnblocksNext(t *testing.T) {
	r := newRing(t, 1024, 16, 16, time.Second)
	rd := r.NewReader(Lossless)
	errc := make(chan error, 1)
	go func() { _, err := rd.Next(context.Background()); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	rd.Close()
	rd.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("%v, want ErrClosed", err)
	}
}

// TestRedactionDoesNotLeak: bytes read with ReadEventRedacted reach the caller for forwarding,
// but no reader of either mode sees them, and they do not stay in ring memory.
func TestRedactionDoesNotLeak(t *testing.T) {
	secret := []byte("hunter2-Very-Secret")
	r := newRing(t, 256, 32, 64, 5*time.Second)
	in := r.NewProducer()
	out := r.NewProducer()
	var readers []*Reader
	for _, m := range []Mode{Lossless, Lossless, Lossy, Lossy} {
		readers = append(readers, r.NewReader(m))
	}
	var wg sync.WaitGroup
	seen := make([][]byte, len(readers))
	for i, rd := range readers {
		wg.Go(func() {
			for {
				ev, err := rd.Next(context.Background())
				if err == io.EOF {
					return
				}
				if err != nil && !errors.Is(err, ErrOverrun) {
					t.Errorf("reader %d: %v", i, err)
					return
				}
				seen[i] = append(seen[i], ev.Payload...)
				if ev.Type == TypeRedacted {
					if c, err := ParseRedacted(ev.Payload); err != nil || int(c) != len(secret) {
						t.Errorf("reader %d: redacted payload % x", i, ev.Payload)
					}
				}
			}
		})
	}
	for range 20 {
		if _, err := out.Write(TypeOutput, 0, []byte("Password: ")); err != nil {
			t.Fatal(err)
		}
		fwd, ev, err := in.ReadEventRedacted(&fixedReader{data: secret}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fwd, secret) || ev.Type != TypeRedacted {
			t.Fatalf("forward %q, event type %v", fwd, ev.Type)
		}
		if _, err := in.ReadEvent(&fixedReader{data: []byte("ls\r")}, TypeInput, 0); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(in.arena, secret[:4]) {
			t.Fatal("withheld bytes stay in the arena after the next read")
		}
	}
	r.Close()
	wg.Wait()
	for i, s := range seen {
		if bytes.Contains(s, secret[:4]) || strings.Contains(string(s), "Secret") {
			t.Errorf("reader %d saw withheld bytes", i)
		}
		if i < 2 && !bytes.Contains(s, []byte("ls\r")) {
			t.Errorf("lossless reader %d missed the input after the prompt", i)
		}
	}
}

func TestConcurrentManyReaders(t *testing.T) {
	sc := scenario{
		cfg:      Config{ArenaBytes: 4096, MaxRead: 512, Records: 256, StallTimeout: 30 * time.Second},
		lossless: 4,
		lossy:    4,
		seed:     7,
	}
	for pid := range 2 {
		var ops []op
		for i := range 3000 {
			ops = append(ops, op{kind: opRead, size: 1 + (i*37+pid*11)%700})
		}
		sc.prods = append(sc.prods, ops)
	}
	runScenario(t, sc)
}

func TestSteadyStateAllocs(t *testing.T) {
	r := newRing(t, 1<<16, 1024, 1024, time.Second)
	p := r.NewProducer()
	lossless := r.NewReader(Lossless)
	lossy := r.NewReader(Lossy)
	src := &fixedReader{data: make([]byte, 1000)}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(2000, func() {
		if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Write(TypeMarker, 1, src.data[:10]); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := lossless.Next(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := lossy.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per event pair, want 0", allocs)
	}
}
