package player

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

func readRecords(t testing.TB, body string) (recordsHead, []recordJSON) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 8<<20)
	var head recordsHead
	var recs []recordJSON
	for n := 0; sc.Scan(); n++ {
		var err error
		if n == 0 {
			err = json.Unmarshal(sc.Bytes(), &head)
		} else {
			var r recordJSON
			err = json.Unmarshal(sc.Bytes(), &r)
			recs = append(recs, r)
		}
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
	}
	return head, recs
}

func TestRecordsSeek(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "carol")
	tests := []struct {
		from    string
		segment int
		next    int64
		code    int
	}{
		{"", 0, 10000, 200},
		{"0", 0, 10000, 200},
		{"9999", 0, 10000, 200},
		{"10000", 1, 20000, 200},
		{"10001", 1, 20000, 200},
		{"29999", 2, -1, 200},
		{"999999999", 2, -1, 200}, // past the end: the last segment
		{"-1", 0, 0, 400},
		{"abc", 0, 0, 400},
		{"NaN", 0, 0, 400},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			r := f.do(t, c, "GET", "/api/sessions/s-alice/records?from="+tt.from, "", nil)
			if r.code != tt.code {
				t.Fatalf("code %d %s, want %d", r.code, r.body, tt.code)
			}
			if tt.code != 200 {
				return
			}
			head, recs := readRecords(t, r.body)
			if head.Segment != tt.segment || head.NextMS != tt.next || head.Segments != 3 || head.Cols != 80 {
				t.Errorf("head = %+v, want segment %d next %d", head, tt.segment, tt.next)
			}
			if len(recs) == 0 || recs[0].K != "key" || !bytes.Contains(recs[0].D, []byte(fmt.Sprintf("segment %d", tt.segment))) {
				t.Fatalf("first record %+v is not segment %d's keyframe", recs[0], tt.segment)
			}
			for _, rec := range recs[1:] {
				if rec.T < float64(head.StartMS) || rec.T >= float64(head.StartMS+10000) {
					t.Errorf("record at %v outside the segment %d..%d", rec.T, head.StartMS, head.StartMS+10000)
				}
				want := fmt.Sprintf("line at %dms", int64(rec.T))
				if rec.K != "out" || !strings.HasPrefix(string(rec.D), want) {
					t.Errorf("record %+v, want %q", rec, want)
				}
			}
		})
	}
}

func TestRecordTypes(t *testing.T) {
	var buf bytes.Buffer
	w, err := eventlog.NewWriter(&buf, eventlog.Header{Cols: 80, Rows: 24}, []byte("screen"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []eventlog.Record{
		{Time: 1 * time.Millisecond, Type: eventlog.TypeOutput, Payload: []byte("\xff\xfeout")},
		{Time: 2 * time.Millisecond, Type: eventlog.TypeInput, Payload: []byte("secret-typed")},
		{Time: 3 * time.Millisecond, Type: eventlog.TypeResize, Payload: []byte{0, 120, 0, 40}},
		{Time: 4 * time.Millisecond, Type: eventlog.TypeMarker, Payload: []byte("mark")},
		{Time: 5 * time.Millisecond, Type: typeRedacted, Payload: []byte{0, 0, 0, 9}},
		{Time: 6 * time.Millisecond, Type: eventlog.TypeResize, Payload: []byte{1}}, // malformed: skipped
	} {
		if err := w.Write(r); err != nil {
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
	if strings.Contains(out.String(), "secret-typed") || strings.Contains(out.String(), "c2VjcmV0LXR5cGVk") {
		t.Error("input records reach the player")
	}
	_, recs := readRecords(t, "{}\n"+out.String())
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.K)
	}
	if got := strings.Join(kinds, ","); got != "key,out,size,mark,redacted" {
		t.Errorf("kinds = %s", got)
	}
	if recs[1].D[0] != 0xff || recs[2].Cols != 120 || recs[2].Rows != 40 {
		t.Errorf("records = %+v", recs)
	}
}

// FuzzRecords feeds arbitrary segment bytes to the records encoder: it must never panic, and
// every line it writes must be valid JSON.
func FuzzRecords(f *testing.F) {
	var buf bytes.Buffer
	w, _ := eventlog.NewWriter(&buf, eventlog.Header{Cols: 80, Rows: 24}, []byte("kf"))
	_ = w.Write(eventlog.Record{Time: time.Millisecond, Type: eventlog.TypeOutput, Payload: []byte("hi")})
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("vigil-eventlog 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		er, err := eventlog.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		_ = writeRecords(json.NewEncoder(&out), er)
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line != "" && !json.Valid([]byte(line)) {
				t.Fatalf("invalid JSON line %q", line)
			}
		}
	})
}

func FuzzParseFrom(f *testing.F) {
	for _, s := range []string{"", "0", "12.5", "-1", "1e300", "NaN", "Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseFrom(s)
		if err == nil && d < 0 {
			t.Fatalf("parseFrom(%q) = %v", s, d)
		}
	})
}

// BenchmarkSeek8h seeks to random points of a synthetic 8-hour session (5-minute segments, a line
// of output every 100 ms: 288,000 records) through the HTTP handler, reading the whole answer.
// The target is under 300 ms per seek.
func BenchmarkSeek8h(b *testing.B) {
	store := newMemSessions()
	length := 8 * time.Hour
	store.add(synth{id: "long", user: "alice", target: "web01", start: t0, length: length, segLen: 5 * time.Minute, step: 100 * time.Millisecond})
	srv, err := NewServer(Config{Auth: &fakeAuth{users: map[string]fakeUser{"carol": {pw: "carol-pw", role: RoleAuditor}}},
		Sessions: store, Search: &fakeSearch{}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"user":"carol","password":"carol-pw"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0]
	rng := rand.New(rand.NewPCG(1, 2))
	var worst time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := rng.Int64N(length.Milliseconds())
		start := time.Now()
		req := httptest.NewRequest("GET", fmt.Sprintf("/api/sessions/long/records?from=%d", from), nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("seek %d: %d", from, rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
