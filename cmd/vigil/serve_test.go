package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
)

// TestServeZeroConfig starts `vigil serve` in an empty directory with nothing configured but the
// listen address (so the test does not take port 2222): it makes ./vigil-data with its keys 0600,
// says what listens where, and stops cleanly on SIGINT.
func TestServeZeroConfig(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(vigilBin, "serve")
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OMP_THREAD_LIMIT=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "VIGIL_SSH_LISTEN="+addr, "VIGIL_WEB_LISTEN=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log []string
	deadline := time.After(15 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("vigil serve exited early:\n%s", strings.Join(log, "\n"))
			}
			log = append(log, l)
			if strings.Contains(l, "ssh gateway listening") {
				break wait
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no listening line:\n%s", strings.Join(log, "\n"))
		}
	}
	// OCR needs OMP_THREAD_LIMIT=1 before tesseract loads: serve re-executes itself with it.
	if environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid)); err != nil {
		t.Errorf("read the server's environment: %v", err)
	} else if !strings.Contains("\x00"+string(environ), "\x00OMP_THREAD_LIMIT=1\x00") {
		t.Error("vigil serve runs without OMP_THREAD_LIMIT=1")
	}
	if c, err := net.Dial("tcp", addr); err != nil {
		t.Errorf("the gateway does not accept connections on %s: %v", addr, err)
	} else {
		c.Close()
	}
	all := strings.Join(log, "\n")
	for _, want := range []string{"made node key", addr, "vigil-data", "web UI listening"} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q:\n%s", want, all)
		}
	}
	for _, name := range []string{nodekeys.HostKeyFile, nodekeys.SignKeyFile, nodekeys.AgeKeyFile} {
		st, err := os.Stat(filepath.Join(dir, "vigil-data", "keys", name))
		if err != nil {
			t.Errorf("key %s: %v", name, err)
		} else if st.Mode().Perm() != 0o600 {
			t.Errorf("key %s mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("vigil serve exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Error("vigil serve did not stop on SIGINT")
	}
}

func TestServeRejectsBadConfigNamingTheField(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(cfg, []byte("ssh:\n  dial_timeout: -1s\n"), 0o600)
	out, err := exec.Command(vigilBin, "serve", "--config", cfg, "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil {
		t.Fatal("vigil serve accepted a negative dial timeout")
	}
	if !strings.Contains(string(out), "ssh.dial_timeout") || !strings.Contains(string(out), "-1s") {
		t.Errorf("error does not name the field and value: %s", out)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(vigilBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "vigil ") {
		t.Fatalf("vigil version: %v %q", err, out)
	}
}
