package gateway_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// sshRun runs the real OpenSSH client with key auth and AES-GCM, the remote command's output going
// to /dev/null, and returns how long it took (handshake included: about 50 ms, small next to
// the transfer at the default size).
func sshRun(d *benchSSHD, port int, login, command string) (time.Duration, error) {
	cmd := exec.Command("ssh", "-F", "/dev/null", "-T",
		"-i", d.KeyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "Ciphers=aes128-gcm@openssh.com", "-o", "Compression=no",
		"-p", strconv.Itoa(port), "-l", login, "127.0.0.1", command)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout stays nil: /dev/null
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("ssh -p %d %s %q: %w: %s", port, login, command, err, stderr.String())
	}
	return elapsed, nil
}

// BenchmarkSSHThroughput moves VIGIL_BENCH_BYTES (default 1 GiB) of `head -c N /dev/zero` output
// (VIGIL_BENCH_OUTPUT=text: lines from `yes`) from sshd to the real ssh client three ways in one run: direct, through the bare x/crypto
// forwarder, and through the Vigil gateway recording into storage/file. It reports MB/s of each,
// the ratios vigil/bare (target >= 0.85) and vigil/direct, and MB per CPU-second of this process
// (the forwarder's and the gateway's cost; the direct path runs in other processes). The
// gateway's recording is read back afterwards and must hold exactly N output bytes (all zero for the default output).
func BenchmarkSSHThroughput(b *testing.B) {
	n := envSize(b, "VIGIL_BENCH_BYTES", 1<<30)
	d := startBenchSSHD(b)
	fwd := startBareForwarder(b, d)
	gw := startBenchGateway(b, d)
	command, zeros := "head -c "+strconv.FormatInt(n, 10)+" /dev/zero", true
	switch os.Getenv("VIGIL_BENCH_OUTPUT") {
	case "", "zero":
	case "text":
		// Printable lines: what a terminal session really carries, and what its screen model
		// has to parse.
		command, zeros = "yes abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c "+strconv.FormatInt(n, 10), false
	default:
		b.Fatalf("VIGIL_BENCH_OUTPUT=%q: want zero or text", os.Getenv("VIGIL_BENCH_OUTPUT"))
	}

	var direct, bare, vigil, bareCPU, vigilCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Interleaved per iteration, so a noisy neighbour hits all three alike.
		t, err := sshRun(d, d.Port, d.User, command)
		if err != nil {
			b.Fatal(err)
		}
		direct += t

		c0 := cpuTime(syscall.RUSAGE_SELF)
		if t, err = sshRun(d, fwd.Port, d.User, command); err != nil {
			b.Fatal(err)
		}
		bare += t
		bareCPU += cpuTime(syscall.RUSAGE_SELF) - c0

		c0 = cpuTime(syscall.RUSAGE_SELF)
		if t, err = sshRun(d, gw.Port, benchLogin, command); err != nil {
			b.Fatal(err)
		}
		vigil += t
		vigilCPU += cpuTime(syscall.RUSAGE_SELF) - c0
	}
	b.StopTimer()

	// The figure is honest only if everything was recorded: read every recording back.
	recs := waitRecordings(b, gw.Store, b.N)
	for _, rec := range recs {
		var got int64
		nonZero := false
		err := eachRecord(gw.Store, rec, func(r eventlog.Record) error {
			if r.Type == eventlog.TypeOutput {
				got += int64(len(r.Payload))
				nonZero = nonZero || bytes.ContainsFunc(r.Payload, func(c rune) bool { return c != 0 })
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if got != n || (zeros && nonZero) || rec.Figure("output_bytes") != n {
			b.Fatalf("recording %s holds %d output bytes (summary %d, non-zero bytes %v); sent %d",
				rec.ID, got, rec.Figure("output_bytes"), nonZero, n)
		}
	}

	total := float64(n) * float64(b.N)
	mbps := func(t time.Duration) float64 { return total / 1e6 / t.Seconds() }
	b.ReportMetric(mbps(direct), "MB/s-direct")
	b.ReportMetric(mbps(bare), "MB/s-bare")
	b.ReportMetric(mbps(vigil), "MB/s-vigil")
	b.ReportMetric(mbps(vigil)/mbps(bare), "vigil/bare")
	b.ReportMetric(mbps(vigil)/mbps(direct), "vigil/direct")
	b.ReportMetric(total/1e6/bareCPU.Seconds(), "MB/cpu-s-bare")
	b.ReportMetric(total/1e6/vigilCPU.Seconds(), "MB/cpu-s-vigil")
	b.ReportMetric(0, "ns/op") // one op is three transfers: the metrics above say it better
}
