package index

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestDeleteKind: a session's OCR lines go, its typed lines and other sessions stay.
func TestDeleteKind(t *testing.T) {
	ix := ocrIndex(t)
	ctx := context.Background()
	count := func(session string, k Kind) int {
		t.Helper()
		res, err := ix.Search(ctx, Query{Text: "mysql", Session: session, Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Hits)
	}
	if count("vnc1", KindOCR) == 0 || count("vnc1", KindCommand) == 0 || count("ssh1", KindScreen) == 0 {
		t.Fatal("the fixture lacks a kind")
	}
	if err := ix.DeleteKind(ctx, "vnc1", KindOCR); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		session string
		kind    Kind
		want    bool
	}{{"vnc1", KindOCR, false}, {"vnc1", KindCommand, true}, {"ssh1", KindScreen, true}} {
		if got := count(c.session, c.kind) > 0; got != c.want {
			t.Errorf("%s %s: found %v, want %v", c.session, c.kind, got, c.want)
		}
	}
}

// TestOCRCatchUp: marks survive reopening the index, are independent of text catch-up, and clear.
func TestOCRCatchUp(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s2", "s1", "s2"} {
		if err := ix.MarkOCRCatchUp(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.MarkOCRCatchUp("bad id"); !errors.Is(err, ErrBadQuery) {
		t.Errorf("MarkOCRCatchUp(bad id) = %v, want ErrBadQuery", err)
	}
	ix.Close()
	if ix, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got, err := ix.OCRCatchUp(); err != nil || !slices.Equal(got, []string{"s1", "s2"}) {
		t.Errorf("OCRCatchUp = %v, %v; want [s1 s2]", got, err)
	}
	if len(ix.CatchUp()) != 0 {
		t.Errorf("text catch-up %v: OCR marks leaked into it", ix.CatchUp())
	}
	if err := ix.ClearOCRCatchUp("s1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.OCRCatchUp(); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("after clearing s1: %v", got)
	}
}
