package access

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

func fp(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestRDPSettingsValidate(t *testing.T) {
	good := FormatCertFingerprint(fp(0xab))
	cases := []struct {
		name string
		t    Target
		want string // "" means valid
	}{
		{"none", Target{Name: "w", Host: "h", Protocol: "rdp"}, ""},
		{"all set", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Security: "nla", Domain: "CORP", Certificate: good}}, ""},
		{"upper case and colons", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Certificate: "SHA256:" + strings.ToUpper(strings.Repeat("ab:", 31)) + "AB"}}, ""},
		{"on ssh", Target{Name: "w", Host: "h", RDP: &RDPSettings{Security: "tls"}}, "rdp options on a ssh target"},
		{"bad security", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Security: "ssl"}}, "security"},
		{"bad domain", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Domain: "a b"}}, "domain"},
		{"long domain", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Domain: strings.Repeat("d", 65)}}, "domain"},
		{"short fingerprint", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Certificate: "sha256:abcd"}}, "fingerprint"},
		{"no prefix", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Certificate: strings.Repeat("ab", 32)}}, "fingerprint"},
		{"not hex", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Certificate: "sha256:" + strings.Repeat("zz", 32)}}, "fingerprint"},
		{"pin without certificate", Target{Name: "w", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Security: "rdp", Certificate: good}}, "no certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openStore(t, Config{})
			err := s.AddTarget(c.t)
			if c.want == "" {
				must(t, err)
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("AddTarget = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
	if err := (Config{Targets: []Target{{Name: "w", Host: "h", Protocol: "vnc", RDP: &RDPSettings{Domain: "x"}}}}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("config with rdp options on vnc: %v", err)
	}
}

func TestRDPCertificatePinned(t *testing.T) {
	s, _ := openStore(t, Config{Targets: []Target{{Name: "conf1", Host: "h", Protocol: "rdp",
		RDP: &RDPSettings{Certificate: FormatCertFingerprint(fp(1))}}}})
	must(t, s.AddTarget(Target{Name: "win1", Host: "h", Protocol: "rdp", RDP: &RDPSettings{Certificate: FormatCertFingerprint(fp(1))}}))
	for _, tg := range []string{"win1", "conf1"} {
		must(t, s.CheckRDPCertificate(tg, fp(1)))
		err := s.CheckRDPCertificate(tg, fp(2))
		if !errors.Is(err, ErrCertificateMismatch) {
			t.Fatalf("%s: other certificate: %v, want ErrCertificateMismatch", tg, err)
		}
		for _, want := range []string{FormatCertFingerprint(fp(1)), FormatCertFingerprint(fp(2)), "pinned", tg} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v does not name %q", tg, err, want)
			}
		}
		if err := s.CheckRDPCertificate(tg, nil); !errors.Is(err, ErrCertificateMismatch) {
			t.Errorf("%s: no certificate with a pin: %v", tg, err)
		}
		got, pinned, err := s.RDPCertificate(tg)
		if err != nil || !pinned || !bytes.Equal(got, fp(1)) {
			t.Errorf("%s: RDPCertificate = %x, %v, %v", tg, got, pinned, err)
		}
	}
	if err := s.CheckRDPCertificate("nope", fp(1)); !errors.Is(err, ErrNoSuchTarget) {
		t.Errorf("unknown target: %v", err)
	}
	if _, _, err := s.RDPCertificate("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RDPCertificate of an unknown target: %v", err)
	}
}

func TestRDPCertificateTOFU(t *testing.T) {
	conf := Config{Targets: []Target{{Name: "conf1", Host: "h", Protocol: "rdp"}}}
	s, path := openStore(t, conf)
	must(t, s.AddTarget(Target{Name: "win1", Host: "h", Protocol: "rdp"}))
	for _, tg := range []string{"win1", "conf1"} {
		if got, _, err := s.RDPCertificate(tg); err != nil || got != nil {
			t.Fatalf("%s: before first use: %x, %v", tg, got, err)
		}
		// Standard RDP security shows no certificate: nothing is recorded.
		must(t, s.CheckRDPCertificate(tg, nil))
		must(t, s.CheckRDPCertificate(tg, fp(1)))
		must(t, s.CheckRDPCertificate(tg, fp(1)))
		err := s.CheckRDPCertificate(tg, fp(2))
		if !errors.Is(err, ErrCertificateMismatch) || !strings.Contains(err.Error(), "recorded on first use") {
			t.Fatalf("%s: changed certificate: %v", tg, err)
		}
		// Persisted: a fresh store (a gateway restart) enforces it too.
		s2, err := OpenStore(path, conf)
		must(t, err)
		if err := s2.CheckRDPCertificate(tg, fp(2)); !errors.Is(err, ErrCertificateMismatch) {
			t.Fatalf("%s: not persisted: %v", tg, err)
		}
		if got, pinned, err := s2.RDPCertificate(tg); err != nil || pinned || !bytes.Equal(got, fp(1)) {
			t.Errorf("%s: RDPCertificate = %x, %v, %v", tg, got, pinned, err)
		}
	}
	must(t, s.ForgetRDPCertificate("win1"))
	if err := s.ForgetRDPCertificate("win1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("forget twice: %v", err)
	}
	must(t, s.CheckRDPCertificate("win1", fp(2)))
	// A target removed and added again starts over.
	must(t, s.RemoveTarget("win1"))
	must(t, s.AddTarget(Target{Name: "win1", Host: "h", Protocol: "rdp"}))
	must(t, s.CheckRDPCertificate("win1", fp(3)))
}

// TestRDPCertificateTOFURace: many first connections at once record exactly one certificate.
func TestRDPCertificateTOFURace(t *testing.T) {
	s, _ := openStore(t, Config{})
	must(t, s.AddTarget(Target{Name: "win1", Host: "h", Protocol: "rdp"}))
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CheckRDPCertificate("win1", fp(byte(i+1)))
		}()
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		if err == nil {
			accepted++
		} else if !errors.Is(err, ErrCertificateMismatch) {
			t.Fatal(err)
		}
	}
	if accepted != 1 {
		t.Fatalf("%d certificates accepted on first use, want 1", accepted)
	}
}

func FuzzParseCertFingerprint(f *testing.F) {
	f.Add(FormatCertFingerprint(fp(7)))
	f.Add("sha256:" + strings.Repeat("ab:", 31) + "ab")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseCertFingerprint(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		// Round trip: what parsed formats back to a string that parses to the same bytes.
		b2, err := ParseCertFingerprint(FormatCertFingerprint(b))
		if err != nil || !bytes.Equal(b, b2) || len(b) != 32 {
			t.Fatalf("round trip of %q: %x %x %v", s, b, b2, err)
		}
	})
}
