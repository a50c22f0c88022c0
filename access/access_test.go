package access

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func newKey(t testing.TB) (ssh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func openStore(t testing.TB, conf Config) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "access.json")
	s, err := OpenStore(path, conf)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"web01", true}, {"db.prod-1_a", true}, {"0", true},
		{strings.Repeat("a", 64), true}, {strings.Repeat("a", 65), false},
		{"", false}, {"Alice", false}, {"a@b", false}, {"-a", false}, {".a", false}, {"a b", false},
		{"a/b", false}, {"é", false},
	}
	for _, c := range cases {
		if got := ValidName(c.name); got != c.ok {
			t.Errorf("ValidName(%q) = %v, want %v", c.name, got, c.ok)
		}
	}
	accounts := map[string]bool{"root": true, `CORP\admin`: true, "a@b": false, "": false, "a b": false,
		strings.Repeat("x", 65): false}
	for a, ok := range accounts {
		if ValidAccount(a) != ok {
			t.Errorf("ValidAccount(%q) = %v, want %v", a, !ok, ok)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s, path := openStore(t, Config{})
	_, line := newKey(t)
	must(t, s.AddUser(User{Name: "alice", PublicKeys: []string{line}}))
	must(t, s.AddUser(User{Name: "bob", Role: RoleAuditor}))
	must(t, s.AddTarget(Target{Name: "web01", Host: "10.0.0.1"}))
	must(t, s.AddTarget(Target{Name: "vnc1", Host: "10.0.0.2", Protocol: "vnc"}))
	must(t, s.AddGrant(Grant{User: "alice", Target: "web01", Account: "root", AgentForward: true}))

	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("access.json mode %04o, want 0600", fi.Mode().Perm())
	}
	// A second store on the same file sees everything, defaults applied.
	s2, err := OpenStore(path, Config{})
	must(t, err)
	us := s2.Users()
	if len(us) != 2 || us[0].Name != "alice" || us[0].Role != RoleUser || us[1].Role != RoleAuditor ||
		len(us[0].PublicKeys) != 1 {
		t.Fatalf("users = %+v", us)
	}
	ts := s2.Targets()
	if len(ts) != 2 || ts[0].Name != "vnc1" || ts[0].Port != 5900 || ts[1].Port != 22 || ts[1].Protocol != "ssh" {
		t.Fatalf("targets = %+v", ts)
	}
	if gs := s2.Grants(); len(gs) != 1 || !gs[0].AgentForward || gs[0].PortForward {
		t.Fatalf("grants = %+v", gs)
	}

	must(t, s2.RemoveGrant(Grant{User: "alice", Target: "web01", Account: "root"}))
	must(t, s2.RemoveUser("alice"))
	must(t, s2.RemoveTarget("web01"))
	// The first store notices the other's changes.
	if len(s.Users()) != 1 || len(s.Targets()) != 1 || len(s.Grants()) != 0 {
		t.Fatalf("first store did not reload: %v %v %v", s.Users(), s.Targets(), s.Grants())
	}
}

func TestStoreErrors(t *testing.T) {
	s, _ := openStore(t, Config{})
	must(t, s.AddUser(User{Name: "alice"}))
	must(t, s.AddTarget(Target{Name: "web01", Host: "h"}))
	must(t, s.AddGrant(Grant{User: "alice", Target: "web01", Account: "root"}))
	cases := []struct {
		name string
		err  error
		want error
		msg  string
	}{
		{"dup user", s.AddUser(User{Name: "alice"}), ErrExists, `user "alice" already exists`},
		{"bad user", s.AddUser(User{Name: "Al@ce"}), ErrInvalid, `"Al@ce"`},
		{"bad role", s.AddUser(User{Name: "x", Role: "root"}), ErrInvalid, `role "root"`},
		{"bad key", s.AddUser(User{Name: "x", PublicKeys: []string{"ssh-rsa nope"}}), ErrInvalid, "public key"},
		{"key options", s.AddUser(User{Name: "x", PublicKeys: []string{`from="1.2.3.4" ` + mustLine(t)}}), ErrInvalid, "options"},
		{"dup target", s.AddTarget(Target{Name: "web01", Host: "h"}), ErrExists, `target "web01" already exists`},
		{"bad target", s.AddTarget(Target{Name: "web 1", Host: "h"}), ErrInvalid, `"web 1"`},
		{"no host", s.AddTarget(Target{Name: "t"}), ErrInvalid, "host"},
		{"bad port", s.AddTarget(Target{Name: "t", Host: "h", Port: 70000}), ErrInvalid, "port"},
		{"bad protocol", s.AddTarget(Target{Name: "t", Host: "h", Protocol: "ftp"}), ErrInvalid, "protocol"},
		{"bad host key", s.AddTarget(Target{Name: "t", Host: "h", HostKey: "SHA256:short"}), ErrInvalid, "fingerprint"},
		{"grant unknown user", s.AddGrant(Grant{User: "bob", Target: "web01", Account: "root"}), ErrNotFound, `unknown user "bob"`},
		{"grant unknown target", s.AddGrant(Grant{User: "alice", Target: "web02", Account: "root"}), ErrNotFound, `unknown target "web02"`},
		{"grant bad account", s.AddGrant(Grant{User: "alice", Target: "web01", Account: "a@b"}), ErrInvalid, "account"},
		{"dup grant", s.AddGrant(Grant{User: "alice", Target: "web01", Account: "root"}), ErrExists, "already exists"},
		{"user in use", s.RemoveUser("alice"), ErrInUse, "has 1 grant"},
		{"target in use", s.RemoveTarget("web01"), ErrInUse, "has 1 grant"},
		{"remove unknown user", s.RemoveUser("zed"), ErrNotFound, `unknown user "zed"`},
		{"remove unknown target", s.RemoveTarget("zed"), ErrNotFound, `unknown target "zed"`},
		{"remove unknown grant", s.RemoveGrant(Grant{User: "alice", Target: "web01", Account: "x"}), ErrNotFound, "unknown grant"},
		{"password of unknown", s.SetPassword("zed", []byte("pw")), ErrNotFound, `unknown user "zed"`},
		{"empty password", s.SetPassword("alice", nil), ErrInvalid, "empty password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.want) {
				t.Fatalf("err = %v, want %v", c.err, c.want)
			}
			if !strings.Contains(c.err.Error(), c.msg) {
				t.Errorf("err %q does not mention %q", c.err, c.msg)
			}
		})
	}
	if len(s.Users()) != 1 || len(s.Targets()) != 1 || len(s.Grants()) != 1 {
		t.Fatal("a failed change left a trace")
	}
}

func mustLine(t testing.TB) string { _, l := newKey(t); return l }

func TestConfigEntries(t *testing.T) {
	hash, err := HashPassword([]byte("conf-pw"))
	must(t, err)
	conf := Config{
		Users:   []User{{Name: "carol", PasswordHash: hash, Role: RoleAdmin}},
		Targets: []Target{{Name: "db1", Host: "10.0.0.9", Port: 2200}},
		Grants:  []Grant{{User: "carol", Target: "db1", Account: "postgres"}},
	}
	s, path := openStore(t, conf)
	for _, err := range []error{
		s.RemoveUser("carol"), s.SetPassword("carol", []byte("x")), s.AddKey("carol", mustLine(t)),
		s.RemoveTarget("db1"), s.RemoveGrant(conf.Grants[0]),
	} {
		if !errors.Is(err, ErrFromConfig) || !strings.Contains(err.Error(), "configuration file") {
			t.Errorf("change to a configured entry: %v, want ErrFromConfig", err)
		}
	}
	if !errors.Is(s.AddUser(User{Name: "carol"}), ErrExists) {
		t.Error("a stored user may not take a configured name")
	}
	// CLI entries combine with configured ones.
	must(t, s.AddUser(User{Name: "dave"}))
	must(t, s.AddGrant(Grant{User: "dave", Target: "db1", Account: "ro"}))
	if !s.IsFromConfig("user", "carol") || s.IsFromConfig("user", "dave") {
		t.Error("IsFromConfig wrong")
	}
	if _, err := s.AuthenticatePassword("carol", []byte("conf-pw")); err != nil {
		t.Errorf("configured user's password: %v", err)
	}
	// A config grant naming a user that exists only in the file is fine; naming nobody is not.
	conf.Grants = append(conf.Grants, Grant{User: "dave", Target: "db1", Account: "x"})
	if _, err := OpenStore(path, conf); err != nil {
		t.Errorf("config grant to a stored user: %v", err)
	}
	conf.Grants = append(conf.Grants, Grant{User: "erin", Target: "db1", Account: "x"})
	if _, err := OpenStore(path, conf); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `unknown user "erin"`) {
		t.Errorf("config grant to nobody: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name  string
		conf  Config
		field string
	}{
		{"bad user name", Config{Users: []User{{Name: "A"}}}, "access.users[0]"},
		{"dup target", Config{Targets: []Target{{Name: "t", Host: "h"}, {Name: "t", Host: "h"}}}, "access.targets[1]"},
		{"bad hash", Config{Users: []User{{Name: "a", PasswordHash: "plaintext"}}}, "access.users[0]"},
		{"bad grant", Config{Grants: []Grant{{User: "a", Target: "t", Account: ""}}}, "access.grants[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.conf.Validate()
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("Validate = %v, want an error naming %s", err, c.field)
			}
		})
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
