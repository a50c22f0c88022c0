package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/vault"
	"golang.org/x/crypto/ssh"
)

// runVigil runs the root command in-process with args against dataDir, stdin as given.
func runVigil(t *testing.T, dataDir, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"--data-dir", dataDir}, args...))
	err = root.Execute()
	configPath = "" // a package variable bound by the flag; reset between runs
	return out.String(), errOut.String(), err
}

func okVigil(t *testing.T, dataDir, stdin string, args ...string) string {
	t.Helper()
	out, _, err := runVigil(t, dataDir, stdin, args...)
	if err != nil {
		t.Fatalf("vigil %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func failVigil(t *testing.T, dataDir, stdin, wantErr string, args ...string) {
	t.Helper()
	_, _, err := runVigil(t, dataDir, stdin, args...)
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("vigil %s: err = %v, want it to contain %q", strings.Join(args, " "), err, wantErr)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("vigil %s: error is not one line: %q", strings.Join(args, " "), err)
	}
}

func pubKeyLine(t *testing.T) string {
	pk, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ssh.NewPublicKey(pk)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestUserCommands(t *testing.T) {
	data := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "id.pub")
	line1, line2 := pubKeyLine(t), pubKeyLine(t)
	os.WriteFile(keyFile, []byte("# comment\n"+line1+"\n\n"), 0o644)

	okVigil(t, data, "", "user", "add", "alice", "--key", keyFile, "--key", line2)
	okVigil(t, data, "s3cret-user-pw\n", "user", "add", "bob", "--role", "auditor", "--password")
	out := okVigil(t, data, "", "user", "list")
	for _, want := range []string{"alice  user     no        2", "bob    auditor  yes       0"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %q:\n%s", want, out)
		}
	}
	// The password works, as the gateway would check it.
	s, err := access.OpenStore(filepath.Join(data, "access.json"), access.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticatePassword("bob", []byte("s3cret-user-pw")); err != nil {
		t.Errorf("password set by the CLI does not authenticate: %v", err)
	}
	k, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(line2))
	if _, err := s.AuthenticateKey("alice", k); err != nil {
		t.Errorf("key given as a line does not authenticate: %v", err)
	}

	failVigil(t, data, "", `user "alice" already exists`, "user", "add", "alice")
	failVigil(t, data, "", `invalid user name "Alice"`, "user", "add", "Alice")
	failVigil(t, data, "", `invalid user name "a@b"`, "user", "add", "a@b")
	failVigil(t, data, "", `role "root"`, "user", "add", "carol", "--role", "root")
	failVigil(t, data, "", "not a readable file nor a public key line", "user", "add", "carol", "--key", "/nonexistent")
	failVigil(t, data, "", "public key", "user", "add", "carol", "--key", "ssh-ed25519 garbage")
	failVigil(t, data, "", "empty password", "user", "add", "carol", "--password")
	failVigil(t, data, "", `unknown user "zed"`, "user", "remove", "zed")

	okVigil(t, data, "", "user", "remove", "alice")
	if out := okVigil(t, data, "", "user", "list"); strings.Contains(out, "alice") {
		t.Errorf("alice still listed:\n%s", out)
	}
}

func TestTargetCommands(t *testing.T) {
	data := t.TempDir()
	pinned := pubKeyLine(t)
	okVigil(t, data, "", "target", "add", "web01", "--host", "10.0.0.1")
	okVigil(t, data, "", "target", "add", "web02", "--host", "10.0.0.2", "--port", "2222", "--host-key", pinned)
	okVigil(t, data, "", "target", "add", "web03", "--host", "h", "--host-key", "SHA256:"+strings.Repeat("A", 43))
	out := okVigil(t, data, "", "target", "list")
	k, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(pinned))
	for _, want := range []string{"web01  10.0.0.1  22    ssh", "first use (none seen yet)",
		"web02  10.0.0.2  2222  ssh", ssh.FingerprintSHA256(k) + " (pinned)"} {
		if !strings.Contains(out, want) {
			t.Errorf("target list lacks %q:\n%s", want, out)
		}
	}
	failVigil(t, data, "", `target "web01" already exists`, "target", "add", "web01", "--host", "h")
	failVigil(t, data, "", `invalid target name "Web01"`, "target", "add", "Web01", "--host", "h")
	failVigil(t, data, "", `"host" not set`, "target", "add", "web09")
	failVigil(t, data, "", "port 70000", "target", "add", "web09", "--host", "h", "--port", "70000")
	failVigil(t, data, "", `protocol "ftp"`, "target", "add", "web09", "--host", "h", "--protocol", "ftp")
	failVigil(t, data, "", "host key", "target", "add", "web09", "--host", "h", "--host-key", "nonsense")
	failVigil(t, data, "", `unknown target "web09"`, "target", "remove", "web09")
	okVigil(t, data, "", "target", "remove", "web01")
	if out := okVigil(t, data, "", "target", "list"); strings.Contains(out, "web01") {
		t.Errorf("web01 still listed:\n%s", out)
	}
}

func TestGrantCommands(t *testing.T) {
	data := t.TempDir()
	okVigil(t, data, "", "user", "add", "alice")
	okVigil(t, data, "", "target", "add", "web01", "--host", "h")
	_, stderr, err := runVigil(t, data, "", "grant", "add", "alice", "web01", "root", "--port-forward")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "no credential for root@web01") {
		t.Errorf("grant add without a credential gave no note: %q", stderr)
	}
	okVigil(t, data, "", "grant", "add", "alice", "web01", "deploy", "--agent-forward")
	out := okVigil(t, data, "", "grant", "list")
	for _, want := range []string{"alice  web01   root     yes           no", "alice  web01   deploy   no            yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("grant list lacks %q:\n%s", want, out)
		}
	}
	failVigil(t, data, "", `unknown user "bob"`, "grant", "add", "bob", "web01", "root")
	failVigil(t, data, "", `unknown target "web02"`, "grant", "add", "alice", "web02", "root")
	failVigil(t, data, "", `invalid account "a@b"`, "grant", "add", "alice", "web01", "a@b")
	failVigil(t, data, "", "already exists", "grant", "add", "alice", "web01", "root")
	failVigil(t, data, "", "has 2 grant(s)", "user", "remove", "alice")
	failVigil(t, data, "", "has 2 grant(s)", "target", "remove", "web01")
	failVigil(t, data, "", "unknown grant", "grant", "remove", "alice", "web01", "nobody")
	okVigil(t, data, "", "grant", "remove", "alice", "web01", "root")
	okVigil(t, data, "", "grant", "remove", "alice", "web01", "deploy")
	okVigil(t, data, "", "user", "remove", "alice")
	okVigil(t, data, "", "target", "remove", "web01")
}

func TestCredentialCommands(t *testing.T) {
	data := t.TempDir()
	const password = "Vaulted-pw-needle-5521"
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(sk, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(block)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(keyFile, keyPEM, 0o600)

	okVigil(t, data, "", "target", "add", "web01", "--host", "h")
	var outputs []string
	run := func(stdin string, args ...string) {
		out, errOut, err := runVigil(t, data, stdin, args...)
		if err != nil {
			t.Fatalf("vigil %v: %v", args, err)
		}
		outputs = append(outputs, out, errOut)
	}
	run(password+"\n", "credential", "set", "web01", "root")
	run("", "credential", "set", "web01", "deploy", "--private-key-file", keyFile)
	run("", "credential", "list")
	if !strings.Contains(outputs[len(outputs)-2], "web01   deploy\nweb01   root") {
		t.Errorf("credential list:\n%s", outputs[len(outputs)-2])
	}

	v, err := vault.Open(filepath.Join(data, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := v.Get("web01", "root"); err != nil || string(s.Password) != password {
		t.Fatalf("vaulted password: %v", err)
	}
	if s, err := v.Get("web01", "deploy"); err != nil || !bytes.Equal(s.PrivateKey, keyPEM) || s.Password != nil {
		t.Fatalf("vaulted key: %v", err)
	}

	// Neither the password nor the key appears in any output or in any file of the data dir.
	keyBody := keyPEM[40:80]
	for _, o := range outputs {
		if strings.Contains(o, password) || strings.Contains(o, string(keyBody)) {
			t.Errorf("output shows the secret: %q", o)
		}
	}
	vaultFiles := 0
	err = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(p, string(filepath.Separator)+"vault"+string(filepath.Separator)) {
			vaultFiles++
		}
		if bytes.Contains(b, []byte(password)) || bytes.Contains(b, keyBody) {
			t.Errorf("%s holds a secret in clear", p)
		}
		return nil
	})
	// The walk must have read the vault's entries, or it proved nothing.
	if err != nil || vaultFiles < 2 {
		t.Fatalf("walking the data dir: %v, %d vault files read (want the key and two entries)", err, vaultFiles)
	}

	failVigil(t, data, "x\n", `unknown target "web02"`, "credential", "set", "web02", "root")
	failVigil(t, data, "x\n", `invalid account "a b"`, "credential", "set", "web01", "a b")
	failVigil(t, data, "", "empty password", "credential", "set", "web01", "root")
	failVigil(t, data, "a\nb\n", "several lines", "credential", "set", "web01", "root")
	failVigil(t, data, "x\n", "private key", "credential", "set", "web01", "root", "--private-key-file", filepath.Join(data, "access.json"))
	failVigil(t, data, "", "no credential for nobody@web01", "credential", "remove", "web01", "nobody")
	okVigil(t, data, "", "credential", "remove", "web01", "root")
	if out := okVigil(t, data, "", "credential", "list"); strings.Contains(out, "root") {
		t.Errorf("removed credential still listed:\n%s", out)
	}
}

// TestConfigEntriesReadOnly: users, targets and grants from the configuration file are listed
// with the CLI's and cannot be removed by it.
func TestConfigEntriesReadOnly(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(cfg, []byte(`
access:
  users:
    - name: carol
      role: admin
      public_keys: ["`+pubKeyLine(t)+`"]
  targets:
    - name: db1
      host: 10.0.0.9
      port: 2200
  grants:
    - user: carol
      target: db1
      account: postgres
      port_forward: true
`), 0o600)
	c := func(args ...string) []string { return append([]string{"--config", cfg}, args...) }
	out := okVigil(t, data, "", c("user", "list")...)
	if !strings.Contains(out, "carol  admin  no        1     no      config") {
		t.Errorf("user list:\n%s", out)
	}
	if out := okVigil(t, data, "", c("target", "list")...); !strings.Contains(out, "db1   10.0.0.9  2200") {
		t.Errorf("target list:\n%s", out)
	}
	if out := okVigil(t, data, "", c("grant", "list")...); !strings.Contains(out, "carol  db1     postgres  yes") {
		t.Errorf("grant list:\n%s", out)
	}
	failVigil(t, data, "", "configuration file", c("grant", "remove", "carol", "db1", "postgres")...)
	failVigil(t, data, "", "configuration file", c("user", "remove", "carol")...)
	failVigil(t, data, "", "configuration file", c("target", "remove", "db1")...)
	// The CLI adds alongside.
	okVigil(t, data, "", c("user", "add", "dave")...)
	okVigil(t, data, "", c("grant", "add", "dave", "db1", "ro")...)
	// Exporting evidence from the web UI is a permission of its own, for auditors and admins only.
	failVigil(t, data, "", "configuration file", c("user", "export", "carol", "on")...)
	failVigil(t, data, "", "only auditors and admins", c("user", "export", "dave", "on")...)
	failVigil(t, data, "", "--export needs --role auditor or admin", c("user", "add", "frank", "--export")...)
	okVigil(t, data, "", c("user", "add", "erin", "--role", "auditor", "--export")...)
	okVigil(t, data, "", c("user", "add", "gail", "--role", "auditor")...)
	okVigil(t, data, "", c("user", "export", "gail", "on")...)
	okVigil(t, data, "", c("user", "export", "erin", "off")...)
	out = okVigil(t, data, "", c("user", "list")...)
	for _, want := range []string{"erin   auditor  no        0     no", "gail   auditor  no        0     yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %q:\n%s", want, out)
		}
	}

	os.WriteFile(cfg, []byte("access:\n  users:\n    - name: Bad\n"), 0o600)
	failVigil(t, data, "", "access.users[0]", c("user", "list")...)
}
