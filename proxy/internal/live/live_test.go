package live

import (
	"testing"
	"time"
)

type sess struct {
	id    string
	start time.Time
}

func TestRegistry(t *testing.T) {
	var r Registry[*sess]
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := &sess{"b", t0}, &sess{"a", t0}, &sess{"c", t0.Add(-time.Second)}
	for _, s := range []*sess{a, b, c} {
		r.Add(s.id, s)
	}
	got := List(&r, func(s *sess) sess { return *s }, func(s sess) time.Time { return s.start }, func(s sess) string { return s.id })
	if len(got) != 3 || got[0].id != "c" || got[1].id != "a" || got[2].id != "b" {
		t.Fatalf("order %+v, want c (oldest), then a, b (same start, by id)", got)
	}
	if s, ok := r.Get("a"); !ok || s != b {
		t.Fatal("Get a")
	}
	// A session that ended does not remove a newer one under its id.
	newer := &sess{"a", t0}
	r.Add("a", newer)
	r.Remove("a", b)
	if s, ok := r.Get("a"); !ok || s != newer {
		t.Fatal("Remove took the newer session")
	}
	r.Remove("a", newer)
	if _, ok := r.Get("a"); ok {
		t.Fatal("Remove left the session")
	}
}

func TestCleanAndDetail(t *testing.T) {
	for in, want := range map[string]string{
		"  audrey ":               "audrey",
		"evil\x1b[2Jname\r\nnext": "evil [2Jname  next",
		string(make([]rune, 0)):   "",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	long := ""
	for range 300 {
		long += "é"
	}
	if got := []rune(Clean(long)); len(got) != 200 {
		t.Errorf("Clean kept %d runes of 300, want 200", len(got))
	}
	if ActionDetail("audrey", "") != "by audrey" || ActionDetail("audrey", "done") != "by audrey: done" {
		t.Error("ActionDetail")
	}
}
