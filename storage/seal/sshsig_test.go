package seal

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

var update = flag.Bool("update", false, "rewrite testdata golden files (signing with the real ssh-keygen)")

// goldenManifest is a manifest of two segments with fixed hashes, built the way the Writer does.
func goldenManifest() *Manifest {
	meta := testMeta("golden")
	g := genesis(meta)
	m := &Manifest{Format: FormatName, Version: FormatVersion, Kind: KindFinal, Session: meta,
		Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"},
		Genesis:    hex.EncodeToString(g[:]),
		End:        &End{Cause: "user exit", Time: testStart.Add(10e9), Extra: map[string]any{"output_bytes": 42.0}}}
	prev := g
	for i := range 2 {
		e := Entry{Index: i, Key: SegmentObject(i), StartNS: int64(i) * 5e9, EndNS: int64(i+1) * 5e9,
			Size: 1000 + int64(i), SHA256: hex.EncodeToString(bytes.Repeat([]byte{byte(i + 1)}, 32)),
			PlainSize: 900, PlainSHA256: hex.EncodeToString(bytes.Repeat([]byte{byte(i + 0x10)}, 32))}
		prev = chainNext(prev, &e)
		e.Chain = hex.EncodeToString(prev[:])
		m.Segments = append(m.Segments, e)
	}
	return m
}

func writeSigningKey(t *testing.T, dir string) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(testKey(1), "golden")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "signing_key")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func needSSHKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (Debian package openssh-client)")
	}
	return p
}

// TestGolden checks the manifest parser and the SSHSIG code against files made by the real
// ssh-keygen: our signature of the golden manifest must be byte for byte the one ssh-keygen made
// (Ed25519 is deterministic), and ours must verify theirs.
func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "TestGolden")
	manifest, sigPath := filepath.Join(dir, FinalName), filepath.Join(dir, FinalName+SigSuffix)
	if *update {
		keygen := needSSHKeygen(t)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(manifest, mustJSON(t, goldenManifest()), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(sigPath)
		key := writeSigningKey(t, t.TempDir())
		if out, err := exec.Command(keygen, "-Y", "sign", "-f", key, "-n", Namespace, manifest).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
		}
	}
	body, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(body)
	if err != nil {
		t.Fatalf("ParseManifest(golden): %v", err)
	}
	if want := mustJSON(t, goldenManifest()); !bytes.Equal(mustJSON(t, m), want) {
		t.Errorf("golden manifest parses to\n%s\nwant\n%s", mustJSON(t, m), want)
	}
	pub, err := verifySSHSIG(theirs, Namespace, body)
	if err != nil {
		t.Fatalf("ssh-keygen's signature does not verify: %v", err)
	}
	if !bytes.Equal(pub.Marshal(), sshPub(t, testKey(1)).Marshal()) {
		t.Error("ssh-keygen's signature names another key")
	}
	if ours := resign(t, testKey(1), body); !bytes.Equal(ours, theirs) {
		t.Errorf("our signature differs from ssh-keygen's:\n%s\n%s", ours, theirs)
	}
	if _, err := verifySSHSIG(theirs, "file", body); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signature accepted in another namespace: %v", err)
	}
}

// TestSSHKeygenVerifiesManifests runs stock `ssh-keygen -Y verify` on what the Writer stored, as
// an auditor without Vigil would, and checks it refuses an edited manifest and another key.
func TestSSHKeygenVerifiesManifests(t *testing.T) {
	keygen := needSSHKeygen(t)
	b := newBackend(t)
	r := record(t, b, "s1", 2, true, testKey(1), newIdentity(t))
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	allowed := write("allowed_signers", []byte(`vigil-node namespaces="vigil-recording" `+string(ssh.MarshalAuthorizedKey(sshPub(t, testKey(1))))))
	stranger := write("stranger", []byte(`vigil-node namespaces="vigil-recording" `+string(ssh.MarshalAuthorizedKey(sshPub(t, testKey(2))))))
	final := r.get(t, FinalName)
	edited := bytes.Replace(final, []byte("user exit"), []byte("user quit"), 1)
	tests := []struct {
		name    string
		allowed string
		body    []byte
		sig     string
		ok      bool
	}{
		{"final manifest", allowed, final, FinalName, true},
		{"checkpoint", allowed, r.get(t, CheckpointName(1)), CheckpointName(1), true},
		{"edited manifest", allowed, edited, FinalName, false},
		{"another manifest's signature", allowed, final, CheckpointName(0), false},
		{"untrusted key", stranger, final, FinalName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := write("sig", r.get(t, tt.sig+SigSuffix))
			cmd := exec.CommandContext(context.Background(), keygen, "-Y", "verify", "-f", tt.allowed, "-I", "vigil-node", "-n", Namespace, "-s", sig)
			cmd.Stdin = bytes.NewReader(tt.body)
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.ok {
				t.Errorf("ssh-keygen -Y verify: err %v, want ok=%v\n%s", err, tt.ok, out)
			}
		})
	}
}

// TestStockAgeDecrypts decrypts a sealed segment with the stock age tool, as an escrow holder
// without Vigil would.
func TestStockAgeDecrypts(t *testing.T) {
	ageBin, err := exec.LookPath("age")
	if err != nil {
		t.Skip("age not installed (Debian package age)")
	}
	b := newBackend(t)
	id := newIdentity(t)
	r := record(t, b, "s1", 2, true, testKey(1), id)
	dir := t.TempDir()
	idFile := filepath.Join(dir, "identity")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ageBin, "-d", "-i", idFile)
	cmd.Stdin = bytes.NewReader(r.get(t, SegmentObject(1)))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	if !bytes.Equal(out, plaintext(1)) {
		t.Errorf("age -d gave %d bytes, want the %d written", len(out), len(plaintext(1)))
	}
}
