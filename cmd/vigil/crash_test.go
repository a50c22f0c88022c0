package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// s3Env configures storage.backend s3 on m, by environment, for serve and the CLI alike.
func s3Env(m *testenv.MinIO) []string {
	return []string{"VIGIL_STORAGE_BACKEND=s3", "VIGIL_STORAGE_S3_ENDPOINT=" + m.Endpoint,
		"VIGIL_STORAGE_S3_BUCKET=" + m.Bucket, "VIGIL_STORAGE_S3_ACCESS_KEY=" + m.AccessKey,
		"VIGIL_STORAGE_S3_SECRET_KEY=" + m.SecretKey}
}

// vigilEnv is vigil with extra environment.
func vigilEnv(t *testing.T, dataDir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(vigilBin, append([]string{"--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// spooled counts the objects waiting in the spool for the object store.
func spooled(t *testing.T, data string) int {
	t.Helper()
	q, err := filepath.Glob(filepath.Join(data, "spool", "q", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(q)
}

// waitSpoolEmpty waits until every spooled object has been uploaded.
func waitSpoolEmpty(t *testing.T, data string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for spooled(t, data) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d objects still in the spool after %v", spooled(t, data), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bucketObjects lists the keys MinIO holds under prefix.
func bucketObjects(t *testing.T, m *testenv.MinIO, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var keys []string
	for o := range m.Client(t).ListObjects(ctx, m.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("minio list %s: %v", prefix, o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// TestCrashMidSession kills `vigil serve` with SIGKILL in the middle of an interactive session
// (OpenSSH in tmux, output flowing) while the object store is down, so sealed segments wait in
// the spool, then brings both back: the spooled uploads complete, `vigil verify` finds the
// recording intact up to its last signed checkpoint and reports it ended by crash (not a failure
// of integrity), and `vigil recordings` lists it as such.
func TestCrashMidSession(t *testing.T) {
	need(t, "ssh", "tmux")
	m := testenv.StartMinIO(t)
	fx := newGatewayFixture(t)
	env := append(s3Env(m), "VIGIL_RECORDING_SEGMENT_DURATION=300ms")
	gw := freeAddr(t)
	srv := startServeEnv(t, fx.data, gw, env...)

	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "crash", "ssh -tt "+strings.Join(sshArgs(gw, fx.priv, "alice@web01"), " "))
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	pane := func() string { return tmux("capture-pane", "-p", "-t", "crash") }
	waitPane := func(what string, re *regexp.Regexp) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !re.MatchString(pane()) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; the screen shows:\n%s", what, pane())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	tmux("set-option", "-t", "crash", "remain-on-exit", "on")
	waitPane("a shell prompt", regexp.MustCompile(`(?m)\$\s*$`))
	tmux("send-keys", "-t", "crash", ticker, "Enter")
	waitPane("output flowing", regexp.MustCompile(`tick-50\b`))

	// The store goes down; segments keep being sealed into the spool; then the gateway dies.
	m.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for spooled(t, fx.data) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no segments spooled while the store was down; serve log:\n%s", srv.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.kill()
	pending := spooled(t, fx.data)
	seenAtCrash := lastTick(pane())

	m.Start()
	srv.start()
	waitSpoolEmpty(t, fx.data, 30*time.Second)

	list, err := vigilEnv(t, fx.data, env, "recordings")
	if err != nil {
		t.Fatalf("vigil recordings: %v\n%s", err, list)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "ended by a crash") {
		t.Fatalf("vigil recordings does not list one recording ended by a crash:\n%s", list)
	}
	id := strings.Fields(lines[1])[0]
	keys := bucketObjects(t, m, "recordings/")
	segs := 0
	for _, k := range keys {
		if strings.Contains(k, id) && strings.HasSuffix(k, ".vlog.age") {
			segs++
		}
	}
	if segs == 0 {
		t.Fatalf("MinIO holds no segment of %s after the restart (%d were spooled at the crash): %v", id, pending, keys)
	}

	out, verr := vigilEnv(t, fx.data, env, "verify", id, "--decrypt")
	if verr == nil || !strings.Contains(out, "BY CRASH") || !strings.Contains(verr.Error()+out, "ended by crash") {
		t.Errorf("vigil verify does not report a crash: %v\n%s", verr, out)
	}
	if n := strings.Count(out, "PROBLEM"); n != 1 || !strings.Contains(out, "final manifest") {
		t.Errorf("vigil verify finds more than the missing final manifest:\n%s", out)
	}
	mm := regexp.MustCompile(`segments\s+(\d+) listed, (\d+) verified`).FindStringSubmatch(out)
	if mm == nil || mm[1] != mm[2] || mm[1] == "0" {
		t.Errorf("vigil verify: not every listed segment verified:\n%s", out)
	}
	// Everything up to the last sealed segment replays, with no tick missing.
	played, err := vigilEnv(t, fx.data, env, "play", id, "--speed", "1000", "--skip-idle")
	if err != nil {
		t.Fatalf("vigil play: %v\n%s", err, played)
	}
	if got := lastTick(played); got < 50 || got > seenAtCrash+50 {
		t.Errorf("the recording replays to tick %d; the screen showed %d at the crash", got, seenAtCrash)
	}
	if missing := ticksComplete(played, lastTick(played)); missing != 0 {
		t.Errorf("the replay lacks tick %d", missing)
	}
	t.Logf("%d objects spooled at the crash, %d segments in MinIO after the restart, replay to tick %d (screen %d)",
		pending, segs, lastTick(played), seenAtCrash)
}
