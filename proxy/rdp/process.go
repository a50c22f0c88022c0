package rdp

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// startWorker starts the worker with pipes on its stdin and stdout and its stderr kept as a
// bounded tail, then confines it. The worker reads its Connect frame before it does anything,
// so limits applied right after the start (prlimit on its pid) are in force before it meets the
// network or the server's bytes.
func startWorker(o Options) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.ReadCloser, errTail *tail, err error) {
	argv := o.Worker
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("rdp: start worker: %w", err)
		}
		argv = []string{exe, "rdp-worker"}
	}
	cmd = exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "WLOG_LEVEL=WARN", "MALLOC_ARENA_MAX=2"}, o.WorkerEnv...)
	// Its own process group: a signal meant for the gateway's group (a terminal's ^C) is not the
	// worker's, and the gateway decides when a worker ends.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true, Pdeathsig: unix.SIGKILL}
	errTail = &tail{max: 4 << 10}
	cmd.Stderr = errTail
	if os.Getenv("VIGIL_RDP_DEBUG") != "" {
		// Debugging aid: the worker's log on the gateway's stderr too (FreeRDP logs no secrets).
		cmd.Stderr = io.MultiWriter(errTail, os.Stderr)
		cmd.Env = append(cmd.Env, "WLOG_LEVEL=DEBUG")
	}
	if stdin, err = cmd.StdinPipe(); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("rdp: start worker: %w", err)
	}
	if stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("rdp: start worker: %w", err)
	}
	if err = cmd.Start(); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("rdp: start worker %s: %w", argv[0], err)
	}
	if err = confine(cmd.Process.Pid, o); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, nil, nil, nil, err
	}
	return cmd, stdin, stdout, errTail, nil
}

// confine sets the worker's address-space and CPU-time limits. Hard and soft are the same: the
// worker has no reason to raise them.
func confine(pid int, o Options) error {
	cpu := uint64(o.CPULimit / time.Second)
	for _, l := range []struct {
		res  int
		v    uint64
		name string
	}{{unix.RLIMIT_AS, o.MemoryLimit, "RLIMIT_AS"}, {unix.RLIMIT_CPU, cpu, "RLIMIT_CPU"}} {
		lim := unix.Rlimit{Cur: l.v, Max: l.v}
		if err := unix.Prlimit(pid, l.res, &lim, nil); err != nil {
			return fmt.Errorf("rdp: confine worker: %s: %w", l.name, err)
		}
	}
	return nil
}

// tail keeps the last max bytes written: the worker's log, quoted when it dies. FreeRDP does not
// log credentials; the worker logs none.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
