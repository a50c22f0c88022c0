package player

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// TestRecordsReplayAudited: reading a session's records is a replay and is audited, once per
// login and session whichever segment comes first, without the detail request the page makes.
func TestRecordsReplayAudited(t *testing.T) {
	f := newFixture(t)
	count := func(user string) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, a := range f.audits {
			if a.Kind == "web.replay" && a.User == user && a.Session == "s-alice" && a.Detail == "text" {
				n++
			}
		}
		return n
	}
	carol := f.mustLogin(t, "carol")
	for i, from := range []string{"20000", "0", "10000", "20000"} {
		if r := f.do(t, carol, "GET", "/api/sessions/s-alice/records?from="+from, "", nil); r.code != http.StatusOK {
			t.Fatalf("records from %s: %d", from, r.code)
		}
		if n := count("carol"); n != 1 {
			t.Fatalf("after %d fetches: %d replays audited, want 1", i+1, n)
		}
	}
	// Another login is another replay; a refused fetch is no replay.
	if r := f.do(t, f.mustLogin(t, "carol"), "GET", "/api/sessions/s-alice/records", "", nil); r.code != http.StatusOK {
		t.Fatal(r.code)
	}
	if n := count("carol"); n != 2 {
		t.Errorf("%d replays audited after a second login, want 2", n)
	}
	if r := f.do(t, f.mustLogin(t, "bob"), "GET", "/api/sessions/s-alice/records", "", nil); r.code != http.StatusForbidden {
		t.Fatal(r.code)
	}
	if n := count("bob"); n != 0 {
		t.Errorf("a refused fetch audited as a replay")
	}
}

// TestRecordSizesBounded: sizes a recording carries beyond term.MaxSide reach the browser's
// terminal clamped.
func TestRecordSizesBounded(t *testing.T) {
	var buf bytes.Buffer
	w, err := eventlog.NewWriter(&buf, eventlog.Header{Cols: 80, Rows: 24}, []byte("screen"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0, 120, 0, 40}, {0x03, 0xe9, 0, 2}} {
		if err := w.Write(eventlog.Record{Time: time.Duration(i+1) * time.Millisecond, Type: eventlog.TypeResize, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	er, err := eventlog.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeRecords(json.NewEncoder(&out), er); err != nil {
		t.Fatal(err)
	}
	_, recs := readRecords(t, "{}\n"+out.String())
	want := [][2]int{{term.MaxSide, term.MaxSide}, {120, 40}, {term.MaxSide, 2}}
	var got [][2]int
	for _, r := range recs {
		if r.K == "size" {
			got = append(got, [2]int{r.Cols, r.Rows})
		}
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("sizes %v, want %v", got, want)
	}
}
