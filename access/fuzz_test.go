package access

import (
	"errors"
	"testing"
)

// FuzzParsePHC: the hash decoder never panics, rejects with ErrInvalid, and bounds the cost of
// anything it accepts.
func FuzzParsePHC(f *testing.F) {
	h, _ := hashWith([]byte("pw"), Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	f.Add(h)
	f.Add("$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if p.params.Memory > maxMemory || p.params.Time > maxTime || p.params.Threads > maxThreads || p.params.Time == 0 {
			t.Fatalf("accepted costly parameters %+v", p.params)
		}
	})
}

// FuzzParsePin: host key pins and user keys never panic the parser; an accepted pin has a
// fingerprint.
func FuzzParsePin(f *testing.F) {
	_, line := newKey(f)
	f.Add(line)
	f.Add("SHA256:" + "A234567890123456789012345678901234567890123")
	f.Add("host " + line)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePin(s)
		if err == nil && len(p.fingerprint) != 50 {
			t.Fatalf("pin %q accepted with fingerprint %q", s, p.fingerprint)
		}
		parseUserKey(s)
	})
}
