package gateway_test

import (
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// echoSession is an interactive pty session running `cat` in raw mode without echo, so each byte
// sent comes back exactly once, from cat.
type echoSession struct {
	client *ssh.Client
	sess   *ssh.Session
	in     io.WriteCloser
	out    io.Reader
}

func openEchoSession(addr, user string, d *benchSSHD) (*echoSession, error) {
	cfg := d.upstreamConfig()
	cfg.User = user
	if addr != d.Addr {
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() // the gateway's and forwarder's keys are throwaway
	}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	e := &echoSession{client: c}
	if e.sess, err = c.NewSession(); err != nil {
		c.Close()
		return nil, err
	}
	if e.in, err = e.sess.StdinPipe(); err == nil {
		e.out, err = e.sess.StdoutPipe()
	}
	if err == nil {
		err = e.sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{})
	}
	if err == nil {
		err = e.sess.Start("stty raw -echo && printf R && exec cat")
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("start cat on %s: %w", addr, err)
	}
	// Anything before the R (a motd, a banner) is not ours; after it, the terminal is raw.
	var b [1]byte
	for b[0] != 'R' {
		if _, err := io.ReadFull(e.out, b[:]); err != nil {
			c.Close()
			return nil, fmt.Errorf("wait for raw mode on %s: %w", addr, err)
		}
	}
	return e, nil
}

// roundTrip sends one byte and waits for its echo.
func (e *echoSession) roundTrip(c byte) (time.Duration, error) {
	var b [1]byte
	start := time.Now()
	if _, err := e.in.Write([]byte{c}); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(e.out, b[:]); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if b[0] != c {
		return 0, fmt.Errorf("sent %q, echoed %q", c, b[0])
	}
	return d, nil
}

func (e *echoSession) close() { e.client.Close() }

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkSSHKeystroke measures the round trip of one keystroke in a pty session running cat:
// VIGIL_BENCH_KEYS (default 2,000) bytes per path, direct to sshd, through the bare forwarder and
// through the gateway (recording), interleaved key by key so noise hits all three alike. It
// reports median and p99 of each and what the gateway adds over direct (targets: +0.2 ms median,
// +1 ms p99). The gateway's recording must hold every key sent and every echo received.
func BenchmarkSSHKeystroke(b *testing.B) {
	keys := envInt(b, "VIGIL_BENCH_KEYS", 2000)
	d := startBenchSSHD(b)
	fwd := startBareForwarder(b, d)
	gw := startBenchGateway(b, d)
	paths := []struct {
		name, addr, user string
	}{
		{"direct", d.Addr, d.User},
		{"bare", fwd.Addr, d.User},
		{"vigil", gw.Addr, benchLogin},
	}
	samples := make([][]time.Duration, len(paths))
	var sent []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sessions := make([]*echoSession, len(paths))
		for p, path := range paths {
			s, err := openEchoSession(path.addr, path.user, d)
			if err != nil {
				b.Fatal(err)
			}
			sessions[p] = s
		}
		for k := 0; k < keys; k++ {
			c := byte('a' + k%26)
			for p, s := range sessions {
				t, err := s.roundTrip(c)
				if err != nil {
					b.Fatalf("%s: key %d: %v", paths[p].name, k, err)
				}
				samples[p] = append(samples[p], t)
			}
			sent = append(sent, c)
		}
		for _, s := range sessions {
			s.close()
		}
	}
	b.StopTimer()

	// Every key and every echo must be on record, in order.
	recs := waitRecordings(b, gw.Store, b.N)
	var out, in []byte
	for _, rec := range recs {
		o, i, err := recordedStreams(gw.Store, rec)
		if err != nil {
			b.Fatal(err)
		}
		if len(o) == 0 || o[0] != 'R' {
			b.Fatalf("recording %s: output does not start with the raw-mode marker: %.40q", rec.ID, o)
		}
		out, in = append(out, o[1:]...), append(in, i...)
	}
	if string(in) != string(sent) || string(out) != string(sent) {
		b.Fatalf("recording holds %d input and %d output bytes after the prompt; sent and echoed %d",
			len(in), len(out), len(sent))
	}

	var p50, p99 []time.Duration
	for p, path := range paths {
		slices.Sort(samples[p])
		p50, p99 = append(p50, quantile(samples[p], 0.5)), append(p99, quantile(samples[p], 0.99))
		b.ReportMetric(ms(p50[p]), "ms-p50-"+path.name)
		b.ReportMetric(ms(p99[p]), "ms-p99-"+path.name)
	}
	b.ReportMetric(ms(p50[1]-p50[0]), "ms-added-p50-bare")
	b.ReportMetric(ms(p99[1]-p99[0]), "ms-added-p99-bare")
	b.ReportMetric(ms(p50[2]-p50[0]), "ms-added-p50-vigil")
	b.ReportMetric(ms(p99[2]-p99[0]), "ms-added-p99-vigil")
	b.ReportMetric(0, "ns/op")
}
