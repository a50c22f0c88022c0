package gateway_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// typist is one interactive session that types lines into cat and keeps what it sent and what it
// received, for comparison with its recording.
type typist struct {
	local    string // the client's address: the gateway records it as the session's remote
	sent     []byte
	mu       sync.Mutex
	received bytes.Buffer
}

func (t *typist) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.received.Write(p)
}

func (t *typist) count(s string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Count(t.received.Bytes(), []byte(s))
}

// typingLoad describes one run of concurrent typists.
type typingLoad struct {
	sessions, lines int
	ramp            time.Duration // between session starts: 200 handshakes at once would time out
	interval        time.Duration // between lines
}

// loadResult is what one run cost this process, measured from before the first dial.
type loadResult struct {
	typists      []*typist
	cpu          time.Duration
	heapPeak     int64 // HeapInuse after a GC, all sessions open and typing, minus before
	rssPeak      int64
	established  time.Duration // until every session was open
	typingPeriod time.Duration
}

// runTypists opens every session (pty, cat), waits until all are open, lets them type at once,
// measures memory in the middle of the typing, and ends each session with ^D once cat has
// echoed its last line.
func runTypists(tb testing.TB, addr, user string, d *benchSSHD, load typingLoad) loadResult {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, rss0, cpu0 := int64(ms.HeapInuse), rss(), cpuTime(syscall.RUSAGE_SELF)
	start := time.Now()

	res := loadResult{typists: make([]*typist, load.sessions)}
	var ready, done sync.WaitGroup
	ready.Add(load.sessions)
	done.Add(load.sessions)
	begin := make(chan struct{})
	errs := make(chan error, load.sessions)
	for k := range load.sessions {
		t := &typist{}
		res.typists[k] = t
		go func() {
			defer done.Done()
			readied := false
			defer func() {
				if !readied {
					ready.Done()
				}
			}()
			time.Sleep(time.Duration(k) * load.ramp)
			cfg := d.upstreamConfig()
			cfg.User = user
			if addr != d.Addr {
				cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey()
			}
			c, err := ssh.Dial("tcp", addr, cfg)
			if err != nil {
				errs <- fmt.Errorf("session %d: dial: %w", k, err)
				return
			}
			defer c.Close()
			t.local = c.LocalAddr().String()
			sess, err := c.NewSession()
			if err != nil {
				errs <- fmt.Errorf("session %d: %w", k, err)
				return
			}
			sess.Stdout, sess.Stderr = t, t
			in, err := sess.StdinPipe()
			if err == nil {
				err = sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 1})
			}
			if err == nil {
				err = sess.Start("cat")
			}
			if err != nil {
				errs <- fmt.Errorf("session %d: start cat: %w", k, err)
				return
			}
			readied = true
			ready.Done()
			<-begin
			var last string
			for j := range load.lines {
				last = fmt.Sprintf("session %03d line %03d: the quick brown fox jumps over the lazy dog", k, j)
				line := last + "\r"
				if _, err := in.Write([]byte(line)); err != nil {
					errs <- fmt.Errorf("session %d: type: %w", k, err)
					return
				}
				t.sent = append(t.sent, line...)
				time.Sleep(load.interval)
			}
			// The terminal echoes the line and cat prints it: both must be back before ^D, or
			// cat would see the EOF in the middle of a line.
			for deadline := time.Now().Add(time.Minute); t.count(last+"\r\n") < 2; {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("session %d: last line never came back", k)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			in.Write([]byte{4})
			t.sent = append(t.sent, 4)
			if err := sess.Wait(); err != nil {
				errs <- fmt.Errorf("session %d: cat: %w", k, err)
			}
		}()
	}
	ready.Wait()
	res.established = time.Since(start)
	select {
	case err := <-errs:
		close(begin)
		done.Wait()
		tb.Fatal(err)
	default:
	}
	close(begin)
	res.typingPeriod = time.Duration(load.lines) * load.interval
	time.Sleep(res.typingPeriod / 2)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.heapPeak, res.rssPeak = int64(ms.HeapInuse)-heap0, rss()-rss0
	done.Wait()
	res.cpu = cpuTime(syscall.RUSAGE_SELF) - cpu0
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return res
}

// rss is this process's resident set in bytes, from /proc.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkSSHConcurrentSessions runs VIGIL_BENCH_SESSIONS (default 200) interactive sessions at
// once through the gateway, each typing VIGIL_BENCH_LINES (default 20) lines into cat over about
// three seconds, and then the same load direct to sshd, in one run. The clients live in this
// process too, so the gateway's share is the difference: it reports heap in use and RSS per
// session and CPU seconds for both runs and for the gateway alone. Every session's recording is
// read back from the store and must hold exactly the input sent and the output received: zero
// lost events.
func BenchmarkSSHConcurrentSessions(b *testing.B) {
	load := typingLoad{
		sessions: envInt(b, "VIGIL_BENCH_SESSIONS", 200),
		lines:    envInt(b, "VIGIL_BENCH_LINES", 20),
		ramp:     10 * time.Millisecond,
		interval: 150 * time.Millisecond,
	}
	d := startBenchSSHD(b)
	gw := startBenchGateway(b, d)
	var direct, vigil loadResult
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		direct = runTypists(b, d.Addr, d.User, d, load)
		vigil = runTypists(b, gw.Addr, benchLogin, d, load)

		b.StopTimer()
		verifyTypists(b, gw, vigil.typists, load.sessions*(i+1))
		b.StartTimer()
	}
	b.StopTimer()

	n := float64(load.sessions)
	b.ReportMetric(n, "sessions")
	b.ReportMetric(float64(vigil.heapPeak-direct.heapPeak)/n/(1<<20), "MiB-heap/session-gw")
	b.ReportMetric(float64(vigil.rssPeak-direct.rssPeak)/n/(1<<20), "MiB-rss/session-gw")
	b.ReportMetric(float64(direct.rssPeak)/n/(1<<20), "MiB-rss/session-clients")
	b.ReportMetric(vigil.cpu.Seconds(), "cpu-s-vigil")
	b.ReportMetric(direct.cpu.Seconds(), "cpu-s-direct")
	b.ReportMetric((vigil.cpu - direct.cpu).Seconds(), "cpu-s-gw")
	b.ReportMetric(vigil.established.Seconds(), "s-to-open-all-vigil")
	b.ReportMetric(direct.established.Seconds(), "s-to-open-all-direct")
	b.ReportMetric(0, "ns/op")
}

// verifyTypists reads each session's recording back, as an auditor would, and compares it with
// what its client sent and received.
func verifyTypists(tb testing.TB, gw *benchGateway, typists []*typist, total int) {
	tb.Helper()
	recs := waitRecordings(tb, gw.Store, total)
	byRemote := map[string]int{}
	for i, rec := range recs {
		byRemote[rec.Session.Remote] = i
	}
	lost := 0
	for k, t := range typists {
		i, ok := byRemote[t.local]
		if !ok {
			tb.Errorf("session %d (%s): no recording", k, t.local)
			lost++
			continue
		}
		out, in, err := recordedStreams(gw.Store, recs[i])
		if err != nil {
			tb.Fatalf("session %d: %v", k, err)
		}
		t.mu.Lock()
		received := t.received.Bytes()
		t.mu.Unlock()
		if !bytes.Equal(in, t.sent) || !bytes.Equal(out, received) {
			lost++
			tb.Errorf("session %d: recording holds %d input and %d output bytes; sent %d, received %d",
				k, len(in), len(out), len(t.sent), len(received))
		}
	}
	if lost > 0 {
		tb.Fatalf("%d of %d sessions lost events", lost, len(typists))
	}
}

// TestGatewayRecordsConcurrentTypists is the benchmark's zero-lost-events check at test size, so
// `go test -race` exercises the harness and the gateway's recording path on every run.
func TestGatewayRecordsConcurrentTypists(t *testing.T) {
	d := startBenchSSHD(t)
	gw := startBenchGateway(t, d)
	load := typingLoad{sessions: 5, lines: 4, ramp: 5 * time.Millisecond, interval: 20 * time.Millisecond}
	res := runTypists(t, gw.Addr, benchLogin, d, load)
	verifyTypists(t, gw, res.typists, load.sessions)
}
