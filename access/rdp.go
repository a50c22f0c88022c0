package access

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrCertificateMismatch: an RDP target presented a certificate other than the pinned or
// first-seen one. It is declared apart from the other sentinels because only RDP has certificates.
var ErrCertificateMismatch = errors.New("access: rdp certificate mismatch")

// RDP security modes of RDPSettings.Security.
const (
	RDPNegotiate = "negotiate" // the server's choice among NLA, TLS and standard RDP security
	RDPNLA       = "nla"
	RDPTLS       = "tls"
	RDPStandard  = "rdp" // standard RDP security: no certificate, so nothing to pin
)

// RDPSettings are the connection settings of an RDP target; nil (or zero) means negotiate, no
// domain, certificate trusted on first use.
type RDPSettings struct {
	// Security is negotiate (default), nla, tls or rdp.
	Security string `mapstructure:"security" json:"security,omitempty"`
	// Domain is the Windows domain of the vaulted account, if any.
	Domain string `mapstructure:"domain" json:"domain,omitempty"`
	// Certificate pins the server certificate: "sha256:" and the hex SHA-256 of its DER, as
	// FormatCertFingerprint writes it (colons allowed). Empty means trust on first use: the first
	// certificate seen is recorded in the store and enforced from then on, as for SSH host keys.
	Certificate string `mapstructure:"certificate" json:"certificate,omitempty"`
}

// IsZero reports whether s sets nothing.
func (s *RDPSettings) IsZero() bool {
	return s == nil || (s.Security == "" && s.Domain == "" && s.Certificate == "")
}

// SecurityMode is the security mode to dial with: Security, or negotiate when unset.
func (s *RDPSettings) SecurityMode() string {
	if s == nil || s.Security == "" {
		return RDPNegotiate
	}
	return s.Security
}

// String summarises the settings for listings, e.g. "nla; domain CORP".
func (s *RDPSettings) String() string {
	if s.IsZero() {
		return ""
	}
	parts := []string{s.SecurityMode()}
	if s.Domain != "" {
		parts = append(parts, "domain "+s.Domain)
	}
	return strings.Join(parts, "; ")
}

func (s *RDPSettings) validate(target, protocol string) error {
	if s.IsZero() {
		return nil
	}
	if protocol != "rdp" {
		return invalid("target %q: rdp options on a %s target", target, protocol)
	}
	switch s.Security {
	case "", RDPNegotiate, RDPNLA, RDPTLS, RDPStandard:
	default:
		return invalid("target %q: rdp security %q (want negotiate, nla, tls or rdp)", target, s.Security)
	}
	// A domain goes to FreeRDP as a C string and into logs: printable, no separators of ours.
	if len(s.Domain) > 64 || strings.ContainsFunc(s.Domain, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '@' }) {
		return invalid("target %q: rdp domain %q (want up to 64 printable characters, no spaces or '@')", target, abbreviate(s.Domain))
	}
	if s.Certificate != "" {
		if s.Security == RDPStandard {
			return invalid("target %q: rdp certificate pinned with security rdp, which has no certificate", target)
		}
		if _, err := ParseCertFingerprint(s.Certificate); err != nil {
			return fmt.Errorf("target %q: %w", target, err)
		}
	}
	return nil
}

// FormatCertFingerprint writes a certificate's SHA-256 as "sha256:" and lower-case hex, the form
// stored and shown (proxy/rdp.FormatFingerprint writes the same).
func FormatCertFingerprint(fp []byte) string { return "sha256:" + hex.EncodeToString(fp) }

// ParseCertFingerprint reads "sha256:<64 hex digits>" (case and colons ignored) into 32 bytes.
func ParseCertFingerprint(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), ":", "")
	h, ok := strings.CutPrefix(h, "sha256")
	fp, err := hex.DecodeString(h)
	if !ok || err != nil || len(fp) != 32 {
		return nil, invalid("rdp certificate fingerprint %q (want sha256: and 64 hex digits)", abbreviate(s))
	}
	return fp, nil
}

// RDPCertificate returns the certificate fingerprint the store enforces for target: the pinned
// one, else the one recorded on first use, else nil (the next connection records one).
// ErrNotFound for an unknown target.
func (s *Store) RDPCertificate(target string) (fp []byte, pinned bool, err error) {
	s.refresh()
	s.mu.RLock()
	t, _, ok := s.target(target)
	recorded := s.file.RDPCerts[target]
	s.mu.RUnlock()
	if !ok {
		return nil, false, notFound("target", target)
	}
	if t.RDP != nil && t.RDP.Certificate != "" {
		fp, err := ParseCertFingerprint(t.RDP.Certificate)
		return fp, true, err
	}
	if recorded == "" {
		return nil, false, nil
	}
	fp, err = ParseCertFingerprint(recorded)
	return fp, false, err
}

// CheckRDPCertificate checks the certificate fingerprint target presented. A pinned fingerprint is
// enforced; without one, the first fingerprint seen is recorded (persisted before this returns; if
// it cannot be saved the caller must refuse the connection) and enforced from then on. A different
// fingerprint gives ErrCertificateMismatch naming both; an unknown target ErrNoSuchTarget. An empty
// presented fingerprint (the server's certificate was never seen) is a mismatch when one is
// enforced and is not recorded.
func (s *Store) CheckRDPCertificate(target string, presented []byte) error {
	s.refresh()
	s.mu.RLock()
	t, _, ok := s.target(target)
	recorded := s.file.RDPCerts[target]
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w %q", ErrNoSuchTarget, target)
	}
	if t.RDP != nil && t.RDP.Certificate != "" {
		return checkCert(target, t.RDP.Certificate, presented, "pinned")
	}
	if recorded != "" {
		return checkCert(target, recorded, presented, "recorded on first use")
	}
	if len(presented) != 32 {
		return nil // nothing to record (standard RDP security)
	}
	return s.mutate(func(st *fileState) error {
		// Another connection may have recorded one meanwhile: enforce that one.
		if rec := st.RDPCerts[target]; rec != "" {
			return checkCert(target, rec, presented, "recorded on first use")
		}
		if st.RDPCerts == nil {
			st.RDPCerts = map[string]string{}
		}
		st.RDPCerts[target] = FormatCertFingerprint(presented)
		return nil
	})
}

func checkCert(target, want string, presented []byte, how string) error {
	fp, err := ParseCertFingerprint(want)
	if err != nil {
		return err
	}
	if len(presented) == 32 && subtle.ConstantTimeCompare(fp, presented) == 1 {
		return nil
	}
	seen := "no certificate"
	if len(presented) > 0 {
		seen = FormatCertFingerprint(presented)
	}
	return fmt.Errorf("%w: target %q presented %s, expected %s (%s)", ErrCertificateMismatch,
		target, seen, FormatCertFingerprint(fp), how)
}

// ForgetRDPCertificate drops the certificate recorded on first use for target, for when a server
// got a new certificate: the next connection records the new one. A pinned one is changed by
// editing the target instead.
func (s *Store) ForgetRDPCertificate(target string) error {
	return s.mutate(func(st *fileState) error {
		if _, _, ok := s.target(target); !ok {
			return notFound("target", target)
		}
		if _, ok := st.RDPCerts[target]; !ok {
			return notFound("recorded rdp certificate of target", target)
		}
		delete(st.RDPCerts, target)
		return nil
	})
}
