package index

import (
	"errors"
	"testing"
)

// TestOpenInUseFailsFast: a second open of an index another holder has open returns ErrInUse
// (after Bleve's lock timeout) instead of waiting for ever, so the CLI can say what to do.
func TestOpenInUseFailsFast(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if b, err := Open(dir); !errors.Is(err, ErrInUse) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
}
