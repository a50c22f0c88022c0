package capture

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
)

var benchSizes = []int{512, 4 << 10, 32 << 10}

// loopReader is the benchmark source: each Read copies up to size bytes of a fixed pattern, the
// way a socket read copies out of the kernel. After limit reads it returns io.EOF (for io.Copy).
type loopReader struct {
	data  []byte
	size  int
	reads int
	limit int
}

func newLoopReader(size, limit int) *loopReader {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return &loopReader{data: data, size: size, limit: limit}
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.limit > 0 && l.reads >= l.limit {
		return 0, io.EOF
	}
	l.reads++
	return copy(p, l.data[:min(len(p), l.size)]), nil
}

// sink hides io.Discard's ReadFrom so io.Copy does the plain read/write loop.
type sink struct{ io.Writer }

// BenchmarkRing: one producer reads from the source into the ring and forwards each payload to
// the sink, while N lossless readers each consume every event in their own goroutine.
func BenchmarkRing(b *testing.B) {
	for _, readers := range []int{1, 4, 16} {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("lossless=%d/read=%d", readers, size), func(b *testing.B) {
				benchRing(b, readers, 0, size)
			})
		}
	}
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("lossless=1+lossy=4/read=%d", size), func(b *testing.B) {
			benchRing(b, 1, 4, size)
		})
	}
}

func benchRing(b *testing.B, lossless, lossy, size int) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	p := r.NewProducer()
	var wg sync.WaitGroup
	for i := range lossless + lossy {
		mode := Lossless
		if i >= lossless {
			mode = Lossy
		}
		rd := r.NewReader(mode)
		wg.Go(func() {
			defer rd.Close()
			for {
				if _, err := rd.Next(context.Background()); err == io.EOF {
					return
				}
			}
		})
	}
	src := newLoopReader(size, 0)
	dst := sink{io.Discard}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ev, err := p.ReadEvent(src, TypeOutput, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dst.Write(ev.Payload); err != nil {
			b.Fatal(err)
		}
	}
	r.Close()
	wg.Wait()
}

// BenchmarkIOCopyBaseline is the same source and sink with io.Copy between them: the cost of
// forwarding without capture.
func BenchmarkIOCopyBaseline(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("read=%d", size), func(b *testing.B) {
			src := newLoopReader(size, b.N)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := io.Copy(sink{io.Discard}, src); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWriteNext is the control-event path: Write and a lossless Next in one goroutine.
func BenchmarkWriteNext(b *testing.B) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	p := r.NewProducer()
	rd := r.NewReader(Lossless)
	payload := []byte(`{"marker":"exec","cmd":"ls"}`)
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for range b.N {
		if _, err := p.Write(TypeMarker, 0, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := rd.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewSessionMemory: the memory of one interactive session's ring: four producers (the
// SSH gateway's stdout, stderr, stdin and markers) and a lossless recorder, after 100 small
// events. "grow" is the default configuration, "eager" allocates every maximum up front (the
// ring before arenas grew on demand); the ratio is the saving per session.
func BenchmarkNewSessionMemory(b *testing.B) {
	eager := DefaultConfig()
	eager.InitialArenaBytes, eager.InitialRecords = eager.ArenaBytes, eager.Records
	for _, bc := range []struct {
		name string
		cfg  Config
	}{{"grow", DefaultConfig()}, {"eager", eager}} {
		b.Run(bc.name, func(b *testing.B) {
			src := &fixedReader{data: []byte("drwxr-xr-x  2 root root 4096 Jan  1 00:00 etc\r\n")}
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			for range b.N {
				r, err := New(bc.cfg)
				if err != nil {
					b.Fatal(err)
				}
				rd := r.NewReader(Lossless)
				var prods [4]*Producer
				for i := range prods {
					prods[i] = r.NewProducer()
				}
				for i := range 100 {
					if _, err := prods[i%4].ReadEvent(src, TypeOutput, uint16(i%4)); err != nil {
						b.Fatal(err)
					}
					if _, err := rd.Next(ctx); err != nil {
						b.Fatal(err)
					}
				}
				rd.Close()
				r.Close()
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "bytes/session")
		})
	}
}
