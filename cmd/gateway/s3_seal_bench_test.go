package gateway_test

// Benchmarks of the "Sealed recordings streamed to object storage" issue: what sealing costs per
// MB (BenchmarkSealSegment), and the gateway's throughput when every segment is sealed and
// uploaded to S3 (MinIO) through the local spool, against the bare forwarder in the same run
// (BenchmarkSSHThroughputSealedS3, target: within 20%). docs/benchmarks.md has the figures.

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/storage/spool"
)

// BenchmarkSealSegment seals segments of several sizes through the gateway's sink (age
// encryption to the node key, SHA-256 of ciphertext and plaintext, a signed checkpoint per
// segment) into storage/file, fsync included. It reports MB/s and CPU-ms per MB of this process.
func BenchmarkSealSegment(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			backend, err := file.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer backend.Close()
			keys, err := nodekeys.Ensure(filepath.Join(b.TempDir(), "keys"))
			if err != nil {
				b.Fatal(err)
			}
			store := gateway.NewRecordings(backend, keys, nil)
			sink, err := store.Sink(encode.SessionMeta{ID: "0123456789abcdef01234567", User: "bench",
				Target: "sshd", Protocol: "ssh", Start: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, size)
			rand.Read(data) // incompressible, as an event-log segment already is
			b.SetBytes(int64(size))
			b.ReportAllocs()
			c0 := cpuTime(syscall.RUSAGE_SELF)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seg := encode.SegmentInfo{Index: i, Start: time.Duration(i) * time.Second, End: time.Duration(i+1) * time.Second, Bytes: size}
				if err := sink.PutSegment(context.Background(), seg, data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := cpuTime(syscall.RUSAGE_SELF) - c0
			b.ReportMetric(float64(cpu.Milliseconds())/(float64(size)*float64(b.N)/1e6), "cpu-ms/MB")
		})
	}
}

// startS3Gateway is startBenchGateway with the store cmd/vigil serve opens for storage.backend s3:
// MinIO behind the local spool, with the failure grace of the default configuration.
func startS3Gateway(tb testing.TB, d *benchSSHD, m *testenv.MinIO) *benchGateway {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Storage.Backend = "s3"
	cfg.Storage.S3 = config.S3Storage{Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey}
	cfg.Storage.Spool.MaxBytes = 8 << 30
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	store, err := gateway.OpenRecordingsContext(context.Background(), cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	return serveBenchGateway(tb, d, store, benchSegmentOptions(tb))
}

// benchSegmentOptions are the default segment options; VIGIL_BENCH_SEGMENT_BYTES overrides the
// segment size for diagnosis (the store's cost is per object). Figures in docs/benchmarks.md use
// the default.
func benchSegmentOptions(tb testing.TB) encode.Options {
	opts := encode.DefaultOptions()
	opts.SegmentBytes = int(envSize(tb, "VIGIL_BENCH_SEGMENT_BYTES", int64(opts.SegmentBytes)))
	return opts
}

// startSpoolFileGateway records through the same spool as startS3Gateway, uploading to a second
// file backend instead of MinIO: the spool's own cost, without the store's.
func startSpoolFileGateway(tb testing.TB, d *benchSSHD) *benchGateway {
	tb.Helper()
	local, err := file.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	remote, err := file.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := spool.New(local, remote, spool.Options{MaxBytes: 8 << 30})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sp.Close(); local.Close(); remote.Close() })
	keys, err := nodekeys.Ensure(filepath.Join(tb.TempDir(), "keys"))
	if err != nil {
		tb.Fatal(err)
	}
	store := gateway.NewRecordings(sp, keys, nil)
	store.SetFailureGrace(config.Default().Recording.FailureGrace, slog.New(slog.DiscardHandler))
	return serveBenchGateway(tb, d, store, benchSegmentOptions(tb))
}

// BenchmarkSSHThroughputSealedS3 moves VIGIL_BENCH_BYTES (default 256 MiB) of `head -c N
// /dev/zero` from sshd to the real ssh client through the bare forwarder and through the gateway
// sealing into S3 via the spool, interleaved in one run. The time is the client's: it ends when
// the last byte arrives, while uploads may still run behind the spool (that is the design: the
// session never waits on the network). Each recording is then read back from the store and must
// hold exactly N output bytes. MinIO runs on the same two cores; its CPU is reported beside ours.
func BenchmarkSSHThroughputSealedS3(b *testing.B) {
	m := testenv.StartMinIO(b)
	d := startBenchSSHD(b)
	runSealedThroughput(b, d, startS3Gateway(b, d, m), m, "s3")
}

// BenchmarkSSHThroughputSealedSpool is BenchmarkSSHThroughputSealedS3 with a file backend behind
// the spool in place of MinIO: the difference between the two is what the S3 store itself costs
// on these cores.
func BenchmarkSSHThroughputSealedSpool(b *testing.B) {
	d := startBenchSSHD(b)
	runSealedThroughput(b, d, startSpoolFileGateway(b, d), nil, "spool")
}

// runSealedThroughput runs the bare forwarder and gw alternately and reports both, naming gw's
// figures with label; m, if not nil, is the MinIO whose CPU to report.
func runSealedThroughput(b *testing.B, d *benchSSHD, gw *benchGateway, m *testenv.MinIO, label string) {
	n := envSize(b, "VIGIL_BENCH_BYTES", 256<<20)
	fwd := startBareForwarder(b, d)
	command := "head -c " + strconv.FormatInt(n, 10) + " /dev/zero"

	var bare, vigil, bareCPU, vigilCPU, vigilMinIO time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := cpuTime(syscall.RUSAGE_SELF)
		t, err := sshRun(d, fwd.Port, d.User, command)
		if err != nil {
			b.Fatal(err)
		}
		bare += t
		bareCPU += cpuTime(syscall.RUSAGE_SELF) - c0

		c0, m0 := cpuTime(syscall.RUSAGE_SELF), m.CPU()
		if t, err = sshRun(d, gw.Port, benchLogin, command); err != nil {
			b.Fatal(err)
		}
		vigil += t
		vigilCPU += cpuTime(syscall.RUSAGE_SELF) - c0
		vigilMinIO += m.CPU() - m0
	}
	b.StopTimer()
	// What the store spends on the uploads that run behind the spool after the last session.
	m0 := m.CPU()
	if f, ok := gw.Store.Backend().(interface{ Flush(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		if err := f.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	tailMinIO := m.CPU() - m0
	objs, err := gw.Store.Backend().List(context.Background(), "recordings/")
	if err != nil {
		b.Fatal(err)
	}
	var objBytes int64
	for _, o := range objs {
		objBytes += o.Size
	}

	for _, rec := range waitRecordings(b, gw.Store, b.N) {
		var got int64
		err := eachRecord(gw.Store, rec, func(r eventlog.Record) error {
			if r.Type == eventlog.TypeOutput {
				got += int64(len(r.Payload))
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("recording %s holds %d output bytes; sent %d (cause %q)", rec.ID, got, n, rec.End.Cause)
		}
	}

	total := float64(n) * float64(b.N)
	mbps := func(t time.Duration) float64 { return total / 1e6 / t.Seconds() }
	b.ReportMetric(mbps(bare), "MB/s-bare")
	b.ReportMetric(mbps(vigil), "MB/s-vigil-"+label)
	b.ReportMetric(mbps(vigil)/mbps(bare), "vigil-"+label+"/bare")
	b.ReportMetric(total/1e6/bareCPU.Seconds(), "MB/cpu-s-bare")
	b.ReportMetric(total/1e6/vigilCPU.Seconds(), "MB/cpu-s-vigil-"+label)
	if m != nil {
		// MinIO runs on the same cores: its CPU during the gateway's runs, as a share of the
		// two cores' time in them, and per GB once the uploads behind the spool have finished.
		b.ReportMetric(vigilMinIO.Seconds()/(2*vigil.Seconds()), "minio-share-of-2-cores")
		b.ReportMetric((vigilMinIO+tailMinIO).Seconds()/(total/1e9), "minio-cpu-s/GB")
	}
	// The store's cost is mostly per object: how many the recordings took, and their mean size.
	b.ReportMetric(float64(len(objs))/(total/1e9), "objects/GB")
	b.ReportMetric(float64(objBytes)/float64(max(1, len(objs)))/1e3, "kB/object")
	b.ReportMetric(0, "ns/op")
}
