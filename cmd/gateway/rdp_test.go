package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/rdp"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/storage/seal"
	"github.com/seed18fc72c3/vigil/vault"
)

// rdpWorker returns the worker command: $VIGIL_RDP_WORKER_BIN, or `vigil rdp-worker` built from
// this checkout, i.e. the production worker. (This test binary cannot be its own worker without a
// dispatch in TestMain: run from an init function, FreeRDP's threads block in their callbacks into
// Go until package initialization ends, which it never does.)
func rdpWorker(t *testing.T) []string {
	t.Helper()
	if bin := os.Getenv("VIGIL_RDP_WORKER_BIN"); bin != "" {
		return []string{bin, "rdp-worker"}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/seed18fc72c3/vigil/cmd/vigil").CombinedOutput(); err != nil {
		t.Fatalf("build the worker (vigil rdp-worker): %v: %s", err, out)
	}
	return []string{bin, "rdp-worker"}
}

// xrdpFixture starts fixtures/xrdp.sh (TLS, no NLA, user vigilrdp whose session is one xterm) on a
// free loopback port and stops it, by the pids the script recorded, when t ends.
func xrdpFixture(t *testing.T) (port int, user, password string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the xrdp fixture needs root (a test user, xrdp-sesman)")
	}
	for _, p := range []string{"xrdp", "xrdp-sesman", "xterm", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	script, _ := filepath.Abs("../../fixtures/xrdp.sh")
	if out, err := exec.Command("sh", script, "start", dir, strconv.Itoa(port)).CombinedOutput(); err != nil {
		t.Fatalf("xrdp: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("sh", script, "stop", dir).Run() })
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		t.Fatal(err)
	}
	return port, "vigilrdp", strings.TrimSpace(string(pw))
}

type rdpRig struct {
	d        *gateway.Desktops
	store    *gateway.Recordings
	backend  *file.Backend
	keys     *nodekeys.Keys
	acc      *access.Store
	password string
	auditMu  sync.Mutex
	audits   []proxyssh.AuditEvent
}

func (r *rdpRig) auditsOf(kind string) []proxyssh.AuditEvent {
	r.auditMu.Lock()
	defer r.auditMu.Unlock()
	var out []proxyssh.AuditEvent
	for _, e := range r.audits {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// startRDPRig puts the xrdp fixture behind the gateway's Desktops with the real video recorder:
// win1 (TOFU, right password), badpw (wrong password), pinned (a pinned certificate that is not
// the server's) and tofu2 (TOFU with a different certificate recorded already), all granted to
// alice.
func startRDPRig(t *testing.T) *rdpRig {
	t.Helper()
	port, user, pw := xrdpFixture(t)
	dir := t.TempDir()
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	tls := &access.RDPSettings{Security: access.RDPTLS}
	other := access.FormatCertFingerprint(bytes.Repeat([]byte{0x5a}, 32))
	var targets []access.Target
	var grants []access.Grant
	for _, n := range []string{"win1", "badpw", "pinned", "tofu2"} {
		rs := *tls
		if n == "pinned" {
			rs.Certificate = other
		}
		targets = append(targets, access.Target{Name: n, Host: "127.0.0.1", Port: port, Protocol: "rdp", RDP: &rs})
		grants = append(grants, access.Grant{User: "alice", Target: n, Account: user})
	}
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{
		Users: []access.User{{Name: "alice", Role: access.RoleUser}}, Targets: targets, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.CheckRDPCertificate("tofu2", bytes.Repeat([]byte{0x6b}, 32)); err != nil {
		t.Fatal(err)
	}
	vt, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"win1", "pinned", "tofu2"} {
		if err := vt.Set(n, user, vault.Secret{Password: []byte(pw)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := vt.Set("badpw", user, vault.Secret{Password: []byte("not-" + pw)}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	rig := &rdpRig{store: gateway.NewRecordings(backend, keys, nil), backend: backend, keys: keys, acc: acc, password: pw}
	rig.d = &gateway.Desktops{Ctx: ctx, Access: &gateway.Access{Store: acc, Vault: vt, Log: log},
		Registry: desktop.NewRegistry(), Log: log,
		Recorder: &gateway.DesktopRecorder{Store: rig.store, Log: log, Options: video.Options{SegmentDuration: time.Second}},
		RDP: gateway.RDPConfig{Worker: rdpWorker(t),
			LogonTimeout: 20 * time.Second}, // xrdp starts an X session per logon: slow on a loaded machine
		Audit: func(e proxyssh.AuditEvent) {
			rig.auditMu.Lock()
			rig.audits = append(rig.audits, e)
			rig.auditMu.Unlock()
		}}
	t.Cleanup(func() {
		cancel()
		for _, l := range rig.d.Registry.Sessions() {
			if s, err := rig.d.Registry.Session(l.ID); err == nil {
				<-s.Done()
			}
		}
	})
	return rig
}

// snapshot is the session's current screen.
func snapshot(t *testing.T, s *desktop.Session) *image.RGBA {
	t.Helper()
	img, rd, err := s.Attach()
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	return img
}

// waitScreen polls the session's screen until ok accepts it.
func waitScreen(t *testing.T, s *desktop.Session, within time.Duration, what string, ok func(*image.RGBA) bool) *image.RGBA {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		img := snapshot(t, s)
		if ok(img) {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		select {
		case <-s.Done():
			t.Fatalf("%s: the session ended: %v", what, s.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rdpScancodes maps the characters typeRDP needs to set-1 scancodes (shift in [1]).
var rdpScancodes = map[rune][2]uint16{
	'e': {0x12, 0}, 'c': {0x2e, 0}, 'h': {0x23, 0}, 'o': {0x18, 0}, ' ': {0x39, 0}, '\n': {0x1c, 0},
	'V': {0x2f, 1}, 'I': {0x17, 1}, 'G': {0x22, 1}, 'L': {0x26, 1}, '$': {0x05, 1}, '(': {0x0a, 1},
	')': {0x0b, 1}, '*': {0x09, 1}, '6': {0x07, 0}, '7': {0x08, 0},
}

func typeRDP(t *testing.T, s *desktop.Session, text string) {
	t.Helper()
	key := func(sc uint16, down bool) {
		if err := s.Input(frame.Input{Kind: frame.InputKey, Down: down, Scancode: sc}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range text {
		k, ok := rdpScancodes[r]
		if !ok {
			t.Fatalf("no scancode for %q", r)
		}
		if k[1] == 1 {
			key(0x2a, true) // VK_LSHIFT's scancode: DESIGN.md's pitfall
		}
		key(k[0], true)
		key(k[0], false)
		if k[1] == 1 {
			key(0x2a, false)
		}
	}
}

// verifyRecording checks the session's sealed chain and that ffprobe reads its first video
// segment as H.264; it returns the recording.
func (r *rdpRig) verifyRecording(t *testing.T, id string) gateway.Recording {
	t.Helper()
	ctx := context.Background()
	ref, err := r.store.Find(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := seal.Verify(ctx, r.backend, ref.Prefix, r.keys.TrustedSigners())
	if err != nil || !rep.OK() {
		t.Fatalf("verify %s: %v %v", id, err, rep.Err())
	}
	entries, readers, closeAll, err := r.store.OpenVideoSegments(ctx, ref)
	if err != nil || len(entries) == 0 {
		t.Fatalf("video segments of %s: %d, %v", id, len(entries), err)
	}
	defer closeAll()
	b, err := io.ReadAll(readers[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seg0.mp4")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,width,height", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "h264,") {
		t.Fatalf("ffprobe segment 0 of %s: %v: %s", id, err, out)
	}
	return ref
}

// workerOf finds the pid of the one RDP worker this process runs (its child with "rdp-worker" in
// the command line).
func workerOf(t *testing.T) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	var found []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		cmdline, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || err2 != nil {
			continue
		}
		// stat: pid (comm) state ppid ...; comm may hold spaces, so read after the last ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) && bytes.Contains(cmdline, []byte("rdp-worker")) {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("rdp workers of this process: %v, want exactly one", found)
	}
	return found[0]
}

// TestRDPGateway runs RDP targets through the gateway against a real xrdp: a session typed into
// and recorded (verified chain, H.264 that ffprobe reads), its certificate recorded on first use;
// a wrong password, a pinned and a recorded certificate that are not the server's, each refused
// with a clear, audited reason; a worker SIGKILLed mid-session ending the session with that cause
// while the recording up to then verifies.
func TestRDPGateway(t *testing.T) {
	rig := startRDPRig(t)
	ctx := context.Background()

	t.Run("session", func(t *testing.T) {
		s, err := rig.d.OpenSize(ctx, "alice", "win1", "127.0.0.1", "web", 1000, 700)
		if err != nil {
			t.Fatal(err)
		}
		if in := s.Info(); in.Protocol != "rdp" || in.Width != 1000 || in.Height != 700 {
			t.Errorf("info %+v, want rdp at the asked 1000x700", in)
		}
		fp, pinned, err := rig.acc.RDPCertificate("win1")
		if err != nil || pinned || len(fp) != 32 {
			t.Fatalf("certificate after first use: %x %v %v, want one recorded", fp, pinned, err)
		}
		// xrdp paints its own screen first, then the session's xterm; let it settle.
		waitScreen(t, s, 15*time.Second, "a painted screen", func(img *image.RGBA) bool {
			for i := 0; i < len(img.Pix); i += 4 {
				if img.Pix[i]|img.Pix[i+1]|img.Pix[i+2] != 0 {
					return true
				}
			}
			return false
		})
		time.Sleep(1500 * time.Millisecond)
		before := snapshot(t, s)
		typeRDP(t, s, "echo VIGIL$((6*7))\n")
		waitScreen(t, s, 15*time.Second, "the typed command on screen", func(img *image.RGBA) bool {
			return !bytes.Equal(img.Pix, before.Pix)
		})
		s.End(desktop.ErrUserExit)
		<-s.Done()
		ref := rig.verifyRecording(t, s.ID())
		if ref.Session.Protocol != "rdp" || ref.End == nil {
			t.Errorf("recording %+v end %+v", ref.Session, ref.End)
		}
		// The certificate is enforced from now on: a second session passes the same check.
		s2, err := rig.d.Open(ctx, "alice", "win1", "127.0.0.1", "rfb")
		if err != nil {
			t.Fatalf("second session with the recorded certificate: %v", err)
		}
		s2.End(desktop.ErrUserExit)
		<-s2.Done()
	})

	t.Run("wrong password", func(t *testing.T) {
		// xrdp answers a wrong password with its login dialog: only the logon timeout tells.
		rig.d.RDP.LogonTimeout = 5 * time.Second
		defer func() { rig.d.RDP.LogonTimeout = 20 * time.Second }()
		_, err := rig.d.Open(ctx, "alice", "badpw", "127.0.0.1", "web")
		if !errors.Is(err, rdp.ErrLogon) || !strings.Contains(err.Error(), "did not confirm the logon") {
			t.Fatalf("Open = %v, want rdp.ErrLogon with the reason", err)
		}
		if strings.Contains(err.Error(), rig.password) {
			t.Fatal("the error carries the password")
		}
		refused := rig.auditsOf(proxyssh.AuditRefused)
		if len(refused) == 0 || !errors.Is(refused[len(refused)-1].Cause, rdp.ErrLogon) || refused[len(refused)-1].Target != "badpw" {
			t.Fatalf("refusals audited: %+v", refused)
		}
	})

	seen, _, _ := rig.acc.RDPCertificate("win1")
	for _, tc := range []struct{ target, how, expected string }{
		{"pinned", "pinned", access.FormatCertFingerprint(bytes.Repeat([]byte{0x5a}, 32))},
		{"tofu2", "recorded on first use", access.FormatCertFingerprint(bytes.Repeat([]byte{0x6b}, 32))},
	} {
		t.Run("certificate "+tc.target, func(t *testing.T) {
			if len(seen) != 32 {
				t.Skip("no certificate seen by the session test")
			}
			_, err := rig.d.Open(ctx, "alice", tc.target, "127.0.0.1", "web")
			if !errors.Is(err, access.ErrCertificateMismatch) || !errors.Is(err, rdp.ErrCertificate) {
				t.Fatalf("Open = %v, want ErrCertificateMismatch", err)
			}
			for _, want := range []string{access.FormatCertFingerprint(seen), tc.expected, tc.how} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%v does not name %q", err, want)
				}
			}
			refused := rig.auditsOf(proxyssh.AuditRefused)
			if len(refused) == 0 || !errors.Is(refused[len(refused)-1].Cause, access.ErrCertificateMismatch) {
				t.Fatalf("refusal not audited: %+v", refused)
			}
		})
	}

	t.Run("worker killed", func(t *testing.T) {
		s, err := rig.d.Open(ctx, "alice", "win1", "127.0.0.1", "web")
		if err != nil {
			t.Fatal(err)
		}
		waitScreen(t, s, 15*time.Second, "a first screen", func(img *image.RGBA) bool { return img.Rect.Dx() > 0 })
		time.Sleep(1500 * time.Millisecond) // a segment or so recorded
		if err := syscall.Kill(workerOf(t), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Done():
		case <-time.After(20 * time.Second):
			t.Fatal("session still running 20 s after its worker was killed")
		}
		if !errors.Is(s.Err(), rdp.ErrWorker) || !strings.Contains(s.Err().Error(), "killed") {
			t.Fatalf("cause %v, want rdp.ErrWorker naming the kill", s.Err())
		}
		ref := rig.verifyRecording(t, s.ID())
		if ref.End == nil || !strings.Contains(ref.End.Cause, "killed") {
			t.Errorf("recording's end %+v, want the worker's kill as cause", ref.End)
		}
		ends := rig.auditsOf(proxyssh.AuditSessionEnd)
		if len(ends) == 0 || !errors.Is(ends[len(ends)-1].Cause, rdp.ErrWorker) {
			t.Errorf("session end audits %+v", ends)
		}
	})

	rig.auditMu.Lock()
	defer rig.auditMu.Unlock()
	for _, e := range rig.audits {
		line := fmt.Sprintf("%+v", e)
		if e.Cause != nil {
			line += e.Cause.Error()
		}
		if strings.Contains(line, rig.password) {
			t.Fatalf("the target's password in the audit event %+v", e)
		}
	}
}
