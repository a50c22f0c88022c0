package ssh

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// BenchmarkShadowLatency measures how long target output takes from the gateway's ring (the
// moment the gateway read it from the target, Chunk.Time) to a shadow's Next, with 1 and 4
// viewers: each iteration types a command and waits until every shadow showed its output.
// Reported: p50 and p99 over every output chunk of every shadow, in microseconds.
func BenchmarkShadowLatency(b *testing.B) {
	d := testenv.StartSSHD(b)
	cfg := DefaultConfig()
	cfg.HostSigner = hostSigner(b)
	cfg.Auth, cfg.Policy, cfg.Recorder = &fakeAuth{}, &fakePolicy{targets: map[string]Upstream{"web01": sshdUpstream(d, "web01")}}, &discardRecorder{}
	srv, err := NewServer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done })

	for _, viewers := range []int{1, 4} {
		b.Run(fmt.Sprintf("shadows=%d", viewers), func(b *testing.B) {
			c, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{User: "alice@web01",
				Auth: []ssh.AuthMethod{ssh.Password(gatewayPassword)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			in, _ := s.StdinPipe()
			if err := s.RequestPty("xterm", 40, 120, nil); err != nil {
				b.Fatal(err)
			}
			if err := s.Shell(); err != nil {
				b.Fatal(err)
			}
			var live *Live
			for live == nil {
				if list := srv.Sessions(); len(list) > 0 {
					live, _ = srv.Session(list[0].ID)
				} else {
					time.Sleep(time.Millisecond)
				}
			}
			shadows := make([]*Shadow, viewers)
			for i := range shadows {
				if shadows[i], err = live.Shadow(ctx); err != nil {
					b.Fatal(err)
				}
				defer shadows[i].Close()
			}
			var lat []time.Duration
			i := 0
			for b.Loop() {
				i++
				want := fmt.Sprintf("tok-%d", i*7)
				fmt.Fprintf(in, "echo tok-$((%d*7))\n", i)
				for _, sh := range shadows {
					var seen strings.Builder
					for !strings.Contains(seen.String(), want) {
						ch, err := sh.Next(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if !ch.Keyframe {
							lat = append(lat, time.Since(ch.Time))
						}
						seen.Write(ch.Data)
					}
				}
			}
			b.StopTimer()
			if len(lat) > 0 {
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}
