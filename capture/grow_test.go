package capture

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// pattern is the payload of event i: distinct per event, so a misplaced copy shows up.
func pattern(i, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(i*13 + k*7 + 1)
	}
	return b
}

// TestArenaGrowthBoundaries: a lossless reader that holds everything makes the producer keep
// every byte. One-byte writes put n-1, n, n+1 bytes around each size the arena passes through
// (64, 128, then the cap of 200, which is not a power-of-two multiple of the start); one byte
// past the maximum stalls. Readers of both modes then see every byte.
func TestArenaGrowthBoundaries(t *testing.T) {
	const initial, maxArena = 64, 200
	tests := []struct {
		held     int
		wantSize int // 0: the last write stalls
	}{
		{initial - 1, 64}, {initial, 64}, {initial + 1, 128},
		{2*initial - 1, 128}, {2 * initial, 128}, {2*initial + 1, 200},
		{maxArena - 1, 200}, {maxArena, 200}, {maxArena + 1, 0},
	}
	for _, tt := range tests {
		r, err := New(Config{ArenaBytes: maxArena, InitialArenaBytes: initial, MaxRead: 16, Records: 1024,
			StallTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		p := r.NewProducer()
		lossless := r.NewReader(Lossless)
		lossy := r.NewReader(Lossy)
		var want []byte
		for i := range tt.held {
			_, err := p.Write(TypeOutput, 0, []byte{byte(i*7 + 3)})
			if tt.wantSize == 0 && i == tt.held-1 {
				if !errors.Is(err, ErrStalled) {
					t.Fatalf("held %d: last write: %v, want ErrStalled at the maximum", tt.held, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("held %d: write %d: %v", tt.held, i, err)
			}
			want = append(want, byte(i*7+3))
		}
		if tt.wantSize != 0 && int(p.size) != tt.wantSize {
			t.Errorf("held %d: arena %d bytes, want %d", tt.held, p.size, tt.wantSize)
		}
		for _, rd := range []*Reader{lossless, lossy} {
			var got []byte
			for range want {
				got = append(got, next(t, rd).Payload...)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("held %d: mode %d saw % x, want % x", tt.held, rd.mode, got, want)
			}
		}
	}
}

// TestReadGrowthBoundaries: a read reserves MaxRead bytes. With the head at n-1, n, n+1 around
// the last place a full read fits in the initial arena, the read lands at the head in every
// case; only past that place does the arena grow (instead of skipping the tail and waiting).
func TestReadGrowthBoundaries(t *testing.T) {
	const initial, maxRead = 64, 16
	for _, tt := range []struct{ head, wantSize int }{
		{initial - maxRead - 1, 64}, {initial - maxRead, 64}, {initial - maxRead + 1, 128},
	} {
		r, err := New(Config{ArenaBytes: 1024, InitialArenaBytes: initial, MaxRead: maxRead, Records: 1024,
			StallTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		p := r.NewProducer()
		rd := r.NewReader(Lossless)
		want := pattern(0, tt.head)
		for i := range want {
			if _, err := p.Write(TypeOutput, 0, want[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := p.ReadEvent(&fixedReader{data: pattern(1, maxRead)}, TypeOutput, 0)
		if err != nil {
			t.Fatalf("head %d: %v", tt.head, err)
		}
		if int(p.size) != tt.wantSize || int(p.head) != tt.head+maxRead {
			t.Errorf("head %d: arena %d, read ended at %d; want arena %d, end %d",
				tt.head, p.size, p.head, tt.wantSize, tt.head+maxRead)
		}
		want = append(want, ev.Payload...)
		var got []byte
		for range tt.head + 1 {
			got = append(got, next(t, rd).Payload...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("head %d: reader saw % x, want % x", tt.head, got, want)
		}
	}
}

// TestGrowthKeepsHeldSlices: a lossless reader holds an event while the producer wraps the small
// arena and then outgrows it several times. The held slice keeps its bytes (the old array is never
// written again), and events committed before the growth, which straddled the old arena's wrap,
// read back in order from the new arena, for a lossless and a lossy reader alike.
func TestGrowthKeepsHeldSlices(t *testing.T) {
	const initial, maxRead = 64, 16
	r, err := New(Config{ArenaBytes: 1024, InitialArenaBytes: initial, MaxRead: maxRead, Records: 1024,
		StallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := r.NewProducer()
	lossless := r.NewReader(Lossless)
	lossy := r.NewReader(Lossy)
	write := func(i int) {
		t.Helper()
		if _, err := p.Write(TypeOutput, 0, pattern(i, maxRead)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	// Lockstep: the arena wraps twice; the lossless reader ends holding event 9 at offset 16.
	var held []byte
	for i := range 10 {
		write(i)
		held = next(t, lossless).Payload
		if got := next(t, lossy).Payload; !bytes.Equal(got, pattern(i, maxRead)) {
			t.Fatalf("lossy event %d: % x", i, got)
		}
	}
	// Events 10-12 fill the arena up to the held event, wrapping past its end; 13 needs growth.
	for i := 10; i < 13; i++ {
		write(i)
	}
	if p.size != initial {
		t.Fatalf("arena grew to %d before it was full", p.size)
	}
	oldArena := p.arena
	oldCopy := bytes.Clone(oldArena)
	for i := 13; i < 70; i++ {
		write(i)
	}
	if p.size != 1024 || &p.arena[0] == &oldArena[0] {
		t.Fatalf("arena %d bytes after holding 60 events of %d, want 1024", p.size, maxRead)
	}
	if !bytes.Equal(held, pattern(9, maxRead)) {
		t.Errorf("held slice changed to % x", held)
	}
	if !bytes.Equal(oldArena, oldCopy) {
		t.Error("the producer wrote the old arena after it grew")
	}
	for i := 10; i < 70; i++ {
		for _, rd := range []*Reader{lossless, lossy} {
			ev := next(t, rd)
			if ev.Seq != uint64(i) || !bytes.Equal(ev.Payload, pattern(i, maxRead)) {
				t.Fatalf("mode %d: event %d: seq %d payload % x", rd.mode, i, ev.Seq, ev.Payload)
			}
		}
	}
}

// TestLossyBehindGrownArena: bytes released by the lossless reader and overwritten before the arena
// grew are not copied into the new arena; a lossy reader that reaches them is overrun, not served
// whatever the new arena holds at that offset.
func TestLossyBehindGrownArena(t *testing.T) {
	const initial, maxRead = 64, 16
	r, err := New(Config{ArenaBytes: 1024, InitialArenaBytes: initial, MaxRead: maxRead, Records: 1024,
		StallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := r.NewProducer()
	lossless := r.NewReader(Lossless)
	lossy := r.NewReader(Lossy)
	for i := range 8 {
		if _, err := p.Write(TypeOutput, 0, pattern(i, maxRead)); err != nil {
			t.Fatal(err)
		}
		next(t, lossless) // lockstep: holds only the newest
		if i < 6 {
			next(t, lossy) // the lossy reader stops at event 6, at position 96
		}
	}
	// The lossless reader holds event 7 (position 112); event 11 makes the arena grow, keeping
	// positions [112, 176) only.
	for i := 8; i < 12; i++ {
		if _, err := p.Write(TypeOutput, 0, pattern(i, maxRead)); err != nil {
			t.Fatal(err)
		}
	}
	if p.size != 2*initial || p.base != 112 {
		t.Fatalf("arena %d bytes from position %d, want %d from 112", p.size, p.base, 2*initial)
	}
	if _, err := lossy.Next(context.Background()); !errors.Is(err, ErrOverrun) {
		t.Fatalf("lossy reader behind the grown arena: %v, want ErrOverrun", err)
	}
	if ev := next(t, lossy); ev.Seq != 11 || !bytes.Equal(ev.Payload, pattern(11, maxRead)) {
		t.Fatalf("after the overrun: seq %d payload % x", ev.Seq, ev.Payload)
	}
}

// TestIndexGrowthBoundaries: a lossless reader that holds everything keeps every slot in use;
// n-1, n, n+1 commits around each index size (4, 8, then the maximum 16) grow it by doubling,
// one past the maximum stalls, and a lossy reader reads every event across the growth.
func TestIndexGrowthBoundaries(t *testing.T) {
	for _, tt := range []struct{ events, wantLen int }{
		{3, 4}, {4, 4}, {5, 8}, {7, 8}, {8, 8}, {9, 16}, {15, 16}, {16, 16}, {17, 0},
	} {
		r, err := New(Config{ArenaBytes: 1024, MaxRead: 16, Records: 16, InitialRecords: 4,
			StallTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		p := r.NewProducer()
		lossless := r.NewReader(Lossless)
		lossy := r.NewReader(Lossy)
		committed := 0
		for i := range tt.events {
			_, err := p.Write(TypeMarker, 0, []byte{byte(i)})
			if tt.wantLen == 0 && i == tt.events-1 {
				if !errors.Is(err, ErrStalled) {
					t.Fatalf("%d events: last write: %v, want ErrStalled", tt.events, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("%d events: write %d: %v", tt.events, i, err)
			}
			committed++
		}
		if tt.wantLen != 0 && len(r.index) != tt.wantLen {
			t.Errorf("%d events: index %d slots, want %d", tt.events, len(r.index), tt.wantLen)
		}
		for _, rd := range []*Reader{lossless, lossy} {
			for i := range committed {
				if ev := next(t, rd); ev.Seq != uint64(i) || ev.Payload[0] != byte(i) {
					t.Fatalf("%d events, mode %d: event %d: seq %d payload % x", tt.events, rd.mode, i, ev.Seq, ev.Payload)
				}
			}
		}
	}
}

// TestLossyBehindGrownIndex: when the index grows, only the newest events keep slots; a lossy
// reader older than those is overrun even though it is within the new index's length.
func TestLossyBehindGrownIndex(t *testing.T) {
	r, err := New(Config{ArenaBytes: 1024, MaxRead: 16, Records: 64, InitialRecords: 4, StallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := r.NewProducer()
	lossless := r.NewReader(Lossless)
	lossy := r.NewReader(Lossy)
	for i := range 14 {
		if _, err := p.Write(TypeMarker, 0, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			next(t, lossless) // then holds events 9-13: the 14th commit grows the index
		}
		if i < 7 {
			next(t, lossy) // stops at event 7
		}
	}
	if len(r.index) != 8 || r.indexLow != 9 {
		t.Fatalf("index %d slots from seq %d, want 8 from 9", len(r.index), r.indexLow)
	}
	if _, err := lossy.Next(context.Background()); !errors.Is(err, ErrOverrun) {
		t.Fatalf("lossy reader behind the grown index: %v, want ErrOverrun", err)
	}
	if ev := next(t, lossy); ev.Seq != 13 || ev.Payload[0] != 13 {
		t.Fatalf("after the overrun: seq %d payload % x", ev.Seq, ev.Payload)
	}
	for i := 10; i < 14; i++ {
		if ev := next(t, lossless); ev.Seq != uint64(i) || ev.Payload[0] != byte(i) {
			t.Fatalf("lossless event %d: seq %d payload % x", i, ev.Seq, ev.Payload)
		}
	}
}

// TestGrowthUnderConcurrentReaders: arenas that start at one byte and an index at two slots grow
// to their maximum while lossy readers copy payloads and lossless readers lag; run with -race.
func TestGrowthUnderConcurrentReaders(t *testing.T) {
	sc := scenario{
		cfg: Config{ArenaBytes: 64 << 10, InitialArenaBytes: 1, MaxRead: 512, Records: 4096, InitialRecords: 2,
			StallTimeout: 30 * time.Second},
		lossless: 2,
		lossy:    4,
		seed:     11,
	}
	for pid := range 2 {
		var ops []op
		for i := range 2000 {
			ops = append(ops, op{kind: opRead, size: 1 + (i*53+pid*7)%700})
		}
		sc.prods = append(sc.prods, ops)
	}
	if g := runScenario(t, sc); g.arenas != 2 || !g.index {
		t.Fatalf("growth %+v: both arenas and the index should have grown", g)
	}
}

// TestSteadyStateAllocsAfterGrowth: once an arena, own queue and index have grown to what the
// readers' lag needs, events allocate nothing.
func TestSteadyStateAllocsAfterGrowth(t *testing.T) {
	r, err := New(Config{ArenaBytes: 1 << 20, InitialArenaBytes: 1, MaxRead: 1024, Records: 4096, InitialRecords: 2,
		StallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := r.NewProducer()
	lossless := r.NewReader(Lossless)
	lossy := r.NewReader(Lossy)
	src := &fixedReader{data: make([]byte, 1000)}
	ctx := context.Background()
	// The lossless reader lags by 300 events: arena, own queue and index must all grow.
	for range 300 {
		if _, err := p.ReadEvent(src, TypeOutput, 0); err != nil {
			t.Fatal(err)
		}
	}
	step := func() {
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
			if _, err := lossy.Next(ctx); err != nil && !errors.Is(err, ErrOverrun) {
				t.Fatal(err)
			}
		}
	}
	for range 1000 {
		step()
	}
	if p.size <= 1 || len(p.own) <= initialOwn || len(r.index) <= 2 {
		t.Fatalf("arena %d, own queue %d, index %d: warm-up did not grow them", p.size, len(p.own), len(r.index))
	}
	if allocs := testing.AllocsPerRun(2000, step); allocs != 0 {
		t.Fatalf("%.2f allocations per step after growth, want 0", allocs)
	}
}

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSmallSessionMemory: a producer that moves a few KiB through a default ring holds less than
// 128 KiB, and a whole session (ring, four producers, a lossless reader) less than 512 KiB. The
// eager configuration (initial = maximum) is the control that shows the measurement sees arenas.
func TestSmallSessionMemory(t *testing.T) {
	eager := DefaultConfig()
	eager.InitialArenaBytes, eager.InitialRecords = eager.ArenaBytes, eager.Records
	tests := []struct {
		name                  string
		cfg                   Config
		maxProducer, maxTotal uint64 // 0: no upper bound
		minProducer           uint64
	}{
		{"default", DefaultConfig(), 128 << 10, 512 << 10, 0},
		{"eager", eager, 0, 0, 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *Ring
			var rd *Reader
			var producer uint64
			total := allocated(func() {
				var err error
				if r, err = New(tt.cfg); err != nil {
					t.Fatal(err)
				}
				rd = r.NewReader(Lossless)
				for i := range 4 {
					producer = allocated(func() {
						p := r.NewProducer()
						for k := range 25 {
							src := &fixedReader{data: pattern(k, 80)}
							if _, err := p.ReadEvent(src, TypeOutput, uint16(i)); err != nil {
								t.Fatal(err)
							}
							next(t, rd)
						}
					})
				}
			})
			t.Logf("producer %d KiB, session %d KiB", producer>>10, total>>10)
			if tt.maxProducer != 0 && producer >= tt.maxProducer {
				t.Errorf("a producer that moved 2 KiB allocated %d bytes, want < %d", producer, tt.maxProducer)
			}
			if tt.maxTotal != 0 && total >= tt.maxTotal {
				t.Errorf("the session allocated %d bytes, want < %d", total, tt.maxTotal)
			}
			if producer < tt.minProducer {
				t.Errorf("the control producer allocated %d bytes, want >= %d", producer, tt.minProducer)
			}
		})
	}
}
