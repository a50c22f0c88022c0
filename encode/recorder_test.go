package encode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// memSink keeps segments in memory, or fails from segment failAt on.
type memSink struct {
	mu       sync.Mutex
	segs     [][]byte
	infos    []SegmentInfo
	sum      *Summary
	failAt   int
	finished int
}

var errDiskFull = errors.New("disk full")

func (m *memSink) PutSegment(_ context.Context, seg SegmentInfo, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && seg.Index >= m.failAt {
		return errDiskFull
	}
	m.segs = append(m.segs, bytes.Clone(data))
	m.infos = append(m.infos, seg)
	return nil
}

func (m *memSink) Finish(_ context.Context, s Summary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sum = &s
	m.finished++
	return nil
}

func (m *memSink) readers() []io.Reader {
	var rs []io.Reader
	for _, s := range m.segs {
		rs = append(rs, bytes.NewReader(s))
	}
	return rs
}

func newRing(t *testing.T, stall time.Duration) *capture.Ring {
	t.Helper()
	cfg := capture.DefaultConfig()
	cfg.ArenaBytes = 256 << 10
	cfg.StallTimeout = stall
	r, err := capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type recordRun struct {
	sum  Summary
	err  error
	done chan struct{}
}

func startRecorder(t *testing.T, ring *capture.Ring, sink SegmentSink, opts Options, cause error) *recordRun {
	t.Helper()
	rd := ring.NewReader(capture.Lossless)
	run := &recordRun{done: make(chan struct{})}
	rec := NewRecorder(SessionMeta{ID: "s1", User: "alice", Target: "web01", Protocol: "ssh", Start: ring.Start(), Cols: 80, Rows: 24}, sink, opts)
	go func() {
		defer close(run.done)
		run.sum, run.err = rec.Run(context.Background(), rd, func() error { return cause })
	}()
	return run
}

// TestRecorderKeepsEveryByteAcrossSegments: what goes through the ring comes back out of the
// segments, in order, whatever the segment size.
func TestRecorderKeepsEveryByteAcrossSegments(t *testing.T) {
	for _, segBytes := range []int{4 << 10, 64 << 10, 4 << 20} {
		ring := newRing(t, 5*time.Second)
		sink := &memSink{}
		run := startRecorder(t, ring, sink, Options{SegmentDuration: time.Hour, SegmentBytes: segBytes}, errors.New("user exit"))
		out, in := ring.NewProducer(), ring.NewProducer()
		var want bytes.Buffer
		for i := 0; i < 400; i++ {
			// Hex of a hash: text that compresses about 2:1, so segments cut on stored size come
			// often enough to cross many boundaries.
			h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
			line := []byte(strings.Repeat(hex.EncodeToString(h[:]), 2)[:i%97] + "\r\n")
			ev, err := out.ReadEvent(bytes.NewReader(line), capture.TypeOutput, 0)
			if err != nil {
				t.Fatal(err)
			}
			want.Write(ev.Payload)
			if i%50 == 0 {
				if _, err := in.ReadEvent(strings.NewReader("ls\r"), capture.TypeInput, 0); err != nil {
					t.Fatal(err)
				}
				if _, _, err := in.ReadEventRedacted(strings.NewReader("hunter2\r"), 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		ring.Close()
		<-run.done
		if run.err != nil {
			t.Fatal(run.err)
		}
		if segBytes == 4<<10 && len(sink.segs) < 3 {
			t.Errorf("segment_bytes %d: %d segments, want several", segBytes, len(sink.segs))
		}
		var got, input bytes.Buffer
		redactions := 0
		rs := NewRecords(sink.readers())
		for {
			rec, err := rs.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch rec.Type {
			case eventlog.TypeOutput:
				got.Write(rec.Payload)
			case eventlog.TypeInput:
				input.Write(rec.Payload)
			case uint8(capture.TypeRedacted):
				redactions++
			}
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("segment_bytes %d: output differs: got %d bytes, want %d", segBytes, got.Len(), want.Len())
		}
		if strings.Contains(input.String(), "hunter2") || input.String() != strings.Repeat("ls\r", 8) {
			t.Errorf("segment_bytes %d: input recorded as %q", segBytes, input.String())
		}
		if redactions != 8 || run.sum.Redactions != 8 {
			t.Errorf("redactions: %d records, summary %d, want 8", redactions, run.sum.Redactions)
		}
		if sink.finished != 1 || sink.sum.Cause != "user exit" || len(sink.sum.Segments) != len(sink.segs) {
			t.Errorf("finish: %d calls, cause %q, %d segments listed of %d", sink.finished, sink.sum.Cause, len(sink.sum.Segments), len(sink.segs))
		}
	}
}

// TestRecorderCutsQuietSegmentOnTime: a session that goes quiet still has its open segment
// persisted once SegmentDuration has passed, so a crash loses at most that much.
func TestRecorderCutsQuietSegmentOnTime(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	run := startRecorder(t, ring, sink, Options{SegmentDuration: 200 * time.Millisecond, SegmentBytes: 4 << 20}, nil)
	p := ring.NewProducer()
	if _, err := p.ReadEvent(strings.NewReader("$ "), capture.TypeOutput, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.segs)
		sink.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the quiet segment was not persisted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ring.Close()
	<-run.done
	if len(sink.segs) != 1 {
		t.Errorf("%d segments after close, want 1 (no empty segment)", len(sink.segs))
	}
	if sink.sum.Cause != "ended" {
		t.Errorf("cause %q, want ended", sink.sum.Cause)
	}
}

// TestRecorderFailsClosed: when a segment cannot be persisted the recorder reports it through
// OnFailure (which stops the session) and the summary says why.
func TestRecorderFailsClosed(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{failAt: 1}
	failed := make(chan error, 1)
	opts := Options{SegmentDuration: time.Hour, SegmentBytes: 4 << 10, OnFailure: func(err error) { failed <- err }}
	run := startRecorder(t, ring, sink, opts, nil)
	p := ring.NewProducer()
	for i := 0; i < 30; i++ {
		chunk := make([]byte, 1000) // incompressible, so 4 KiB of it fills a segment
		rnd := rand.New(rand.NewPCG(uint64(i), 3))
		for j := range chunk {
			chunk[j] = byte(rnd.Uint32())
		}
		if _, err := p.ReadEvent(bytes.NewReader(chunk), capture.TypeOutput, 0); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-failed:
		if !errors.Is(err, errDiskFull) || !errors.Is(err, ErrSink) {
			t.Errorf("OnFailure(%v), want ErrSink wrapping the sink's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnFailure was not called")
	}
	ring.Close()
	<-run.done
	if !errors.Is(run.err, errDiskFull) {
		t.Errorf("Run = %v, want the sink's error", run.err)
	}
	if !strings.HasPrefix(sink.sum.Cause, "recording failure") {
		t.Errorf("cause %q, want a recording failure", sink.sum.Cause)
	}
}

// TestRecorderWithoutFailureHandlerStallsTheSession: with no OnFailure the recorder stops reading,
// so the producers stall and get ErrStalled: never an unrecorded session.
func TestRecorderWithoutFailureHandlerStallsTheSession(t *testing.T) {
	ring := newRing(t, 300*time.Millisecond)
	sink := &memSink{failAt: 1}
	run := startRecorder(t, ring, sink, Options{SegmentDuration: time.Hour, SegmentBytes: 4 << 10}, nil)
	p := ring.NewProducer()
	chunk := bytes.Repeat([]byte("z"), 4000)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = p.ReadEvent(bytes.NewReader(chunk), capture.TypeOutput, 0)
	}
	if !errors.Is(err, capture.ErrStalled) {
		t.Fatalf("producer error %v, want ErrStalled", err)
	}
	ring.Close()
	<-run.done
}

// TestRecorderCutsOnStoredBytes: a flood of compressible output is cut by its stored size, so it
// makes few segments (each at most SegmentBytes stored), while the raw ceiling still bounds what
// one segment holds decoded; incompressible output is cut at SegmentBytes as before.
func TestRecorderCutsOnStoredBytes(t *testing.T) {
	const segBytes = 16 << 10
	for _, tc := range []struct {
		name       string
		payload    func(i int) []byte
		maxSegs    int // at most this many segments
		minSegs    int
		checkBound bool
	}{
		// 4 MiB of zeros: raw cuts would make 256 segments; stored cuts are bounded by the raw
		// ceiling (16*16 KiB = 256 KiB raw a segment), so 16-17.
		{"zeros", func(int) []byte { return make([]byte, 4096) }, 20, 15, true},
		// 1 MiB of random bytes: stored = raw, about 64 segments.
		{"random", func(i int) []byte {
			b := make([]byte, 4096)
			r := rand.New(rand.NewPCG(uint64(i), 2))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			return b
		}, 80, 50, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring := newRing(t, 5*time.Second)
			sink := &memSink{}
			run := startRecorder(t, ring, sink, Options{SegmentDuration: time.Hour, SegmentBytes: segBytes}, nil)
			out := ring.NewProducer()
			n := 1024
			if tc.name == "random" {
				n = 256
			}
			for i := 0; i < n; i++ {
				if _, err := out.Write(capture.TypeOutput, 0, tc.payload(i)); err != nil {
					t.Fatal(err)
				}
			}
			ring.Close()
			<-run.done
			if run.err != nil {
				t.Fatal(run.err)
			}
			if len(sink.segs) < tc.minSegs || len(sink.segs) > tc.maxSegs {
				t.Errorf("%d segments, want %d..%d", len(sink.segs), tc.minSegs, tc.maxSegs)
			}
			for i, s := range sink.segs {
				// One record (4 KiB) plus framing may overshoot; the keyframe header too.
				if len(s) > segBytes+8<<10 {
					t.Errorf("segment %d stores %d bytes, over %d", i, len(s), segBytes)
				}
			}
		})
	}
}
