package file

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
)

// BenchmarkPut measures a durable Put (temp file, fsync, link, directory fsync) by object size.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			be := newBackend(b, b.TempDir())
			data := bytes.Repeat([]byte{0xa5}, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("recordings/2025/01/02/s%d/seg-%08d.vlog", i/1000, i)
				if err := be.Put(context.Background(), key, bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			be := newBackend(b, b.TempDir())
			const key = "recordings/2025/01/02/s/seg-00000001.vlog"
			if err := be.Put(context.Background(), key, bytes.NewReader(make([]byte, size)), int64(size)); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := be.Get(context.Background(), key)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

// BenchmarkList lists one recording's segments among other recordings' of the same day.
func BenchmarkList(b *testing.B) {
	be := newBackend(b, b.TempDir())
	for s := range 20 {
		for n := range 50 {
			key := fmt.Sprintf("recordings/2025/01/02/s%02d/seg-%08d.vlog", s, n)
			if err := be.Put(context.Background(), key, bytes.NewReader(nil), 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		infos, err := be.List(context.Background(), "recordings/2025/01/02/s07/")
		if err != nil || len(infos) != 50 {
			b.Fatalf("List: %d objects, %v", len(infos), err)
		}
	}
}
