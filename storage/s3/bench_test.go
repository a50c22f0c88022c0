package s3

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// minioCPU returns the CPU time (user + system) the MinIO server has used so far, read from
// /proc by the PID fixtures/minio.sh wrote, or 0 where that cannot be read. MinIO shares the
// machine's cores with the benchmark, so what it spends per request is part of what a PUT costs.
func minioCPU(tb testing.TB, m *testenv.MinIO) time.Duration {
	pid, err := os.ReadFile(filepath.Join(m.Dir, "minio.pid"))
	if err != nil {
		return 0
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat"))
	if err != nil {
		return 0
	}
	// Fields after the command name, which may hold spaces, start after the last ')'.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ is 100 on Linux
}

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
			c0, i := minioCPU(b, m), 0
			for b.Loop() {
				if err := bk.Put(context.Background(), fmt.Sprintf("o/%08d", i), bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64((minioCPU(b, m)-c0).Microseconds())/float64(i), "minio-cpu-µs/op")
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
	c0, i := minioCPU(b, m), 0
	for b.Loop() {
		if _, err := bk.Stat(context.Background(), fmt.Sprintf("absent/%08d", i)); err == nil {
			b.Fatal("stat of an absent object succeeded")
		}
		i++
	}
	b.ReportMetric(float64((minioCPU(b, m)-c0).Microseconds())/float64(i), "minio-cpu-µs/op")
}
