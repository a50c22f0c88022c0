package desktop

import (
	"testing"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

// BenchmarkAttach: a viewer joining a 1080p session (snapshot copy and reader placement).
func BenchmarkAttach(b *testing.B) {
	ft := newFakeTarget(1920, 1080, 0)
	rec := &memRecorder{}
	s := startBench(b, ft, rec)
	<-ft.painted
	b.SetBytes(1920 * 1080 * 4)
	b.ReportAllocs()
	for b.Loop() {
		_, rd, err := s.Attach()
		if err != nil {
			b.Fatal(err)
		}
		rd.Close()
	}
}

// BenchmarkInput: one pointer event recorded in the ring and forwarded (the target's write is a
// no-op here): the gateway's share of an input round trip.
func BenchmarkInput(b *testing.B) {
	ft := newFakeTarget(64, 64, 0)
	s := startBench(b, ft, &memRecorder{discard: true})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.Input(frame.Input{Kind: frame.InputPointer, X: i % 64, Y: 3}); err != nil {
			b.Fatal(err)
		}
	}
}
