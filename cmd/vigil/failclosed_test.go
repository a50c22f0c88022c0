package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// served is a `vigil serve` process the test controls: it may be killed (kill -9) and restarted
// on the same data directory and address.
type served struct {
	t       *testing.T
	data    string
	addr    string
	env     []string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// startServeEnv runs `vigil serve` with extra VIGIL_* environment and stops it (SIGINT, by PID)
// when the test ends.
func startServeEnv(t *testing.T, data, addr string, env ...string) *served {
	t.Helper()
	s := &served{t: t, data: data, addr: addr, env: env, logPath: filepath.Join(t.TempDir(), "serve.log")}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *served) start() {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(vigilBin, "serve", "--data-dir", s.data, "--ssh-listen", s.addr, "--web-listen", "127.0.0.1:0", "--log-level", "debug")
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("vigil serve did not listen on %s:\n%s", s.addr, s.log())
}

// kill ends the process with SIGKILL, as a crash would.
func (s *served) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

func (s *served) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.t.Error("vigil serve did not stop within 15s of SIGINT")
	}
}

func (s *served) log() string { b, _ := os.ReadFile(s.logPath); return string(b) }

// waitLog waits until the serve log matches re.
func (s *served) waitLog(what string, re *regexp.Regexp, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for !re.MatchString(s.log()) {
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s in the serve log:\n%s", what, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gatewayFixture is a data directory with alice allowed to reach a real sshd as web01.
type gatewayFixture struct {
	data, priv string
	sshd       *testenv.SSHD
}

func newGatewayFixture(t *testing.T) gatewayFixture {
	t.Helper()
	sshd := testenv.StartSSHD(t)
	data := filepath.Join(t.TempDir(), "data")
	priv, pub := gatewayUserKey(t, t.TempDir())
	host, port, _ := net.SplitHostPort(sshd.Addr)
	mustVigil(t, data, "", "user", "add", "alice", "--role", "user", "--key", pub)
	mustVigil(t, data, "", "target", "add", "web01", "--host", host, "--port", port)
	mustVigil(t, data, sshd.Password+"\n", "credential", "set", "web01", sshd.User)
	mustVigil(t, data, "", "grant", "add", "alice", "web01", sshd.User)
	return gatewayFixture{data: data, priv: priv, sshd: sshd}
}

// syncBuffer is a bytes.Buffer the ssh client writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// ticker is the remote command of a session that keeps producing numbered lines.
const ticker = `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo tick-$i; sleep 0.02; done`

var tickRE = regexp.MustCompile(`tick-(\d+)`)

// lastTick is the highest tick number in out.
func lastTick(out string) int {
	n := 0
	for _, m := range tickRE.FindAllStringSubmatch(out, -1) {
		if k, _ := strconv.Atoi(m[1]); k > n {
			n = k
		}
	}
	return n
}

// waitTicks waits until out shows more than n ticks and returns the last.
func waitTicks(t *testing.T, out *syncBuffer, n int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if k := lastTick(out.String()); k > n {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session's output stopped at tick %d (waiting for more than %d)", lastTick(out.String()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ticksComplete reports the first missing tick of 1..n in out, or 0 when none is missing.
func ticksComplete(out string, n int) int {
	seen := map[int]bool{}
	for _, m := range tickRE.FindAllStringSubmatch(out, -1) {
		k, _ := strconv.Atoi(m[1])
		seen[k] = true
	}
	for k := 1; k <= n; k++ {
		if !seen[k] {
			return k
		}
	}
	return 0
}

// fill writes a file into dir until the file system is full (tmpfs allocates whole pages, so
// 4 KiB blocks leave nothing free).
func fill(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return name
		}
	}
}

// TestFailClosed puts the file store on a 4 MiB tmpfs and fills it in the middle of a session
// that keeps printing, twice: the first time space comes back within recording.failure_grace and
// the session goes on with nothing lost; the second time it does not, and the session ends with
// one clear line and a non-zero exit, the audit log names the cause, and the recording verifies
// up to the failure.
func TestFailClosed(t *testing.T) {
	need(t, "ssh")
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs as the store")
	}
	// The store is the data directory's default one, so the CLI finds it without configuration.
	fx := newGatewayFixture(t)
	store := filepath.Join(fx.data, "store")
	if err := os.MkdirAll(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", store).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", store).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", store, err, out)
		}
	})
	gw := freeAddr(t)
	const grace = 4 * time.Second
	srv := startServeEnv(t, fx.data, gw, "VIGIL_RECORDING_SEGMENT_DURATION=300ms", "VIGIL_RECORDING_FAILURE_GRACE="+grace.String(),
		"VIGIL_RECORDING_STALL_TIMEOUT=8s")

	var stdout, stderr syncBuffer
	ssh := exec.Command("ssh", append(sshArgs(gw, fx.priv, "alice@web01"), ticker)...)
	ssh.Stdout, ssh.Stderr = &stdout, &stderr
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- ssh.Wait() }()
	t.Cleanup(func() { ssh.Process.Kill() })
	waitTicks(t, &stdout, 20, 15*time.Second)

	// A failure shorter than the grace: the session is paused, then goes on.
	filler := fill(t, store)
	srv.waitLog("the recording paused", regexp.MustCompile(`recording paused`), 5*time.Second)
	time.Sleep(grace / 4)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	srv.waitLog("the recording resumed", regexp.MustCompile(`recording resumed`), grace)
	// What the user had seen when the storage came back was printed before or during the pause.
	resumedAt := lastTick(stdout.String())
	waitTicks(t, &stdout, resumedAt+30, 15*time.Second)

	// A failure longer than the grace: the session ends.
	fill(t, store)
	var err error
	select {
	case err = <-exited:
	case <-time.After(grace + 15*time.Second):
		t.Fatalf("the session was not ended %v after the store filled up; serve log:\n%s", grace+15*time.Second, srv.log())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("ssh ended with %v, want a non-zero exit status", err)
	}
	if !strings.Contains(stderr.String(), "vigil: recording failed, session ended") {
		t.Errorf("the user was not told why: stderr %q", stderr.String())
	}
	endedAt := lastTick(stdout.String())

	// The audit log names the cause.
	ends := mustVigil(t, fx.data, "", "audit", "--kind", "session-end")
	if !strings.Contains(ends, "recording failure") || !strings.Contains(ends, "no space left on device") {
		t.Errorf("the audit log's session end lacks the cause:\n%s", ends)
	}

	// The recording holds every tick the user saw until the storage came back, none missing
	// across the pause (the open segments of the second failure are lost), and verifies up to its last signed checkpoint: the final manifest could not be
	// written either, so it reads as ended by crash, with no other problem.
	list := mustVigil(t, fx.data, "", "recordings")
	id := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[len(strings.Split(strings.TrimSpace(list), "\n"))-1])[0]
	played := mustVigil(t, fx.data, "", "play", id, "--speed", "1000", "--skip-idle")
	if got := lastTick(played); got < resumedAt || got > endedAt {
		t.Errorf("the recording ends at tick %d; the user saw %d when the storage came back and %d in all", got, resumedAt, endedAt)
	}
	if missing := ticksComplete(played, lastTick(played)); missing != 0 {
		t.Errorf("the recording lacks tick %d", missing)
	}
	out, verr := vigil(t, fx.data, "", "verify", id, "--decrypt")
	if strings.Contains(out, "PROBLEM") && !strings.Contains(out, "final manifest") || strings.Count(out, "PROBLEM") > 1 {
		t.Errorf("vigil verify finds more than a missing final manifest: %v\n%s", verr, out)
	}
	if verr != nil && !strings.Contains(out, "BY CRASH") {
		t.Errorf("vigil verify fails but not as an ended-by-crash recording: %v\n%s", verr, out)
	}
	if !regexp.MustCompile(`segments\s+(\d+) listed, \d+ verified`).MatchString(out) {
		t.Errorf("vigil verify does not count the verified segments:\n%s", out)
	} else if m := regexp.MustCompile(`segments\s+(\d+) listed, (\d+) verified`).FindStringSubmatch(out); m[1] != m[2] || m[1] == "0" {
		t.Errorf("vigil verify: %s of %s segments verified\n%s", m[2], m[1], out)
	}
}
