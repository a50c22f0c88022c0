package gateway_test

// The SSH gateway benchmarks of the "SSH gateway" issue, measured against real OpenSSH on
// 127.0.0.1: throughput (throughput_bench_test.go), keystroke round trip (keystroke_bench_test.go)
// and 200 concurrent sessions (concurrent_bench_test.go). This file holds what they share: an sshd
// with raised connection limits, the gateway recording into storage/file, and in-test auth and
// policy (the auth path is not what is measured). docs/benchmarks.md has the commands and figures.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/cmd/nodekeys"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// benchCiphers is what every client and forwarder in these benchmarks offers: AES-GCM, as the
// gateway prefers upstream (DESIGN.md: x/crypto's chacha20 has no assembly).
var benchCiphers = []string{"aes128-gcm@openssh.com"}

// benchTarget is the target name the gateway's policy knows; the gateway login is "bench@sshd".
const (
	benchTarget = "sshd"
	benchLogin  = "bench@" + benchTarget
)

// envSize reads a byte count such as 1073741824, 64M or 1G from the environment.
func envSize(tb testing.TB, name string, def int64) int64 {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	mult := int64(1)
	switch strings.ToUpper(v[len(v)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive byte count like 1073741824, 64M or 1G", name, os.Getenv(name))
	}
	return n * mult
}

// envInt reads a positive count from the environment.
func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchSSHD is the fixture's sshd user and keys, served by a second sshd whose config raises
// MaxStartups: OpenSSH's default (10:30:100) drops unauthenticated connections beyond ten, and
// the concurrency benchmark opens 200. fixtures/sshd.sh has no option for extra config lines, so
// the fixture's config is copied with a new port and pid file and started here, stopped by PID.
type benchSSHD struct {
	*testenv.SSHD
	Addr    string // of the raised-limit sshd
	Port    int
	KeyFile string // the test user's private key, for the OpenSSH client
}

func startBenchSSHD(tb testing.TB) *benchSSHD {
	tb.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		tb.Skip("OpenSSH client not installed (Debian openssh-client): skipping the SSH gateway benchmarks")
	}
	d := testenv.StartSSHD(tb) // skips when sshd is absent or we are not root
	conf, err := os.ReadFile(filepath.Join(d.Dir, "sshd_config"))
	if err != nil {
		tb.Fatal(err)
	}
	port := freePort(tb)
	pidFile := filepath.Join(d.Dir, "bench_sshd.pid")
	conf = regexp.MustCompile(`(?m)^Port .*$`).ReplaceAll(conf, []byte("Port "+strconv.Itoa(port)))
	conf = regexp.MustCompile(`(?m)^PidFile .*$`).ReplaceAll(conf, []byte("PidFile "+pidFile))
	// Quieter than the fixture's VERBOSE: 400 connections would fill the log for nothing.
	conf = regexp.MustCompile(`(?m)^LogLevel .*$`).ReplaceAll(conf, []byte("LogLevel INFO"))
	conf = append(conf, "MaxStartups 1000:100:1000\nMaxSessions 20\n"...)
	confPath := filepath.Join(d.Dir, "bench_sshd_config")
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/sshd", "-f", confPath, "-E", filepath.Join(d.Dir, "bench_sshd.log")).CombinedOutput(); err != nil {
		tb.Fatalf("start sshd: %v\n%s", err, out)
	}
	var pid int
	for i := 0; ; i++ {
		b, _ := os.ReadFile(pidFile)
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			break
		}
		if i > 200 {
			tb.Fatalf("sshd wrote no pid file; see %s", filepath.Join(d.Dir, "bench_sshd.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) }) // by PID, never by name
	return &benchSSHD{
		SSHD: d, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port,
		KeyFile: filepath.Join(d.Dir, "id_ed25519"),
	}
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newHostSigner(tb testing.TB) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// upstreamConfig logs in to the benchmark sshd as the test user with its key.
func (d *benchSSHD) upstreamConfig() *ssh.ClientConfig {
	cfg := &ssh.ClientConfig{
		User: d.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(d.Key)},
		HostKeyCallback: ssh.FixedHostKey(d.HostKey), Timeout: 30 * time.Second,
	}
	cfg.Ciphers = benchCiphers
	return cfg
}

// keyAuth admits one gateway user, logging in with one public key, with a role.
type keyAuth struct {
	user, role string
	key        ssh.PublicKey
}

func (keyAuth) Password(context.Context, string, []byte, netip.Addr) (proxyssh.Principal, error) {
	return proxyssh.Principal{}, proxyssh.ErrBadCredential
}

func (a keyAuth) PublicKey(_ context.Context, user string, key ssh.PublicKey, _ netip.Addr) (proxyssh.Principal, error) {
	if user != a.user || !bytes.Equal(key.Marshal(), a.key.Marshal()) {
		return proxyssh.Principal{}, proxyssh.ErrBadCredential
	}
	return proxyssh.Principal{User: a.user, Role: a.role}, nil
}

// sshdPolicy knows one target, a test sshd at addr, reached with the fixture user's key.
type sshdPolicy struct {
	target, addr string
	sshd         *testenv.SSHD
}

func (p sshdPolicy) Targets(context.Context, proxyssh.Principal) ([]string, error) {
	return []string{p.target}, nil
}

func (p sshdPolicy) Resolve(_ context.Context, _ proxyssh.Principal, target string) (proxyssh.Upstream, error) {
	if target != p.target {
		return proxyssh.Upstream{}, proxyssh.ErrNoSuchTarget
	}
	return proxyssh.Upstream{
		Target: p.target, Account: p.sshd.User, Addr: p.addr,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(p.sshd.Key)},
		HostKeyCallback: ssh.FixedHostKey(p.sshd.HostKey),
	}, nil
}

// benchAuth and benchPolicy are the benchmarks' user "bench" and target, on the raised-limit sshd.
func benchAuth(d *benchSSHD) keyAuth {
	return keyAuth{user: "bench", role: "admin", key: d.Key.PublicKey()}
}
func benchPolicy(d *benchSSHD) sshdPolicy {
	return sshdPolicy{target: benchTarget, addr: d.Addr, sshd: d.SSHD}
}

// benchGateway is a running Vigil gateway recording into storage/file in a temp dir.
type benchGateway struct {
	Addr  string
	Port  int
	Store *gateway.Recordings
}

func startBenchGateway(tb testing.TB, d *benchSSHD) *benchGateway {
	tb.Helper()
	backend, err := file.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := nodekeys.Ensure(filepath.Join(tb.TempDir(), "keys"))
	if err != nil {
		tb.Fatal(err)
	}
	opts := encode.DefaultOptions()
	// Segment size is a knob for diagnosis; the figures in docs/benchmarks.md use the default.
	opts.SegmentBytes = int(envSize(tb, "VIGIL_BENCH_SEGMENT_BYTES", int64(opts.SegmentBytes)))
	return serveBenchGateway(tb, d, gateway.NewRecordings(backend, keys, nil), opts)
}

// serveBenchGateway runs the gateway in-process, recording into store, until tb ends.
func serveBenchGateway(tb testing.TB, d *benchSSHD, store *gateway.Recordings, opts encode.Options) *benchGateway {
	tb.Helper()
	cfg := proxyssh.DefaultConfig()
	cfg.HostSigner = newHostSigner(tb)
	cfg.Auth = benchAuth(d)
	cfg.Policy = benchPolicy(d)
	// The whole gateway logs nothing to the benchmark's output; errors still reach the recording
	// summary, which the benchmarks check.
	log := slog.New(slog.DiscardHandler)
	cfg.Recorder = &gateway.Recorder{Store: store, Options: opts, Log: log}
	cfg.Logger = log
	// Dialing is not what is measured: under 200 simultaneous logins on 2 cores sshd can take
	// longer than the 5 s default to answer.
	cfg.DialTimeout = 30 * time.Second
	srv, err := proxyssh.NewServer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("gateway Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Error("gateway Serve did not return after shutdown")
		}
		store.Close()
	})
	return &benchGateway{Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port, Store: store}
}

// waitRecordings returns the store's recordings once n of them have a final manifest (the
// recorder writes it last, after every segment). The bound is a hang guard, not a timing target.
func waitRecordings(tb testing.TB, store *gateway.Recordings, n int) []gateway.Recording {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		all, err := store.List(context.Background())
		if err != nil {
			tb.Fatalf("list recordings: %v", err)
		}
		done := 0
		for _, r := range all {
			if r.End != nil {
				done++
			}
		}
		if done >= n {
			return all
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d recordings finished after 3 minutes", done, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eachRecord reads a recording back from the store, as an auditor would, and calls fn with each
// record in order.
func eachRecord(store *gateway.Recordings, rec gateway.Recording, fn func(eventlog.Record) error) error {
	segs, closeAll, err := store.OpenSegments(context.Background(), rec.ID)
	if err != nil {
		return err
	}
	defer closeAll()
	rs := encode.NewRecords(segs)
	for {
		r, err := rs.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read recording %s: %w", rec.ID, err)
		}
		if err := fn(r); err != nil {
			return fmt.Errorf("recording %s: %w", rec.ID, err)
		}
	}
}

// recordedStreams returns the concatenated payloads of a recording's output and input records.
func recordedStreams(store *gateway.Recordings, rec gateway.Recording) (out, in []byte, err error) {
	err = eachRecord(store, rec, func(r eventlog.Record) error {
		switch r.Type {
		case eventlog.TypeOutput:
			out = append(out, r.Payload...)
		case eventlog.TypeInput:
			in = append(in, r.Payload...)
		}
		return nil
	})
	return out, in, err
}

// cpuTime is the CPU time (user + system) of this process, or of its waited-for children.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
