package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/access"
)

// TestTargetRDPFlags: an RDP target's security mode, domain and pinned certificate are stored and
// listed; a TOFU target shows the certificate recorded on first use once there is one; bad values
// and RDP options on other protocols are refused naming the field.
func TestTargetRDPFlags(t *testing.T) {
	data := t.TempDir()
	pin := access.FormatCertFingerprint(bytes.Repeat([]byte{0xab}, 32))
	okVigil(t, data, "", "target", "add", "win1", "--host", "10.0.0.5", "--protocol", "rdp",
		"--rdp-security", "nla", "--rdp-domain", "CORP", "--rdp-cert", strings.ToUpper(pin))
	okVigil(t, data, "", "target", "add", "win2", "--host", "10.0.0.6", "--protocol", "rdp")
	okVigil(t, data, "", "target", "add", "win3", "--host", "10.0.0.7", "--protocol", "rdp", "--rdp-security", "rdp")
	out := okVigil(t, data, "", "target", "list")
	for _, want := range []string{"win1  10.0.0.5  3389  rdp", pin + " (pinned)", "nla; domain CORP",
		"win2  10.0.0.6  3389  rdp", "none (standard RDP security)"} {
		if !strings.Contains(out, want) {
			t.Errorf("target list lacks %q:\n%s", want, out)
		}
	}
	// A connection records win2's certificate (as the gateway does); the list shows it.
	s, err := access.OpenStore(filepath.Join(data, "access.json"), access.Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := bytes.Repeat([]byte{0x42}, 32)
	if err := s.CheckRDPCertificate("win2", seen); err != nil {
		t.Fatal(err)
	}
	if out := okVigil(t, data, "", "target", "list"); !strings.Contains(out, access.FormatCertFingerprint(seen)+" (first use)") {
		t.Errorf("recorded certificate not listed:\n%s", out)
	}
	failVigil(t, data, "", "rdp options on a ssh target", "target", "add", "web01", "--host", "h", "--rdp-domain", "CORP")
	failVigil(t, data, "", "rdp security", "target", "add", "win4", "--host", "h", "--protocol", "rdp", "--rdp-security", "ssl")
	failVigil(t, data, "", "fingerprint", "target", "add", "win4", "--host", "h", "--protocol", "rdp", "--rdp-cert", "sha256:abc")
}
