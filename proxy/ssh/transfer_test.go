package ssh

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// TestRealClientsTransferFiles drives the gateway with OpenSSH's own scp (legacy protocol and the
// SFTP-based default) and sftp, logging in with sshpass.
func TestRealClientsTransferFiles(t *testing.T) {
	for _, tool := range []string{"sshpass", "scp", "sftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian openssh-client, sshpass)", tool)
		}
	}
	d := testenv.StartSSHD(t)
	g := startGateway(t, map[string]Upstream{"web01": sshdUpstream(d, "web01")}, nil)
	host, port, _ := net.SplitHostPort(g.addr)

	local := t.TempDir()
	// Not under t.TempDir, whose parent is private: the target user writes here.
	remote, err := os.MkdirTemp("", "vigil-transfer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(remote) })
	os.Chmod(remote, 0o777)
	// sftp -b forbids password prompts: alice logs in to the gateway with a key there.
	g.auth.key = d.Key.PublicKey()
	data := make([]byte, 300<<10)
	rand.Read(data)
	sum := sha256.Sum256(data)
	src := filepath.Join(local, "up.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "User=alice@web01", "-o", "PubkeyAuthentication=no"}
	run := func(t *testing.T, name string, args ...string) {
		t.Helper()
		cmd := exec.Command("sshpass", append([]string{"-e", name}, args...)...)
		cmd.Env = append(os.Environ(), "SSHPASS="+gatewayPassword)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	tests := []struct {
		name  string
		proto string
		run   func(t *testing.T, up, down string)
	}{
		{"scp legacy", "scp", func(t *testing.T, up, down string) {
			run(t, "scp", append(append([]string{"-O", "-P", port}, opts...), src, host+":"+up)...)
			run(t, "scp", append(append([]string{"-O", "-P", port}, opts...), host+":"+up, down)...)
		}},
		{"scp over sftp", "sftp", func(t *testing.T, up, down string) {
			run(t, "scp", append(append([]string{"-P", port}, opts...), src, host+":"+up)...)
			run(t, "scp", append(append([]string{"-P", port}, opts...), host+":"+up, down)...)
		}},
		{"sftp put get", "sftp", func(t *testing.T, up, down string) {
			batch := filepath.Join(local, "batch")
			os.WriteFile(batch, []byte("put "+src+" "+up+"\nget "+up+" "+down+"\n"), 0o644)
			keyOpts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
				"-o", "User=alice@web01", "-o", "IdentitiesOnly=yes", "-i", filepath.Join(d.Dir, "id_ed25519")}
			run(t, "sftp", append(append([]string{"-P", port, "-b", batch}, keyOpts...), host)...)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := filepath.Join(remote, "f"+string(rune('a'+i)))
			down := filepath.Join(local, "down"+string(rune('a'+i)))
			tt.run(t, up, down)
			for _, p := range []string{up, down} {
				got, err := os.ReadFile(p)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s: content differs (err %v)", p, err)
				}
			}
			// Each client run is one session: an upload, then a download (sftp: both in one).
			var markers, input, output string
			for range strings.Count(tt.name, "scp") + 1 {
				rec := g.rec.next(t).wait(t)
				markers += rec.text(capture.TypeMarker)
				input += rec.text(capture.TypeInput)
				output += rec.text(capture.TypeOutput)
			}
			if !strings.Contains(input, string(data[:4096])) || !strings.Contains(output, string(data[:4096])) {
				t.Error("file bytes not recorded in both directions")
			}
			want := `"sha256":"` + hex.EncodeToString(sum[:]) + `"`
			if !strings.Contains(markers, `"kind":"file-transfer"`) || !strings.Contains(markers, want) ||
				!strings.Contains(markers, `"protocol":"`+tt.proto+`"`) {
				t.Errorf("no file-transfer marker with the file's hash: %s", markers)
			}
			if !strings.Contains(markers, `"op":"upload"`) || !strings.Contains(markers, `"op":"download"`) {
				t.Errorf("upload and download not both observed: %s", markers)
			}
		})
	}
}
