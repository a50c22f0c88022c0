package player

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// otpDesktops adds the native-viewer hook to the fake desktops: alice may have passwords for
// desk01, two at most.
type otpDesktops struct {
	*fakeDesktops
	mu     sync.Mutex
	issued int
}

const fakeOTP = "Xy7pQ2rT"

func (o *otpDesktops) IssueDesktopOTP(_ context.Context, user, target string) (DesktopOTP, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case target != "desk01":
		return DesktopOTP{}, fmt.Errorf("otp %s: %w", target, ErrNotFound)
	case user != "alice":
		return DesktopOTP{}, fmt.Errorf("otp %s as %s: %w", target, user, ErrForbidden)
	case o.issued == 2:
		return DesktopOTP{}, fmt.Errorf("otp: %w", ErrTooManyOTPs)
	}
	o.issued++
	return DesktopOTP{Password: fakeOTP, Expires: time.Date(2030, 1, 1, 0, 5, 0, 0, time.UTC), Address: "vigil.example:5900"}, nil
}

func TestDesktopOTP(t *testing.T) {
	f := newDesktopFixture(t, graphicalConfig)
	alice, bob := f.mustLogin(t, "alice"), f.mustLogin(t, "bob")
	// Without the hook there is no such thing.
	if r := f.do(t, alice, "POST", "/api/desktop/otp", `{"target":"desk01"}`, nil); r.code != http.StatusNotFound {
		t.Fatalf("without the hook: %d %s", r.code, r.body)
	}
	f.srv.cfg.Desktops = &otpDesktops{fakeDesktops: f.desks}

	r := f.do(t, alice, "POST", "/api/desktop/otp", `{"target":"desk01"}`, nil)
	var otp DesktopOTP
	if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &otp) != nil || otp.Password != fakeOTP ||
		otp.Address != "vigil.example:5900" || otp.Expires.IsZero() {
		t.Fatalf("issue: %d %s", r.code, r.body)
	}
	if cc := r.hdr.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	noCSRF := &client{cookie: alice.cookie, csrf: "wrong"}
	for _, tc := range []struct {
		name string
		c    *client
		body string
		want int
	}{
		{"no login", nil, `{"target":"desk01"}`, http.StatusUnauthorized},
		{"wrong csrf", noCSRF, `{"target":"desk01"}`, http.StatusForbidden},
		{"no grant", bob, `{"target":"desk01"}`, http.StatusForbidden},
		{"no target", alice, `{"target":"nope"}`, http.StatusNotFound},
		{"empty target", alice, `{"target":" "}`, http.StatusBadRequest},
		{"malformed", alice, `{"target":`, http.StatusBadRequest},
		{"too long", alice, `{"target":"` + strings.Repeat("a", 2000) + `"}`, http.StatusBadRequest},
		{"second", alice, `{"target":"desk01"}`, http.StatusOK},
		{"third: too many", alice, `{"target":"desk01"}`, http.StatusTooManyRequests},
	} {
		if r := f.do(t, tc.c, "POST", "/api/desktop/otp", tc.body, nil); r.code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.code, r.body, tc.want)
		}
	}
	if r := f.do(t, alice, "GET", "/api/desktop/otp", "", nil); r.code == http.StatusOK {
		t.Errorf("GET issued a password: %s", r.body)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := map[string]int{}
	for _, a := range f.audits {
		kinds[a.Kind]++
		if strings.Contains(a.Detail, fakeOTP) || strings.Contains(a.Session, fakeOTP) {
			t.Errorf("the password in the audit event %+v", a)
		}
	}
	if kinds["web.desktop.otp"] != 2 || kinds["web.desktop.otp-refused"] != 3 {
		t.Errorf("audited %v, want 2 issued and 3 refused (no grant, no target, too many)", kinds)
	}
}
