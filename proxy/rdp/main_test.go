package rdp

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seed18fc72c3/vigil/proxy/rdp/worker"
)

// workerEnv makes this test binary act as the worker (as `vigil rdp-worker` does in production).
const workerEnv = "VIGIL_RDP_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		os.Exit(worker.Main())
	}
	code := m.Run()
	for _, f := range fixtures {
		f.stop()
	}
	os.Exit(code)
}

// testOptions returns Options that run this test binary as the worker.
func testOptions() Options {
	o := DefaultOptions()
	o.Worker = []string{os.Args[0], "rdp-worker"}
	o.WorkerEnv = []string{workerEnv + "=1"}
	return o
}

// fixture is an RDP server started by a fixtures/ script once per test binary.
type fixture struct {
	once        sync.Once
	err         error
	script, dir string
	args        []string
	port        int
	user, pass  string
	stopArgs    []string
	display     string // shadow: the Xvfb display it shares
}

var (
	fixtures   = map[string]*fixture{}
	fixturesMu sync.Mutex
)

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server starts (once) the named fixture: "xrdp" (TLS, no NLA) or "shadow" (NLA).
func server(t testing.TB, name string) *fixture {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the RDP fixtures need root (test users, xrdp-sesman)")
	}
	fixturesMu.Lock()
	f, ok := fixtures[name]
	if !ok {
		f = &fixture{}
		fixtures[name] = f
	}
	fixturesMu.Unlock()
	f.once.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-rdp-"+name)
		if err != nil {
			f.err = err
			return
		}
		f.dir, f.port = dir, freePort(t)
		root, _ := filepath.Abs("../../fixtures")
		switch name {
		case "xrdp":
			need(t, "xrdp", "xrdp-sesman", "xterm")
			f.script, f.user = filepath.Join(root, "xrdp.sh"), "vigilrdp"
			f.args = []string{"start", dir, fmt.Sprint(f.port)}
			f.stopArgs = []string{"stop", dir}
		case "shadow":
			need(t, "freerdp-shadow-cli", "Xvfb", "xterm", "winpr-hash")
			f.script, f.user = filepath.Join(root, "rdpshadow.sh"), "vigilshadow"
			disp := fmt.Sprint(60 + f.port%30)
			f.display = ":" + disp
			f.args = []string{"start", dir, disp, fmt.Sprint(f.port)}
			f.stopArgs = []string{"stop", dir}
		}
		out, err := exec.Command("sh", append([]string{f.script}, f.args...)...).CombinedOutput()
		if err != nil {
			f.err = fmt.Errorf("%s: %v: %s", name, err, out)
			return
		}
		p, err := os.ReadFile(filepath.Join(dir, "password"))
		f.pass, f.err = strings.TrimSpace(string(p)), err
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f
}

func (f *fixture) stop() {
	if f.script != "" {
		_ = exec.Command("sh", append([]string{f.script}, f.stopArgs...)...).Run()
		os.RemoveAll(f.dir)
	}
}

func (f *fixture) options(sec Security) Options {
	o := testOptions()
	o.Host, o.Port, o.User, o.Password, o.Security = "127.0.0.1", f.port, f.user, f.pass, sec
	return o
}

func need(t testing.TB, progs ...string) {
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
}
