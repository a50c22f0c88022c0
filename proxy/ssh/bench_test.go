package ssh

import (
	"fmt"
	"io"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// BenchmarkDownload streams target output to the client directly from sshd and through the
// gateway (which records every byte in the ring) in the same run: compare the two MB/s figures.
func BenchmarkDownload(b *testing.B) {
	d := testenv.StartSSHD(b)
	g := startBenchGateway(b, d)
	direct := func() (*ssh.Client, error) {
		return ssh.Dial("tcp", d.Addr, &ssh.ClientConfig{User: d.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(d.Key)},
			HostKeyCallback: ssh.FixedHostKey(d.HostKey), Config: ssh.Config{Ciphers: upstreamCiphers}})
	}
	via := func() (*ssh.Client, error) {
		return ssh.Dial("tcp", g, &ssh.ClientConfig{User: "alice@web01", Auth: []ssh.AuthMethod{ssh.Password(gatewayPassword)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Config: ssh.Config{Ciphers: upstreamCiphers}})
	}
	for _, size := range []int{1 << 20, 16 << 20} {
		for _, leg := range []struct {
			name string
			dial func() (*ssh.Client, error)
		}{{"direct", direct}, {"gateway", via}} {
			b.Run(fmt.Sprintf("%s/%dMiB", leg.name, size>>20), func(b *testing.B) {
				c, err := leg.dial()
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					s, err := c.NewSession()
					if err != nil {
						b.Fatal(err)
					}
					out, _ := s.StdoutPipe()
					if err := s.Start(fmt.Sprintf("head -c %d /dev/zero", size)); err != nil {
						b.Fatal(err)
					}
					if n, err := io.Copy(io.Discard, out); err != nil || n != int64(size) {
						b.Fatalf("read %d, %v", n, err)
					}
					s.Wait()
					s.Close()
				}
			})
		}
	}
}
