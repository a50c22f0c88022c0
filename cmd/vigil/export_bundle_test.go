package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/storage/file"
)

const bundleNeedle = "bundle-needle-31"

// textRecording stores a two-segment text session in dataDir through Recordings.Sink, as the
// gateway does.
func textRecording(t *testing.T, dataDir, id string) {
	t.Helper()
	keys, err := nodekeys.Ensure(filepath.Join(dataDir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := file.New(filepath.Join(dataDir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	store := gateway.NewRecordings(b, keys, nil)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	meta := encode.SessionMeta{ID: id, User: "alice", Target: "web01", Protocol: "ssh", Start: start, Cols: 80, Rows: 24}
	sink, err := store.Sink(meta)
	if err != nil {
		t.Fatal(err)
	}
	var infos []encode.SegmentInfo
	for i := 0; i < 2; i++ {
		at := time.Duration(i) * 3 * time.Second
		var buf bytes.Buffer
		w, err := eventlog.NewWriter(&buf, eventlog.Header{SessionID: id, Segment: i, User: "alice", Target: "web01", Protocol: "ssh", Start: start, Offset: at, Cols: 80, Rows: 24}, []byte("$ "))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(eventlog.Record{Time: at + time.Second, Type: eventlog.TypeOutput, Payload: fmt.Appendf(nil, "%s-%d\r\n$ ", bundleNeedle, i)}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		seg := encode.SegmentInfo{Index: i, Start: at, End: at + 3*time.Second, Bytes: buf.Len(), Records: 2}
		if err := sink.PutSegment(context.Background(), seg, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		infos = append(infos, seg)
	}
	if err := sink.Finish(context.Background(), encode.Summary{Meta: meta, Segments: infos, Duration: 6 * time.Second, Cause: "user exit"}); err != nil {
		t.Fatal(err)
	}
}

// rewriteZip copies the zip at path with one file passed through edit.
func rewriteZip(t *testing.T, path, out, name string, edit func([]byte) []byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	seen := false
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == name {
			data, seen = edit(bytes.Clone(data)), true
		}
		w, _ := zw.Create(f.Name)
		w.Write(data)
	}
	zw.Close()
	if !seen {
		t.Fatalf("%s not in the bundle", name)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestExportBundleCommand(t *testing.T) {
	data := t.TempDir()
	const id = "cli0bundle0123456789abcd"
	textRecording(t, data, id)
	work := t.TempDir()
	rid, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(work, "key.txt")
	os.WriteFile(keyFile, []byte(rid.String()+"\n"), 0o600)
	caseZip := filepath.Join(work, "case.zip")

	out := okVigil(t, data, "", "export", id[:8], "--recipient", rid.Recipient().String(), "-o", caseZip)
	if !strings.Contains(out, "wrote "+caseZip) {
		t.Errorf("export said %q", out)
	}
	out = okVigil(t, data, "", "verify", caseZip, "--identity", keyFile)
	for _, want := range []string{"OK         bundle", "2 of 2 match plain_sha256", "a signing key of this node", "1 audit events"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	auditOut := okVigil(t, data, "", "audit", "--kind", "export")
	if !strings.Contains(auditOut, `"session":"`+id) || !strings.Contains(auditOut, "age recipient") {
		t.Errorf("export not audited:\n%s", auditOut)
	}

	// Each part tampered with is detected and named.
	for _, tc := range []struct{ name, file string }{
		{"segment", id + "/seg-00000001.vlog.age"},
		{"manifest", id + "/manifest.json"},
		{"signature", id + "/manifest.json.sig"},
		{"audit", id + "/audit.jsonl"},
		{"allowed_signers", "allowed_signers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.zip")
			rewriteZip(t, caseZip, bad, tc.file, func(b []byte) []byte {
				i := bytes.IndexByte(b, 'e') // a letter in every one of these files, away from line breaks
				if tc.name == "signature" {
					i = 120
				}
				b[i] ^= 0x20
				return b
			})
			out, _, err := runVigil(t, data, "", "verify", bad, "--identity", keyFile)
			if err == nil || !strings.Contains(err.Error(), "failed verification") {
				t.Fatalf("tampered %s: err %v\n%s", tc.name, err, out)
			}
			if !strings.Contains(out, "PROBLEM    "+tc.file+": ") {
				t.Errorf("the problem does not name %s:\n%s", tc.file, out)
			}
		})
	}

	// The asciicast export is unchanged, and chosen without .zip.
	cast := okVigil(t, data, "", "export", "--format", "asciicast", id)
	if !strings.HasPrefix(cast, `{"version":2`) || !strings.Contains(cast, bundleNeedle+"-1") {
		t.Errorf("asciicast export: %q", cast)
	}
	castFile := filepath.Join(work, "s.cast")
	okVigil(t, data, "", "export", id, "-o", castFile)
	if b, _ := os.ReadFile(castFile); !bytes.HasPrefix(b, []byte(`{"version":2`)) {
		t.Errorf("export -o s.cast wrote %q", b)
	}

	// Passphrase from stdin; clear, audited as such.
	pz := filepath.Join(work, "pass.zip")
	okVigil(t, data, "a long enough passphrase\n", "export", id, "--passphrase", "-o", pz)
	okVigil(t, data, "a long enough passphrase\n", "verify", pz, "--passphrase")
	failVigil(t, data, "the wrong passphrase!\n", "failed verification", "verify", pz, "--passphrase")
	cz := filepath.Join(work, "clear.zip")
	okVigil(t, data, "", "export", "--format", "bundle", id, "--clear", "-o", cz)
	if out := okVigil(t, data, "", "verify", cz); !strings.Contains(out, "2 of 2 match plain_sha256") {
		t.Errorf("clear bundle verify:\n%s", out)
	}
	a := okVigil(t, data, "", "audit")
	if !strings.Contains(a, "UNENCRYPTED") {
		t.Errorf("clear export not audited as such:\n%s", a)
	}
	// The passphrase is nowhere: not in the audit log, not in the bundle's files.
	pzBytes, _ := os.ReadFile(pz)
	zr, _ := zip.NewReader(bytes.NewReader(pzBytes), int64(len(pzBytes)))
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, []byte("long enough")) {
			t.Errorf("the passphrase is in %s", f.Name)
		}
	}
	if strings.Contains(a, "long enough") {
		t.Error("the passphrase is in the audit log")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", id, "--clear"}, "needs -o"},
		{[]string{"export", id, "--clear", "--recipient", rid.Recipient().String(), "-o", filepath.Join(work, "x.zip")}, "exactly one"},
		{[]string{"export", id, "-o", filepath.Join(work, "y.zip")}, "exactly one"},
		{[]string{"export", id, "--clear", "-o", caseZip}, "exists"},
		{[]string{"export", id, "--recipient", "age1nope", "-o", filepath.Join(work, "z.zip")}, "--recipient"},
		{[]string{"export", "--format", "asciicast", id, "--clear"}, "apply to --format bundle"},
		{[]string{"export", "nosuchsession", "--clear", "-o", filepath.Join(work, "n.zip")}, "no such recording"},
	} {
		failVigil(t, data, "", tc.want, tc.args...)
	}
	if _, err := os.Stat(filepath.Join(work, "n.zip")); err == nil {
		t.Error("a failed export left its file")
	}
}
