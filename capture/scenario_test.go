package capture

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The scenario runner is shared by the property test and the fuzz test: producers commit a
// deterministic stream with varied read sizes, lossless and lossy readers consume it at their own
// pace, and afterwards every lossless reader must have seen exactly each producer's bytes in order.

type opKind uint8

const (
	opRead opKind = iota
	opWrite
	opRedacted
)

type op struct {
	kind opKind
	size int // bytes the source offers to one Read, or the Write payload length
}

type scenario struct {
	cfg      Config
	prods    [][]op // ops per producer; producer i commits on channel i
	lossless int
	lossy    int
	seed     uint64 // paces readers
}

// streamByte is producer pid's byte at offset k: distinct per producer and not periodic at any
// arena size a test uses, so a misplaced slice shows up.
func streamByte(pid int, k int) byte {
	return byte(k*31 + k>>8 + k>>16 + pid*101)
}

// genReader offers at most size bytes per Read from producer pid's stream.
type genReader struct {
	pid, off, size int
}

func (g *genReader) Read(p []byte) (int, error) {
	n := min(len(p), g.size)
	for i := range n {
		p[i] = streamByte(g.pid, g.off+i)
	}
	g.off += n
	return n, nil
}

type seen struct {
	seq uint64
	crc uint32
}

type readerResult struct {
	perCh    map[uint16][]byte
	redacted map[uint16]uint64
	events   []seen
	overruns int
	err      error
}

type producerResult struct {
	sent     []byte // what readers must see, in order
	withheld uint64
	err      error
}

// growth says how far a scenario's memory grew, so tests can check they exercised growth.
type growth struct {
	arenas int // producers whose arena ended larger than it started
	index  bool
}

func runScenario(t *testing.T, sc scenario) growth {
	t.Helper()
	r, err := New(sc.cfg)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	nr := sc.lossless + sc.lossy
	results := make([]readerResult, nr)
	var wg sync.WaitGroup
	for i := range nr {
		mode := Lossless
		if i >= sc.lossless {
			mode = Lossy
		}
		rd := r.NewReader(mode)
		wg.Go(func() {
			results[i] = consume(ctx, rd, rand.New(rand.NewPCG(sc.seed, uint64(i))))
		})
	}

	presults := make([]producerResult, len(sc.prods))
	var pwg sync.WaitGroup
	var g growth
	for pid, ops := range sc.prods {
		p := r.NewProducer()
		pwg.Go(func() { presults[pid] = produce(p, pid, ops) })
	}
	pwg.Wait()
	r.Close()
	wg.Wait()
	for _, p := range r.producers {
		if p.size > uint64(sc.cfg.initialArena()) {
			g.arenas++
		}
	}
	g.index = len(r.index) > sc.cfg.initialRecords()

	for pid, pr := range presults {
		if pr.err != nil {
			t.Fatalf("producer %d: %v", pid, pr.err)
		}
	}
	var want map[uint64]uint32
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("reader %d: %v", i, res.err)
		}
		if i >= sc.lossless {
			continue
		}
		if res.overruns != 0 {
			t.Fatalf("lossless reader %d: %d overruns", i, res.overruns)
		}
		for pid, pr := range presults {
			got := res.perCh[uint16(pid)]
			if !bytes.Equal(got, pr.sent) {
				t.Fatalf("lossless reader %d, producer %d: got %d bytes, want %d; first difference at %d",
					i, pid, len(got), len(pr.sent), firstDiff(got, pr.sent))
			}
			if res.redacted[uint16(pid)] != pr.withheld {
				t.Fatalf("lossless reader %d, producer %d: redacted count %d, want %d", i, pid, res.redacted[uint16(pid)], pr.withheld)
			}
		}
		if want == nil {
			want = make(map[uint64]uint32, len(res.events))
			for _, e := range res.events {
				want[e.seq] = e.crc
			}
		}
	}
	if want == nil {
		return g
	}
	for i := sc.lossless; i < nr; i++ {
		for _, e := range results[i].events {
			if c, ok := want[e.seq]; !ok || c != e.crc {
				t.Fatalf("lossy reader %d: event %d differs from what lossless readers saw", i, e.seq)
			}
		}
	}
	return g
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func produce(p *Producer, pid int, ops []op) producerResult {
	var res producerResult
	src := &genReader{pid: pid}
	var payload []byte
	for _, o := range ops {
		switch o.kind {
		case opRead:
			src.size = o.size
			start := src.off
			ev, err := p.ReadEvent(src, TypeOutput, uint16(pid))
			if err != nil {
				res.err = err
				return res
			}
			if !bytes.Equal(ev.Payload, expectStream(pid, start, src.off-start)) {
				res.err = errors.New("forwarded payload differs from the source")
				return res
			}
			res.sent = append(res.sent, ev.Payload...)
		case opRedacted:
			src.size = o.size
			start := src.off
			fwd, ev, err := p.ReadEventRedacted(src, uint16(pid))
			if err != nil {
				res.err = err
				return res
			}
			if !bytes.Equal(fwd, expectStream(pid, start, src.off-start)) {
				res.err = errors.New("forwarded redacted bytes differ from the source")
				return res
			}
			if c, err := ParseRedacted(ev.Payload); err != nil || int(c) != len(fwd) {
				res.err = errors.New("redacted event payload is not the count")
				return res
			}
			res.withheld += uint64(len(fwd))
		case opWrite:
			payload = payload[:0]
			for i := range o.size {
				payload = append(payload, byte(i*7+pid))
			}
			ev, err := p.Write(TypeMarker, uint16(pid), payload)
			if err != nil {
				res.err = err
				return res
			}
			if !bytes.Equal(ev.Payload, payload) {
				res.err = errors.New("written event payload differs")
				return res
			}
			res.sent = append(res.sent, payload...)
		}
	}
	return res
}

func expectStream(pid, off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = streamByte(pid, off+i)
	}
	return b
}

func consume(ctx context.Context, rd *Reader, rng *rand.Rand) readerResult {
	defer rd.Close()
	res := readerResult{perCh: map[uint16][]byte{}, redacted: map[uint16]uint64{}}
	var lastSeq uint64
	var lastTime time.Duration
	first := true
	for {
		ev, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return res
		}
		if errors.Is(err, ErrOverrun) && rd.mode == Lossy {
			res.overruns++
			continue
		}
		if err != nil {
			res.err = err
			return res
		}
		if !first && (ev.Seq <= lastSeq || ev.Time < lastTime) {
			res.err = errors.New("events out of order")
			return res
		}
		if rd.mode == Lossless && !first && ev.Seq != lastSeq+1 {
			res.err = errors.New("lossless reader skipped an event")
			return res
		}
		first, lastSeq, lastTime = false, ev.Seq, ev.Time
		switch ev.Type {
		case TypeRedacted:
			c, err := ParseRedacted(ev.Payload)
			if err != nil {
				res.err = err
				return res
			}
			res.redacted[ev.Channel] += uint64(c)
		default:
			res.perCh[ev.Channel] = append(res.perCh[ev.Channel], ev.Payload...)
		}
		res.events = append(res.events, seen{seq: ev.Seq, crc: crc32.ChecksumIEEE(ev.Payload)})
		// Uneven pace: sometimes hold the event a while so producers wrap into held bytes.
		switch rng.IntN(16) {
		case 0:
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		case 1, 2, 3:
			runtime.Gosched()
		}
	}
}
