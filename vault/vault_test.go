package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	testPassword = []byte("pw-Zq8!unique-needle-71")
	testKey      = []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material-needle-93\n-----END OPENSSH PRIVATE KEY-----\n")
)

func openTemp(t *testing.T) (*Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return v, dir
}

func TestRoundTrip(t *testing.T) {
	v, _ := openTemp(t)
	cases := []struct {
		name, target, account string
		s                     Secret
	}{
		{"password", "web01", "root", Secret{Password: testPassword}},
		{"key", "web01", "deploy", Secret{PrivateKey: testKey}},
		{"both", "db.prod-1", "postgres", Secret{Password: testPassword, PrivateKey: testKey}},
		{"windows account", "rdp1", `CORP\admin`, Secret{Password: []byte{0, 1, 2, 255}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := v.Set(c.target, c.account, c.s); err != nil {
				t.Fatal(err)
			}
			got, err := v.Get(c.target, c.account)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Password, c.s.Password) || !bytes.Equal(got.PrivateKey, c.s.PrivateKey) {
				t.Fatal("secret changed in the round trip")
			}
		})
	}
	refs, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{{"db.prod-1", "postgres"}, {"rdp1", `CORP\admin`}, {"web01", "deploy"}, {"web01", "root"}}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Fatalf("List = %v, want %v", refs, want)
	}
	// Replacing and deleting.
	if err := v.Set("web01", "root", Secret{Password: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Get("web01", "root"); string(got.Password) != "new" || got.PrivateKey != nil {
		t.Fatal("Set did not replace the secret")
	}
	if err := v.Delete("web01", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get("web01", "root"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := v.Delete("web01", "root"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
}

func TestReopenKeepsSecrets(t *testing.T) {
	v, dir := openTemp(t)
	if err := v.Set("t", "a", Secret{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Get("t", "a")
	if err != nil || !bytes.Equal(got.Password, testPassword) {
		t.Fatalf("reopened Get: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	v, _ := openTemp(t)
	if err := v.Set("t", "a", Secret{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty secret: %v", err)
	}
	for _, n := range [][2]string{{"", "a"}, {"t", ""}, {"t\n", "a"}, {"t", "a\x00b"}} {
		if err := v.Set(n[0], n[1], Secret{Password: []byte("x")}); !errors.Is(err, ErrBadName) {
			t.Errorf("Set(%q, %q): %v, want ErrBadName", n[0], n[1], err)
		}
	}
}

// TestNoPlaintextOnDisk greps every file under the vault for the secret bytes and for their base64
// and hex forms.
func TestNoPlaintextOnDisk(t *testing.T) {
	v, dir := openTemp(t)
	if err := v.Set("web01", "root", Secret{Password: testPassword, PrivateKey: testKey}); err != nil {
		t.Fatal(err)
	}
	needles := [][]byte{testPassword, []byte("key-material-needle-93"), []byte("unique-needle")}
	for _, n := range append([][]byte(nil), needles...) {
		j, _ := json.Marshal(n) // base64, as encoding/json writes []byte
		needles = append(needles, bytes.Trim(j, `"`), []byte(fmt.Sprintf("%x", n)))
	}
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s contains secret bytes %q", p, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 {
		t.Fatalf("walked %d files, expected the key and an entry", files)
	}
}

func TestSwappedEntriesDetected(t *testing.T) {
	v, dir := openTemp(t)
	if err := v.Set("web01", "root", Secret{Password: []byte("root-pw")}); err != nil {
		t.Fatal(err)
	}
	if err := v.Set("web02", "root", Secret{Password: []byte("other-pw")}); err != nil {
		t.Fatal(err)
	}
	a, b := v.path("web01", "root"), v.path("web02", "root")
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	t.Run("files swapped", func(t *testing.T) {
		os.WriteFile(a, bb, 0o600)
		os.WriteFile(b, ab, 0o600)
		for _, tg := range []string{"web01", "web02"} {
			if _, err := v.Get(tg, "root"); !errors.Is(err, ErrTampered) {
				t.Errorf("Get(%s) after swap: %v, want ErrTampered", tg, err)
			}
		}
	})
	t.Run("names edited to match", func(t *testing.T) {
		var e entry
		json.Unmarshal(bb, &e)
		e.Target = "web01"
		forged, _ := json.Marshal(e)
		os.WriteFile(a, forged, 0o600)
		if _, err := v.Get("web01", "root"); !errors.Is(err, ErrTampered) {
			t.Errorf("Get of a forged entry: %v, want ErrTampered", err)
		}
	})
	t.Run("bit flipped", func(t *testing.T) {
		var e entry
		json.Unmarshal(ab, &e)
		e.Sealed[0] ^= 1
		flipped, _ := json.Marshal(e)
		os.WriteFile(a, flipped, 0o600)
		if _, err := v.Get("web01", "root"); !errors.Is(err, ErrTampered) {
			t.Errorf("Get of a flipped entry: %v, want ErrTampered", err)
		}
	})
	_ = dir
}

func TestWrongKey(t *testing.T) {
	v, dir := openTemp(t)
	if err := v.Set("web01", "root", Secret{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{7}, KeySize)
	if err := os.WriteFile(filepath.Join(dir, "key"), other, 0o600); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v2.Get("web01", "root")
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Get under another key: %v, want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), "different key") || !strings.Contains(err.Error(), "root@web01") {
		t.Errorf("error %q does not say what is wrong", err)
	}
}

func TestPermissions(t *testing.T) {
	v, dir := openTemp(t)
	if err := v.Set("web01", "root", Secret{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	check := func(p string, want fs.FileMode) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	check(dir, 0o700)
	check(filepath.Join(dir, "entries"), 0o700)
	check(filepath.Join(dir, "key"), 0o600)
	check(v.path("web01", "root"), 0o600)

	for _, mode := range []fs.FileMode{0o640, 0o604, 0o660, 0o644} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			if err := os.Chmod(filepath.Join(dir, "key"), mode); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(dir); !errors.Is(err, ErrKeyPermissions) {
				t.Fatalf("Open with key mode %04o: %v, want ErrKeyPermissions", mode, err)
			}
		})
	}
	os.Chmod(filepath.Join(dir, "key"), 0o400)
	if _, err := Open(dir); err != nil {
		t.Fatalf("Open with key mode 0400: %v", err)
	}
}

func TestBadKeySize(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key"), []byte("short"), 0o600)
	if _, err := Open(dir); !errors.Is(err, ErrBadKey) {
		t.Fatalf("Open with a 5-byte key: %v, want ErrBadKey", err)
	}
}

type staticKey []byte

func (k staticKey) Key() ([]byte, error) { return append([]byte(nil), k...), nil }

func TestOpenWithKeySource(t *testing.T) {
	dir := t.TempDir()
	v, err := OpenWithKey(dir, staticKey(bytes.Repeat([]byte{1}, KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Set("t", "a", Secret{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a custom key source must not create a key file: %v", err)
	}
	v2, _ := OpenWithKey(dir, staticKey(bytes.Repeat([]byte{2}, KeySize)))
	if _, err := v2.Get("t", "a"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Get under another key source: %v, want ErrWrongKey", err)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s := Secret{Password: testPassword, PrivateKey: testKey}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", s, "ptr", &s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "secret", s)
	j, _ := json.Marshal(struct{ S Secret }{s})
	outputs := []string{
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v %s", &s, &s, &s, &s),
		fmt.Sprintf("%v %+v", struct{ S Secret }{s}, []Secret{s}),
		fmt.Sprint(s), fmt.Sprintln(s), string(j), logs.String(),
		fmt.Errorf("login failed with %v", s).Error(),
	}
	needles := []string{string(testPassword), "needle", fmt.Sprintf("%x", testPassword[:4]), fmt.Sprint(testPassword[:4])}
	for _, out := range outputs {
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("output %q does not say [redacted]", out)
		}
		for _, n := range needles {
			if strings.Contains(out, n) {
				t.Errorf("output %q shows secret bytes %q", out, n)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	v, _ := openTemp(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := fmt.Sprintf("a%d", i)
			for j := range 20 {
				pw := []byte(fmt.Sprintf("pw-%d-%d", i, j))
				if err := v.Set("t", acct, Secret{Password: pw}); err != nil {
					t.Error(err)
					return
				}
				got, err := v.Get("t", acct)
				if err != nil || !bytes.Equal(got.Password, pw) {
					t.Errorf("Get(%s) = %v", acct, err)
					return
				}
				v.List()
			}
		}()
	}
	wg.Wait()
	if refs, _ := v.List(); len(refs) != 8 {
		t.Fatalf("List has %d entries, want 8", len(refs))
	}
}

func TestWipe(t *testing.T) {
	pw := []byte("abc")
	s := Secret{Password: pw}
	s.Wipe()
	if !bytes.Equal(pw, []byte{0, 0, 0}) || s.Password != nil {
		t.Fatal("Wipe left the bytes")
	}
}
