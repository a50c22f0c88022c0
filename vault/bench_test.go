package vault

import (
	"path/filepath"
	"testing"
)

// BenchmarkGet is the cost the gateway pays per login to fetch a credential.
func BenchmarkGet(b *testing.B) {
	v, err := Open(filepath.Join(b.TempDir(), "v"))
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Set("web01", "root", Secret{Password: []byte("pw"), PrivateKey: testKey}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Get("web01", "root"); err != nil {
			b.Fatal(err)
		}
	}
}
