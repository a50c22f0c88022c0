package s3

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// BenchmarkPut stores objects of a segment's, a checkpoint's and a signature's sizes with the
// gateway's options (retention, tags, write-once), and reports MinIO's CPU per PUT beside ours.
func BenchmarkPut(b *testing.B) {
	m := testenv.StartMinIO(b)
	for _, size := range []int{200, 2 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			cfg := Config{Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
				Prefix: fmt.Sprintf("bench%d/", time.Now().UnixNano()), Retention: Retention{Mode: Governance, Days: 1}}
			bk, err := New(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			data := bytes.Repeat([]byte{0xa5}, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			c0, i := m.CPU(), 0
			for b.Loop() {
				if err := bk.Put(context.Background(), fmt.Sprintf("o/%08d", i), bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64((m.CPU()-c0).Microseconds())/float64(i), "minio-cpu-µs/op")
		})
	}
}

// BenchmarkStat is the HEAD the spool used to make before each Put.
func BenchmarkStat(b *testing.B) {
	m := testenv.StartMinIO(b)
	bk, err := New(context.Background(), Config{Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	c0, i := m.CPU(), 0
	for b.Loop() {
		if _, err := bk.Stat(context.Background(), fmt.Sprintf("absent/%08d", i)); err == nil {
			b.Fatal("stat of an absent object succeeded")
		}
		i++
	}
	b.ReportMetric(float64((m.CPU()-c0).Microseconds())/float64(i), "minio-cpu-µs/op")
}
