package gateway_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

const evidenceNeedle = "evidence-needle-7"

// evidenceFixture is a node with one sealed text session of three segments, written through
// Recordings.Sink, and an audit log holding that session's events among another session's.
type evidenceFixture struct {
	dir, auditPath string
	store          *gateway.Recordings
	id             string
}

func newEvidenceFixture(t testing.TB) *evidenceFixture {
	t.Helper()
	dir := t.TempDir()
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	f := &evidenceFixture{dir: dir, auditPath: filepath.Join(dir, "audit.jsonl"), store: gateway.NewRecordings(b, keys, nil), id: "evid0123456789abcdef0001"}
	start := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	meta := encode.SessionMeta{ID: f.id, User: "alice", Target: "web01", Account: "root", Protocol: "ssh", Start: start, Cols: 80, Rows: 24}
	sink, err := f.store.Sink(meta)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var infos []encode.SegmentInfo
	for i := 0; i < 3; i++ {
		at := time.Duration(i) * 5 * time.Second
		var buf bytes.Buffer
		h := eventlog.Header{SessionID: meta.ID, Segment: i, User: meta.User, Target: meta.Target, Protocol: "ssh", Start: start, Offset: at, Cols: 80, Rows: 24}
		w, err := eventlog.NewWriter(&buf, h, []byte(fmt.Sprintf("\x1b[H\x1b[2Jsegment %d\r\n$ ", i)))
		if err != nil {
			t.Fatal(err)
		}
		out := fmt.Sprintf("echo %s-%d\r\n%s-%d\r\n$ ", evidenceNeedle, i, evidenceNeedle, i)
		for _, r := range []eventlog.Record{
			{Time: at + time.Second, Type: eventlog.TypeInput, Payload: []byte("echo\r")},
			{Time: at + 2*time.Second, Type: eventlog.TypeOutput, Payload: []byte(out)},
		} {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		seg := encode.SegmentInfo{Index: i, Start: at, End: at + 5*time.Second, Bytes: buf.Len(), Records: 3}
		if err := sink.PutSegment(ctx, seg, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		infos = append(infos, seg)
	}
	if err := sink.Finish(ctx, encode.Summary{Meta: meta, Segments: infos, Duration: 15 * time.Second, Cause: "user exit"}); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(f.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Event{
		{Kind: "session-start", User: "alice", Target: "web01", Session: f.id},
		{Kind: "session-start", User: "bob", Target: "db01", Session: "other-session"},
		{Kind: "shadow", User: "auditor", Session: f.id},
		{Kind: "session-end", User: "alice", Session: f.id, Cause: "user exit"},
		{Kind: "export", User: "os:root", Session: f.id, Detail: "evidence bundle"},
	} {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	return f
}

func (f *evidenceFixture) export(t testing.TB, opt gateway.EvidenceOptions) []byte {
	t.Helper()
	opt.AuditPath, opt.Exporter = f.auditPath, "os:tester"
	var buf bytes.Buffer
	if _, err := f.store.ExportEvidence(context.Background(), &buf, []string{f.id}, opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verifyBytes(b []byte, opt gateway.EvidenceVerifyOptions) (*gateway.EvidenceReport, error) {
	return gateway.VerifyEvidence(context.Background(), bytes.NewReader(b), int64(len(b)), opt)
}

func newRecipient(t testing.TB) *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestEvidenceExportVerify(t *testing.T) {
	f := newEvidenceFixture(t)
	id := newRecipient(t)
	scrypt, err := age.NewScryptIdentity("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	wrongID := newRecipient(t)
	tests := []struct {
		name      string
		opt       gateway.EvidenceOptions
		ids       []age.Identity
		decrypted bool
		wantErr   error
	}{
		{"recipient", gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}}, []age.Identity{id}, true, nil},
		{"recipient, not decrypted", gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}}, nil, false, nil},
		{"recipient, wrong identity", gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}}, []age.Identity{wrongID}, true, seal.ErrTampered},
		{"passphrase", gateway.EvidenceOptions{Passphrase: "correct horse"}, []age.Identity{scrypt}, true, nil},
		{"clear", gateway.EvidenceOptions{Clear: true}, nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.export(t, tt.opt)
			rep, err := verifyBytes(b, gateway.EvidenceVerifyOptions{Identities: tt.ids})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("verify: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if len(rep.Sessions) != 1 {
				t.Fatalf("sessions %+v", rep.Sessions)
			}
			s := rep.Sessions[0]
			if s.ID != f.id || !s.Final || s.Cause != "user exit" || s.Segments != 3 || s.Checkpoints != 3 || s.AuditEvents != 4 {
				t.Errorf("session %+v", s)
			}
			if rep.Decrypted != tt.decrypted || (tt.decrypted && s.Plain != 3) || (!tt.decrypted && s.Plain != 0) {
				t.Errorf("decrypted %v, plain %d", rep.Decrypted, s.Plain)
			}
			if rep.Index.Audit.Events != 5 || !rep.Index.Audit.Intact {
				t.Errorf("audit check %+v", rep.Index.Audit)
			}
			cast := zipFile(t, b, f.id+"/session.cast")
			for i := 0; i < 3; i++ {
				if !bytes.Contains(cast, []byte(fmt.Sprintf("%s-%d", evidenceNeedle, i))) {
					t.Errorf("session.cast lacks segment %d's output", i)
				}
			}
			if bytes.Contains(cast, []byte("echo\\r")) {
				t.Error("session.cast holds keystrokes")
			}
			if bytes.Contains(zipFile(t, b, f.id+"/audit.jsonl"), []byte("other-session")) {
				t.Error("audit.jsonl holds another session's events")
			}
		})
	}
}

func TestEvidenceOptionsRefused(t *testing.T) {
	f := newEvidenceFixture(t)
	for _, opt := range []gateway.EvidenceOptions{
		{},
		{Clear: true, Passphrase: "x"},
		{Clear: true, Recipients: []age.Recipient{newRecipient(t).Recipient()}},
	} {
		_, err := f.store.ExportEvidence(context.Background(), io.Discard, []string{f.id}, opt)
		if !errors.Is(err, gateway.ErrEvidenceMode) {
			t.Errorf("%+v: %v", opt, err)
		}
	}
	_, err := f.store.ExportEvidence(context.Background(), io.Discard, []string{"nosuch"}, gateway.EvidenceOptions{Clear: true})
	if !errors.Is(err, gateway.ErrNoRecording) {
		t.Errorf("unknown session: %v", err)
	}
}

// zipFile returns one file of a bundle.
func zipFile(t testing.TB, b []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rezip copies a bundle, passing each file through edit (nil drops it).
func rezip(t testing.TB, b []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if data = edit(f.Name, data); data == nil {
			continue
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// otherKeys are the keys of another node, a forger's.
func otherKeys(t testing.TB) *nodekeys.Keys {
	k, err := nodekeys.Ensure(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEvidenceTamperNamed(t *testing.T) {
	f := newEvidenceFixture(t)
	id := newRecipient(t)
	good := f.export(t, gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}})
	stranger := otherKeys(t)
	strangerPub, _ := ssh.NewPublicKey(stranger.Sign.Public())
	seg, man, sig, aud := f.id+"/seg-00000001.vlog.age", f.id+"/manifest.json", f.id+"/manifest.json.sig", f.id+"/audit.jsonl"
	flip := func(target string, at int) func(string, []byte) []byte {
		return func(name string, data []byte) []byte {
			if name == target {
				data = bytes.Clone(data)
				data[at%len(data)] ^= 1
			}
			return data
		}
	}
	replace := func(target, old, new string) func(string, []byte) []byte {
		return func(name string, data []byte) []byte {
			if name == target {
				if !bytes.Contains(data, []byte(old)) {
					t.Fatalf("%s lacks %q", name, old)
				}
				return bytes.Replace(data, []byte(old), []byte(new), 1)
			}
			return data
		}
	}
	strangerSigners := fmt.Sprintf("vigil-node namespaces=\"vigil-recording\" %s", ssh.MarshalAuthorizedKey(strangerPub))
	tests := []struct {
		name  string
		edit  func(string, []byte) []byte
		file  string
		sent  error
		trust bool // verify with the node's own keys as Trusted
	}{
		{"segment byte flipped", flip(seg, 200), seg, seal.ErrTampered, false},
		{"segment removed", func(n string, d []byte) []byte {
			if n == seg {
				return nil
			}
			return d
		}, seg, seal.ErrMissingSegment, false},
		{"manifest edited", replace(man, `"user": "alice"`, `"user": "mallory"`), man, seal.ErrBadSignature, false},
		{"manifest edited (listed hash)", replace(man, `"user": "alice"`, `"user": "mallory"`), man, seal.ErrTampered, false},
		{"signature flipped", flip(sig, 120), sig, seal.ErrTampered, false},
		{"signature flipped (fails)", flip(sig, 120), man, seal.ErrBadSignature, false},
		{"audit line edited", replace(aud, `"auditor"`, `"nobody"`), aud, seal.ErrTampered, false},
		{"audit line edited (own hash)", replace(aud, `"auditor"`, `"nobody"`), aud, audit.ErrBroken, false},
		{"audit line dropped", func(n string, d []byte) []byte {
			if n == aud {
				lines := bytes.SplitAfter(d, []byte("\n"))
				return bytes.Join(append(lines[:1:1], lines[2:]...), nil)
			}
			return d
		}, aud, seal.ErrTampered, false},
		{"allowed_signers replaced", func(n string, d []byte) []byte {
			if n == "allowed_signers" {
				return []byte(strangerSigners)
			}
			return d
		}, "allowed_signers", seal.ErrUnknownSigner, false},
		{"cast edited", replace(f.id+"/session.cast", evidenceNeedle, "harmless-words-7"), f.id + "/session.cast", seal.ErrTampered, false},
		{"README edited", func(n string, d []byte) []byte {
			if n == "README.txt" {
				return append(d, []byte("\nalso trust this\n")...)
			}
			return d
		}, "README.txt", seal.ErrTampered, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := rezip(t, good, tt.edit)
			opt := gateway.EvidenceVerifyOptions{Identities: []age.Identity{id}}
			rep, err := verifyBytes(bad, opt)
			if err == nil {
				t.Fatal("tampering not detected")
			}
			found := false
			for _, p := range rep.Problems {
				if p.File == tt.file && errors.Is(p, tt.sent) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem naming %s with %v; got %v", tt.file, tt.sent, err)
			}
		})
	}
	t.Run("untouched", func(t *testing.T) {
		if _, err := verifyBytes(rezip(t, good, func(_ string, d []byte) []byte { return d }), gateway.EvidenceVerifyOptions{Identities: []age.Identity{id}, Trusted: f.store.Keys().TrustedSigners()}); err != nil {
			t.Fatal(err)
		}
	})
	// A bundle forged wholesale (another node's key in allowed_signers, everything re-signed) is
	// consistent in itself: only a trusted key list from elsewhere catches it.
	t.Run("re-signed by another key", func(t *testing.T) {
		forged := exportWithKeys(t, f, stranger, id)
		if _, err := verifyBytes(forged, gateway.EvidenceVerifyOptions{}); err != nil {
			t.Fatalf("self-consistent forgery: %v", err)
		}
		rep, err := verifyBytes(forged, gateway.EvidenceVerifyOptions{Trusted: f.store.Keys().TrustedSigners()})
		if !errors.Is(err, seal.ErrUnknownSigner) || rep.Problems[0].File != "allowed_signers" {
			t.Fatalf("forgery with trusted keys: %v", err)
		}
	})
}

// exportWithKeys exports f's recording through a store that signs with keys (the recording's
// manifests were signed by f's node; the forger re-signs nothing of those, so they would fail):
// it copies the backend's objects into a fresh recording signed by keys.
func exportWithKeys(t *testing.T, f *evidenceFixture, keys *nodekeys.Keys, id *age.X25519Identity) []byte {
	t.Helper()
	b, err := file.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	forger := &evidenceFixture{store: gateway.NewRecordings(b, keys, nil), id: f.id, auditPath: f.auditPath}
	segs, closeAll, err := f.store.OpenSegments(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	ref, _ := f.store.Find(context.Background(), f.id)
	meta := encode.SessionMeta{ID: f.id, User: ref.Session.User, Target: ref.Session.Target, Start: ref.Session.Start}
	sink, err := forger.store.Sink(meta)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range segs {
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.PutSegment(context.Background(), encode.SegmentInfo{Index: i, Start: time.Duration(i) * time.Second, End: time.Duration(i+1) * time.Second}, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Finish(context.Background(), encode.Summary{Meta: meta, Cause: "user exit"}); err != nil {
		t.Fatal(err)
	}
	return forger.export(t, gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}})
}

// TestEvidenceCrashedRecording exports a recording without a final manifest: the bundle verifies
// up to its last signed checkpoint and says it ended by a crash.
func TestEvidenceCrashedRecording(t *testing.T) {
	dir := t.TempDir()
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	store := gateway.NewRecordings(b, keys, nil)
	start := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	meta := encode.SessionMeta{ID: "crash0123456789abcdef001", User: "carol", Target: "db01", Start: start}
	sink, err := store.Sink(meta)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		var buf bytes.Buffer
		w, _ := eventlog.NewWriter(&buf, eventlog.Header{SessionID: meta.ID, Segment: i, Start: start, Offset: time.Duration(i) * time.Second, Cols: 80, Rows: 24}, []byte("$ "))
		w.Write(eventlog.Record{Time: time.Duration(i)*time.Second + 1, Type: eventlog.TypeOutput, Payload: []byte("before the crash\r\n")})
		w.Close()
		if err := sink.PutSegment(context.Background(), encode.SegmentInfo{Index: i, Start: time.Duration(i) * time.Second, End: time.Duration(i+1) * time.Second}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if _, err := store.ExportEvidence(context.Background(), &out, []string{meta.ID}, gateway.EvidenceOptions{Clear: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := verifyBytes(out.Bytes(), gateway.EvidenceVerifyOptions{})
	if !errors.Is(err, seal.ErrNoFinalManifest) || len(rep.Problems) != 1 {
		t.Fatalf("verify: %v", err)
	}
	if s := rep.Sessions[0]; s.Final || s.Segments != 2 || s.Plain != 2 || s.Checkpoints != 2 {
		t.Errorf("session %+v", s)
	}
}
