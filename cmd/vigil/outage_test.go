package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// TestObjectStoreOutage stops MinIO for 30 s in the middle of a session that keeps printing, with
// 1 s segments: the session never notices (its output keeps flowing, it ends normally), and once
// MinIO is back the spool uploads everything, so the recording is complete in the bucket and
// verifies.
func TestObjectStoreOutage(t *testing.T) {
	need(t, "ssh")
	outage := 30 * time.Second
	if testing.Short() {
		outage = 5 * time.Second
	}
	m := testenv.StartMinIO(t)
	fx := newGatewayFixture(t)
	env := append(s3Env(m), "VIGIL_RECORDING_SEGMENT_DURATION=1s")
	gw := freeAddr(t)
	srv := startServeEnv(t, fx.data, gw, env...)

	// The target is on this machine: the command stops when the test creates the stop file
	// (in a directory the target's account can read).
	dir, err := os.MkdirTemp("", "vigil-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	stop := filepath.Join(dir, "stop")
	command := `i=0; while [ ! -e ` + stop + ` ]; do i=$((i+1)); echo tick-$i; sleep 0.02; done; echo done-$i`

	var stdout, stderr syncBuffer
	ssh := exec.Command("ssh", append(sshArgs(gw, fx.priv, "alice@web01"), command)...)
	ssh.Stdout, ssh.Stderr = &stdout, &stderr
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- ssh.Wait() }()
	t.Cleanup(func() { ssh.Process.Kill() })
	waitTicks(t, &stdout, 50, 15*time.Second)

	m.Stop()
	before := lastTick(stdout.String())
	time.Sleep(outage)
	during := lastTick(stdout.String())
	if spooled(t, fx.data) == 0 {
		t.Fatalf("nothing waits in the spool after a %v outage: the test did not exercise it", outage)
	}
	m.Start()
	waitTicks(t, &stdout, lastTick(stdout.String())+50, 15*time.Second)
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not end after the stop file appeared")
	}
	if err != nil {
		t.Fatalf("the session noticed the outage: ssh %v, stderr %q", err, stderr.String())
	}
	// About one tick per 20 ms while the store was down: the session never waited for it.
	if got, want := during-before, int(outage/(20*time.Millisecond))/4; got < want {
		t.Errorf("only %d ticks during a %v outage (want at least %d): the session was held back", got, outage, want)
	}
	final := lastTick(stdout.String())
	if missing := ticksComplete(stdout.String(), final); missing != 0 {
		t.Fatalf("the user's own output lacks tick %d", missing)
	}

	// Complete in the bucket: nothing left in the spool, the final manifest in MinIO, and
	// verify (which reads the bucket) passes with every tick replayed.
	waitSpoolEmpty(t, fx.data, 60*time.Second)
	list, err := vigilEnv(t, fx.data, env, "recordings")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if err != nil || len(lines) != 2 {
		t.Fatalf("vigil recordings: %v\n%s", err, list)
	}
	id := strings.Fields(lines[1])[0]
	manifest := false
	for _, k := range bucketObjects(t, m, "recordings/") {
		manifest = manifest || strings.HasSuffix(k, id+"/manifest.json")
	}
	if !manifest {
		t.Fatalf("MinIO holds no final manifest of %s", id)
	}
	if out, err := vigilEnv(t, fx.data, env, "verify", id, "--decrypt"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("vigil verify: %v\n%s", err, out)
	}
	played, err := vigilEnv(t, fx.data, env, "play", id, "--speed", "1000", "--skip-idle")
	if err != nil {
		t.Fatalf("vigil play: %v\n%s", err, played)
	}
	if got := lastTick(played); got != final {
		t.Errorf("the recording replays to tick %d, the user saw %d", got, final)
	}
	if missing := ticksComplete(played, final); missing != 0 {
		t.Errorf("the recording lacks tick %d", missing)
	}
	if strings.Contains(srv.log(), m.SecretKey) {
		t.Error("the S3 secret key appears in the serve log")
	}
	t.Logf("ticks: %d before the outage, %d at its end, %d in all; session %s", before, during, final, id)
}
