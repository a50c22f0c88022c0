package transfer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSFTPReal runs OpenSSH's sftp client against OpenSSH's sftp-server through the recording
// tee, then checks the events an Observer derives from the recording.
func TestSFTPReal(t *testing.T) {
	needTool(t, "sftp")
	needTool(t, "/usr/lib/openssh/sftp-server")
	local, remote := t.TempDir(), t.TempDir()
	files := makeFiles(t, local)
	for _, f := range files {
		// Files already on the target, for the downloads.
		b, _ := os.ReadFile(filepath.Join(local, f.name))
		os.WriteFile(filepath.Join(remote, "dl-"+f.name), b, 0o644)
	}
	got := filepath.Join(local, "got")
	var batch strings.Builder
	batch.WriteString("lmkdir " + got + "\n")
	for _, f := range files {
		batch.WriteString("put " + filepath.Join(local, f.name) + " " + filepath.Join(remote, "up-"+f.name) + "\n")
		batch.WriteString("get " + filepath.Join(remote, "dl-"+f.name) + " " + filepath.Join(got, f.name) + "\n")
	}
	batch.WriteString("mkdir " + remote + "/newdir\n")
	batch.WriteString("rename " + remote + "/up-one " + remote + "/newdir/moved\n")
	batch.WriteString("rm " + remote + "/newdir/moved\n")
	batch.WriteString("rmdir " + remote + "/newdir\n")
	batch.WriteString("-rm " + remote + "/no-such-file\n")
	batchFile := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batchFile, []byte(batch.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	server, _ := filepath.Abs("testdata/sftp-server")
	recs := run(t, local, "sftp", "-D", server, "-b", batchFile)

	events := collect(NewSFTP, recs, 0)
	for _, f := range files {
		for _, c := range []struct{ op, path string }{
			{"upload", filepath.Join(remote, "up-"+f.name)},
			{"download", filepath.Join(remote, "dl-"+f.name)},
		} {
			e, err := findEvent(events, c.op, c.path)
			if err != nil {
				t.Fatalf("%v in %+v", err, events)
			}
			if e.Protocol != "sftp" || e.Size != int64(f.size) || e.SHA256 != f.sum || e.Err != "" {
				t.Errorf("%s %s: got %+v, want size %d sha %s", c.op, f.name, e, f.size, f.sum)
			}
		}
	}
	wantOps := []Event{
		{Protocol: "sftp", Op: "mkdir", Path: remote + "/newdir"},
		{Protocol: "sftp", Op: "rename", Path: remote + "/up-one", Target: remote + "/newdir/moved"},
		{Protocol: "sftp", Op: "remove", Path: remote + "/newdir/moved"},
		{Protocol: "sftp", Op: "remove", Path: remote + "/newdir"},
	}
	for _, w := range wantOps {
		e, err := findEvent(events, w.Op, w.Path)
		if err != nil || e != w {
			t.Errorf("want %+v, got %+v (%v)", w, e, err)
		}
	}
	e, err := findEvent(events, "remove", remote+"/no-such-file")
	if err != nil || !strings.HasPrefix(e.Err, "failed: ") {
		t.Errorf("failed remove: got %+v (%v)", e, err)
	}
	if n := len(files)*2 + len(wantOps) + 1; len(events) != n {
		t.Errorf("%d events, want %d: %+v", len(events), n, events)
	}
	checkRechunked(t, NewSFTP, recs, events)
}
