package spool

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkPut measures what a recorder waits for: a durable spool write (fsync included),
// with the upload to a file-backed remote running behind it.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			rem := &remote{Backend: fileBackend(b, b.TempDir())}
			s := newSpool(b, fileBackend(b, b.TempDir()), rem, fastRetry)
			data := bytes.Repeat([]byte{0xa5}, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Put(context.Background(), fmt.Sprintf("bench/%08d", i), bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			flush(b, s, 0x7fffffffffffffff)
		})
	}
}
