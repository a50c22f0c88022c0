package transfer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scpRun runs `scp -O` with fakessh through the recording tee and returns the recording and the
// remote command scp asked for.
func scpRun(t *testing.T, dir string, args ...string) ([]record, string) {
	t.Helper()
	fakessh, _ := filepath.Abs("testdata/fakessh")
	recs := run(t, dir, "scp", append([]string{"-O", "-q", "-S", fakessh}, args...)...)
	for _, r := range recs {
		if r.kind == recCommand {
			return recs, string(r.data)
		}
	}
	t.Fatal("no remote command recorded")
	return nil, ""
}

func scpEvents(t *testing.T, recs []record, command string) []Event {
	t.Helper()
	newObs := func(emit func(Event)) Observer {
		o, err := NewSCP(command, emit)
		if err != nil {
			t.Fatalf("NewSCP(%q): %v", command, err)
		}
		return o
	}
	events := collect(newObs, recs, 0)
	checkRechunked(t, newObs, recs, events)
	return events
}

func checkFile(t *testing.T, events []Event, op, path string, f testFile) {
	t.Helper()
	e, err := findEvent(events, op, path)
	if err != nil {
		t.Fatalf("%v in %+v", err, events)
	}
	if e.Protocol != "scp" || e.Size != int64(f.size) || e.SHA256 != f.sum || e.Err != "" {
		t.Errorf("%s %s: got %+v, want size %d sha %s", op, path, e, f.size, f.sum)
	}
}

// TestSCPReal runs OpenSSH's scp in legacy mode against a real `scp -t`/`scp -f` (started by
// fakessh instead of sshd) for each file size, both ways.
func TestSCPReal(t *testing.T) {
	needTool(t, "scp")
	local, remote := t.TempDir(), t.TempDir()
	files := makeFiles(t, local)
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			dst := filepath.Join(remote, "up-"+f.name)
			recs, cmd := scpRun(t, local, f.name, "h:"+dst)
			events := scpEvents(t, recs, cmd)
			checkFile(t, events, "upload", dst, f)
			if len(events) != 1 {
				t.Errorf("upload: %d events: %+v", len(events), events)
			}

			recs, cmd = scpRun(t, local, "-p", "h:"+dst, filepath.Join(t.TempDir(), "x"))
			events = scpEvents(t, recs, cmd)
			checkFile(t, events, "download", dst, f)
			if len(events) != 1 {
				t.Errorf("download: %d events: %+v", len(events), events)
			}
		})
	}
}

// TestSCPRecursive copies a tree with several files both ways with -r.
func TestSCPRecursive(t *testing.T) {
	needTool(t, "scp")
	local, remote := t.TempDir(), t.TempDir()
	tree := filepath.Join(local, "tree")
	sub := filepath.Join(tree, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	files := makeFiles(t, sub)
	top := makeFiles(t, tree)

	recs, cmd := scpRun(t, local, "-r", "-p", "tree", "h:"+remote)
	if !strings.Contains(cmd, "-r") {
		t.Fatalf("remote command %q lacks -r", cmd)
	}
	events := scpEvents(t, recs, cmd)
	for _, f := range files {
		checkFile(t, events, "upload", filepath.Join(remote, "tree", "sub", f.name), f)
	}
	for _, f := range top {
		checkFile(t, events, "upload", filepath.Join(remote, "tree", f.name), f)
	}
	if n := len(files) + len(top); len(events) != n {
		t.Errorf("upload: %d events, want %d: %+v", len(events), n, events)
	}

	back := t.TempDir()
	recs, cmd = scpRun(t, back, "-r", "h:"+filepath.Join(remote, "tree"), ".")
	events = scpEvents(t, recs, cmd)
	for _, f := range files {
		checkFile(t, events, "download", filepath.Join(remote, "tree", "sub", f.name), f)
	}
	for _, f := range top {
		checkFile(t, events, "download", filepath.Join(remote, "tree", f.name), f)
	}
	if n := len(files) + len(top); len(events) != n {
		t.Errorf("download: %d events, want %d: %+v", len(events), n, events)
	}
}

// TestSCPMultipleAndErrors sends several files to a directory target, and fetches a missing file.
func TestSCPMultipleAndErrors(t *testing.T) {
	needTool(t, "scp")
	local, remote := t.TempDir(), t.TempDir()
	files := makeFiles(t, local)[:3]
	recs, cmd := scpRun(t, local, files[0].name, files[1].name, files[2].name, "h:"+remote)
	events := scpEvents(t, recs, cmd)
	for _, f := range files {
		checkFile(t, events, "upload", filepath.Join(remote, f.name), f)
	}

	fakessh, _ := filepath.Abs("testdata/fakessh")
	self, _ := os.Executable()
	rec := filepath.Join(t.TempDir(), "rec")
	c := newCmd(local, "scp", "-O", "-q", "-S", fakessh, "h:"+remote+"/missing", ".")
	c.Env = append(os.Environ(), envRecord+"="+rec, envTee+"="+self)
	if err := c.Run(); err == nil {
		t.Fatal("scp of a missing file succeeded")
	}
	recs = readRecording(t, rec)
	events = scpEvents(t, recs, "scp -f "+remote+"/missing")
	if len(events) != 1 || events[0].Op != "download" || events[0].Path != remote+"/missing" ||
		!strings.Contains(events[0].Err, "No such file") {
		t.Fatalf("missing file: %+v", events)
	}
}
