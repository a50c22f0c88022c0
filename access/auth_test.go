package access

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword([]byte("s3cret"))
	must(t, err)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := HashPassword([]byte("s3cret"))
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if !verifyPassword(h, []byte("s3cret")) || verifyPassword(h, []byte("s3cret ")) || verifyPassword(h, nil) {
		t.Error("verifyPassword wrong")
	}
	bad := []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 4 GiB: refused
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"}
	for _, b := range bad {
		if _, err := parsePHC(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("parsePHC(%q) = %v, want ErrInvalid", b, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	s, _ := openStore(t, Config{})
	key, line := newKey(t)
	other, _ := newKey(t)
	must(t, s.AddUser(User{Name: "alice", Role: RoleAdmin}))
	must(t, s.SetPassword("alice", []byte("correct horse")))
	must(t, s.AddKey("alice", line))
	must(t, s.AddUser(User{Name: "keyonly", PublicKeys: []string{mustLine(t)}}))
	if err := s.AddKey("alice", line); !errors.Is(err, ErrExists) {
		t.Errorf("adding a key twice: %v", err)
	}

	pw := []struct {
		user, pw string
		ok       bool
	}{
		{"alice", "correct horse", true},
		{"alice", "correct horse ", false},
		{"alice", "", false},
		{"bob", "correct horse", false},
		{"keyonly", "", false},
	}
	for _, c := range pw {
		u, err := s.AuthenticatePassword(c.user, []byte(c.pw))
		if c.ok && (err != nil || u.Name != "alice" || u.Role != RoleAdmin) {
			t.Errorf("AuthenticatePassword(%s, %q) = %v, %v", c.user, c.pw, u, err)
		}
		if !c.ok && !errors.Is(err, ErrBadCredentials) {
			t.Errorf("AuthenticatePassword(%s, %q) = %v, want ErrBadCredentials", c.user, c.pw, err)
		}
	}
	if u, err := s.AuthenticateKey("alice", key); err != nil || u.Name != "alice" {
		t.Errorf("AuthenticateKey(alice, her key) = %v", err)
	}
	for _, c := range []struct {
		user string
		key  ssh.PublicKey
	}{{"alice", other}, {"bob", key}, {"keyonly", key}, {"alice", nil}} {
		if _, err := s.AuthenticateKey(c.user, c.key); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("AuthenticateKey(%s) = %v, want ErrBadCredentials", c.user, err)
		}
	}
}

func TestAuthorize(t *testing.T) {
	s, _ := openStore(t, Config{})
	for _, u := range []string{"alice", "bob"} {
		must(t, s.AddUser(User{Name: u}))
	}
	for _, tg := range []string{"web01", "web02", "db1"} {
		must(t, s.AddTarget(Target{Name: tg, Host: tg + ".internal"}))
	}
	must(t, s.AddGrant(Grant{User: "alice", Target: "web01", Account: "deploy"}))
	must(t, s.AddGrant(Grant{User: "alice", Target: "web01", Account: "root", PortForward: true}))
	must(t, s.AddGrant(Grant{User: "alice", Target: "db1", Account: "postgres"}))

	cases := []struct {
		user, target, account string
		err                   error
	}{
		{"alice", "web01", "deploy", nil}, // the first grant
		{"alice", "root@web01", "root", nil},
		{"alice", "deploy@web01", "deploy", nil},
		{"alice", "db1", "postgres", nil},
		{"alice", "admin@web01", "", ErrDenied},
		{"alice", "web02", "", ErrNoSuchTarget}, // exists, not granted: looks missing
		{"alice", "web99", "", ErrNoSuchTarget},
		{"bob", "web01", "", ErrNoSuchTarget},
		{"nobody", "web01", "", ErrNoSuchTarget},
		{"alice", "root@web99", "", ErrNoSuchTarget},
	}
	for _, c := range cases {
		t.Run(c.user+"/"+c.target, func(t *testing.T) {
			tg, g, err := s.Authorize(c.user, c.target)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || g.Account != c.account || tg.Name != g.Target || g.User != c.user {
				t.Fatalf("Authorize = %+v %+v %v", tg, g, err)
			}
		})
	}
	// The two refusals read alike, so the error does not reveal that web02 exists.
	_, _, e1 := s.Authorize("alice", "web02")
	_, _, e2 := s.Authorize("alice", "web03")
	if strings.ReplaceAll(e1.Error(), "web02", "X") != strings.ReplaceAll(e2.Error(), "web03", "X") {
		t.Errorf("refusals differ: %q vs %q", e1, e2)
	}
	var names []string
	for _, tg := range s.Permitted("alice") {
		names = append(names, tg.Name)
	}
	if fmt.Sprint(names) != "[db1 web01]" {
		t.Errorf("Permitted(alice) = %v", names)
	}
	if p := s.Permitted("bob"); len(p) != 0 {
		t.Errorf("Permitted(bob) = %v", p)
	}
}

func TestHostKeyPinned(t *testing.T) {
	good, goodLine := newKey(t)
	bad, _ := newKey(t)
	s, _ := openStore(t, Config{})
	must(t, s.AddTarget(Target{Name: "bykey", Host: "h", HostKey: goodLine}))
	must(t, s.AddTarget(Target{Name: "byfp", Host: "h", HostKey: ssh.FingerprintSHA256(good)}))
	must(t, s.AddTarget(Target{Name: "byknownhosts", Host: "h", HostKey: "h.example " + goodLine}))
	for _, tg := range []string{"bykey", "byfp", "byknownhosts"} {
		cb := s.HostKeyCallback(tg)
		if err := cb("h:22", nil, good); err != nil {
			t.Errorf("%s: pinned key refused: %v", tg, err)
		}
		err := cb("h:22", nil, bad)
		if !errors.Is(err, ErrHostKeyMismatch) {
			t.Fatalf("%s: wrong key: %v, want ErrHostKeyMismatch", tg, err)
		}
		if !strings.Contains(err.Error(), ssh.FingerprintSHA256(good)) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(bad)) {
			t.Errorf("%s: mismatch error %q lacks a fingerprint", tg, err)
		}
	}
	if err := s.HostKeyCallback("nope")("h:22", nil, good); !errors.Is(err, ErrNoSuchTarget) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestHostKeyTOFU(t *testing.T) {
	first, _ := newKey(t)
	second, _ := newKey(t)
	s, path := openStore(t, Config{Targets: []Target{{Name: "conf1", Host: "h"}}})
	must(t, s.AddTarget(Target{Name: "web01", Host: "h"}))
	for _, tg := range []string{"web01", "conf1"} {
		cb := s.HostKeyCallback(tg)
		must(t, cb("h:22", nil, first))
		must(t, cb("h:22", nil, first))
		if err := cb("h:22", nil, second); !errors.Is(err, ErrHostKeyMismatch) {
			t.Fatalf("%s: changed key accepted: %v", tg, err)
		}
		// Persisted: a fresh store (a gateway restart) enforces it too.
		s2, err := OpenStore(path, Config{Targets: []Target{{Name: "conf1", Host: "h"}}})
		must(t, err)
		if err := s2.HostKeyCallback(tg)("h:22", nil, second); !errors.Is(err, ErrHostKeyMismatch) {
			t.Fatalf("%s: key recorded on first use was not persisted: %v", tg, err)
		}
		if k, pinned, _ := s2.HostKey(tg); pinned || !strings.Contains(k, "ssh-ed25519") {
			t.Errorf("%s: HostKey = %q, %v", tg, k, pinned)
		}
	}
	must(t, s.ForgetHostKey("web01"))
	must(t, s.HostKeyCallback("web01")("h:22", nil, second))
}

// TestHostKeyTOFURace: many connections to a new target at once record exactly one key; every
// other key is refused.
func TestHostKeyTOFURace(t *testing.T) {
	s, _ := openStore(t, Config{})
	must(t, s.AddTarget(Target{Name: "web01", Host: "h"}))
	keys := make([]ssh.PublicKey, 8)
	for i := range keys {
		keys[i], _ = newKey(t)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(keys))
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.HostKeyCallback("web01")("h:22", nil, keys[i])
		}()
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		if err == nil {
			accepted++
		} else if !errors.Is(err, ErrHostKeyMismatch) {
			t.Fatal(err)
		}
	}
	if accepted != 1 {
		t.Fatalf("%d keys accepted on first use, want 1", accepted)
	}
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	s, path := openStore(t, Config{})
	must(t, s.AddTarget(Target{Name: "web01", Host: "h"}))
	other, err := OpenStore(path, Config{}) // a second process, in effect
	must(t, err)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("u%d", i)
			st := s
			if i%2 == 1 {
				st = other
			}
			if err := st.AddUser(User{Name: name}); err != nil {
				t.Error(err)
			}
			if err := st.AddGrant(Grant{User: name, Target: "web01", Account: "root"}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				s.Permitted("u1")
				s.Authorize("u0", "web01")
				other.Users()
			}
		}()
	}
	wg.Wait()
	if n := len(s.Grants()); n != 4 {
		t.Fatalf("%d grants after concurrent adds from two stores, want 4 (a write was lost)", n)
	}
}

func BenchmarkAuthenticatePassword(b *testing.B) {
	s, _ := openStore(b, Config{})
	must(b, s.AddUser(User{Name: "alice"}))
	must(b, s.SetPassword("alice", []byte("pw")))
	for _, c := range []struct{ name, user string }{{"known", "alice"}, {"unknown", "zed"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.AuthenticatePassword(c.user, []byte("wrong"))
			}
		})
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s, _ := openStore(b, Config{})
	must(b, s.AddUser(User{Name: "alice"}))
	for i := range 100 {
		must(b, s.AddTarget(Target{Name: fmt.Sprintf("t%d", i), Host: "h"}))
		must(b, s.AddGrant(Grant{User: "alice", Target: fmt.Sprintf("t%d", i), Account: "root"}))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Authorize("alice", "t50"); err != nil {
			b.Fatal(err)
		}
	}
}
