package access

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestTOTPStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "totp.json")
	s := OpenTOTP(path)
	if sec, err := s.Secret("alice"); err != nil || sec != "" {
		t.Fatalf("secret before enrolment = %q, %v", sec, err)
	}
	uri, err := s.Enroll("Vigil", "alice")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") == "" {
		t.Fatalf("uri %q", uri)
	}
	sec, err := s.Secret("alice")
	if err != nil || sec != u.Query().Get("secret") {
		t.Fatalf("stored secret differs from the URI's")
	}
	code, _ := totp.GenerateCode(sec, time.Now())
	if !totp.Validate(code, sec) {
		t.Error("a code from the stored secret does not validate")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if _, err := s.Enroll("Vigil", "../x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	if err := s.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
}
