package gateway_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
)

// FuzzVerifyEvidence feeds damaged bundles to the verifier: it must never panic, and a bundle
// it accepts must still hold the exported recording's output (damage it cannot see is only in
// zip metadata, never in content).
func FuzzVerifyEvidence(f *testing.F) {
	fx := newEvidenceFixture(f)
	good := fx.export(f, gateway.EvidenceOptions{Clear: true})
	if _, err := verifyBytes(good, gateway.EvidenceVerifyOptions{}); err != nil {
		f.Fatalf("the unmodified bundle: %v", err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := verifyBytes(b, gateway.EvidenceVerifyOptions{})
		if err != nil {
			if rep == nil {
				t.Fatal("nil report")
			}
			if !errors.Is(err, gateway.ErrNotBundle) && rep.OK() {
				t.Fatalf("error %v with an OK report", err)
			}
			return
		}
		if !rep.OK() || len(rep.Sessions) == 0 || rep.Sessions[0].Plain != rep.Sessions[0].Segments {
			t.Fatalf("accepted with %+v", rep)
		}
		if !bytes.Contains(zipFile(t, b, fx.id+"/session.cast"), []byte(evidenceNeedle+"-2")) {
			t.Fatal("accepted a bundle whose cast lost the recording")
		}
	})
}
