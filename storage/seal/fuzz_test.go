package seal

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseManifest: the parser never panics, and whatever it accepts re-encodes to a manifest
// it accepts again, unchanged (round trip).
func FuzzParseManifest(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "TestGolden", FinalName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	cp := goldenManifest()
	cp.Kind, cp.End, cp.PrevChain = KindCheckpoint, nil, cp.Segments[0].Chain
	cp.Segments = cp.Segments[1:]
	f.Add(mustJSON(f, cp))
	f.Add([]byte(`{"format":"vigil-recording-manifest","version":2}`))
	f.Add([]byte(`{}`))
	f.Add(bytes.Replace(golden, []byte(`"index": 1`), []byte(`"index": -1`), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted manifest does not re-encode: %v", err)
		}
		m2, err := ParseManifest(again)
		if err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, again)
		}
		if third, _ := json.Marshal(m2); !bytes.Equal(third, again) {
			t.Fatalf("round trip changed the manifest:\n%s\n%s", again, third)
		}
	})
}

// FuzzVerifySSHSIG: the signature parser never panics and never accepts a signature of other
// bytes than the golden manifest's own.
func FuzzVerifySSHSIG(f *testing.F) {
	dir := filepath.Join("testdata", "TestGolden")
	body, err := os.ReadFile(filepath.Join(dir, FinalName))
	if err != nil {
		f.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, FinalName+SigSuffix))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig, body)
	f.Add(sig, body[1:])
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"), body)
	f.Fuzz(func(t *testing.T, s, msg []byte) {
		pub, err := verifySSHSIG(s, Namespace, msg)
		if err != nil {
			return
		}
		// Only a real signature verifies; the one key that made any in this corpus is testKey(1).
		if !bytes.Equal(pub.Marshal(), sshPub(t, testKey(1)).Marshal()) || !bytes.Equal(msg, body) {
			t.Fatalf("accepted a signature of %d bytes by %s", len(msg), pub.Type())
		}
	})
}
