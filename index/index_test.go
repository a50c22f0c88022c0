package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func openTest(t *testing.T) *Index {
	t.Helper()
	ix, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// fixtureIndex holds two sessions of known lines.
func fixtureIndex(t *testing.T) *Index {
	ix := openTest(t)
	a := SessionInfo{ID: "sa", User: "alice", Target: "web01", Protocol: "ssh", Start: t0}
	b := SessionInfo{ID: "sb", User: "bob", Target: "db01", Protocol: "ssh", Start: t0.Add(time.Hour)}
	var la []Line
	for i := range 300 { // more than one chunk
		la = append(la, Line{Offset: time.Duration(i) * time.Second, Kind: KindScreen, Text: fmt.Sprintf("filler line %d", i)})
	}
	la = append(la,
		Line{Offset: 100 * time.Second, Kind: KindCommand, Text: "systemctl restart nginx"},
		Line{Offset: 101 * time.Second, Kind: KindScreen, Text: "Job for nginx.service failed"},
		Line{Offset: 200 * time.Second, Kind: KindCommand, Text: "cat /etc/my_config.yaml"},
	)
	slices.SortStableFunc(la, func(x, y Line) int { return int(x.Offset - y.Offset) })
	lb := []Line{
		{Offset: 5 * time.Second, Kind: KindCommand, Text: "psql -c 'drop table users'"},
		{Offset: 6 * time.Second, Kind: KindScreen, Text: "nginx is not here, restart it elsewhere"},
		{Offset: 7 * time.Second, Kind: KindScreen, Text: "my config yaml"},
	}
	if err := ix.AddLines(a, la); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddLines(b, lb); err != nil {
		t.Fatal(err)
	}
	return ix
}

type hitKey struct {
	session string
	offset  time.Duration
	line    string
}

func keys(hits []Hit) []hitKey {
	var out []hitKey
	for _, h := range hits {
		out = append(out, hitKey{h.Session, h.Offset, h.Line})
	}
	return out
}

func TestSearch(t *testing.T) {
	ix := fixtureIndex(t)
	restart := hitKey{"sa", 100 * time.Second, "systemctl restart nginx"}
	failed := hitKey{"sa", 101 * time.Second, "Job for nginx.service failed"}
	cat := hitKey{"sa", 200 * time.Second, "cat /etc/my_config.yaml"}
	elsewhere := hitKey{"sb", 6 * time.Second, "nginx is not here, restart it elsewhere"}
	myConfig := hitKey{"sb", 7 * time.Second, "my config yaml"}
	tests := []struct {
		name string
		q    Query
		want []hitKey
	}{
		{"term", Query{Text: "nginx"}, []hitKey{restart, failed, elsewhere}},
		{"case", Query{Text: "NGINX"}, []hitKey{restart, failed, elsewhere}},
		{"all words required", Query{Text: "restart nginx"}, []hitKey{restart, elsewhere}},
		{"phrase", Query{Text: `"restart nginx"`}, []hitKey{restart}},
		{"excluded", Query{Text: "nginx -failed"}, []hitKey{restart, elsewhere}},
		{"prefix", Query{Text: "systemc*"}, []hitKey{restart}},
		{"fuzzy", Query{Text: "ngimx~1"}, []hitKey{restart, failed, elsewhere}},
		{"underscore is a space", Query{Text: "my_config"}, []hitKey{cat, myConfig}},
		{"space is an underscore", Query{Text: `"my config"`}, []hitKey{cat, myConfig}},
		{"user", Query{Text: "nginx", User: "bob"}, []hitKey{elsewhere}},
		{"target", Query{Text: "nginx", Target: "web01"}, []hitKey{restart, failed}},
		{"kind", Query{Text: "nginx", Kind: KindCommand}, []hitKey{restart}},
		{"since", Query{Text: "nginx", Since: t0.Add(100500 * time.Millisecond)}, []hitKey{failed, elsewhere}},
		{"until", Query{Text: "nginx", Until: t0.Add(100500 * time.Millisecond)}, []hitKey{restart}},
		{"window", Query{Text: "filler", Since: t0.Add(250 * time.Second), Until: t0.Add(251 * time.Second)},
			[]hitKey{{"sa", 250 * time.Second, "filler line 250"}, {"sa", 251 * time.Second, "filler line 251"}}},
		{"limit", Query{Text: "filler", Limit: 2}, []hitKey{{"sa", 0, "filler line 0"}, {"sa", time.Second, "filler line 1"}}},
		{"nothing", Query{Text: "kubernetes"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ix.Search(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(res.Hits); !slices.Equal(got, tt.want) {
				t.Fatalf("hits = %v\nwant %v", got, tt.want)
			}
			for _, h := range res.Hits {
				if len(tt.q.Text) > 0 && len(h.Marks) == 0 {
					t.Errorf("hit %q has no highlighted match", h.Line)
				}
			}
		})
	}
}

func TestSearchRelevanceAndSnippet(t *testing.T) {
	ix := fixtureIndex(t)
	res, err := ix.Search(context.Background(), Query{Text: `"restart nginx"`, Sort: ByRelevance})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 {
		t.Fatalf("hits = %v", keys(res.Hits))
	}
	h := res.Hits[0]
	if got := h.Snippet("[", "]"); got != "systemctl [restart] [nginx]" {
		t.Errorf("snippet = %q", got)
	}
	if !h.Time.Equal(t0.Add(100*time.Second)) || h.User != "alice" || h.Target != "web01" || h.Kind != KindCommand {
		t.Errorf("hit = %+v", h)
	}
	long := Hit{Line: fmt.Sprintf("%0300d", 0) + " needle <b>", Marks: [][2]int{{301, 307}}}
	if got := long.HTML(); got != "…"+fmt.Sprintf("%079d", 0)+" <mark>needle</mark> &lt;b&gt;" {
		t.Errorf("HTML = %q", got)
	}
}

func TestSearchBadQuery(t *testing.T) {
	ix := openTest(t)
	for _, q := range []Query{
		{Text: "x", Kind: "video"},
		{Text: "x", Since: t0, Until: t0.Add(-time.Second)},
		{Text: `"unclosed`},
	} {
		if _, err := ix.Search(context.Background(), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Search(%+v) = %v, want ErrBadQuery", q, err)
		}
	}
}

func TestHandler(t *testing.T) {
	ix := fixtureIndex(t)
	srv := httptest.NewServer(ix.Handler())
	defer srv.Close()
	tests := []struct {
		url  string
		code int
		hits int
	}{
		{"/api/search?q=nginx", 200, 3},
		{"/api/search?q=nginx&user=alice&kind=command", 200, 1},
		{"/api/search?q=nginx&since=2025-03-01T11:00:00Z", 200, 1},
		{"/api/search?q=nginx&sort=size", 400, 0},
		{"/api/search?q=nginx&since=yesterday", 400, 0},
		{"/api/search?q=%22open", 400, 0},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.url)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Hits []struct {
				Session  string `json:"session"`
				OffsetMS int64  `json:"offset_ms"`
				Snippet  string `json:"snippet"`
			} `json:"hits"`
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || len(body.Hits) != tt.hits {
			t.Errorf("GET %s: %d with %d hits (%q), want %d with %d", tt.url, resp.StatusCode, len(body.Hits), body.Error, tt.code, tt.hits)
		}
		if tt.code == 200 && body.Hits[0].OffsetMS == 0 && body.Hits[0].Session == "sa" {
			t.Errorf("GET %s: hit without offset: %+v", tt.url, body.Hits[0])
		}
	}
}

func TestOffsetsRoundTrip(t *testing.T) {
	base := 1500 * time.Millisecond
	offs := []time.Duration{base, base, 2 * time.Second, time.Hour, time.Hour + time.Millisecond}
	got, err := decodeOffsets(base, encodeOffsets(base, offs), 10)
	if err != nil || !slices.Equal(got, offs) {
		t.Fatalf("round trip = %v, %v; want %v", got, err, offs)
	}
	if _, err := decodeOffsets(base, encodeOffsets(base, offs), 4); !errors.Is(err, errOffsets) {
		t.Errorf("over the limit: %v, want errOffsets", err)
	}
	for _, bad := range []string{"!!", "/////w"} {
		if _, err := decodeOffsets(0, bad, 10); !errors.Is(err, errOffsets) {
			t.Errorf("decodeOffsets(%q) = %v, want errOffsets", bad, err)
		}
	}
}

// FuzzOffsets: the decoder never panics, and whatever decodes re-encodes to the same offsets.
func FuzzOffsets(f *testing.F) {
	f.Add(encodeOffsets(0, []time.Duration{0, time.Second, time.Minute}))
	f.Add("gICAgICAgICAAQ")
	f.Fuzz(func(t *testing.T, s string) {
		offs, err := decodeOffsets(0, s, chunkLines)
		if err != nil {
			return
		}
		again, err := decodeOffsets(0, encodeOffsets(0, offs), chunkLines)
		if err != nil || !slices.Equal(again, offs) {
			t.Fatalf("re-encoded %v decodes to %v, %v", offs, again, err)
		}
	})
}

// FuzzExtractor: any output and input never panics the extractor, lines come in time order, and
// no line holds a newline.
func FuzzExtractor(f *testing.F) {
	f.Add([]byte("$ ls\r\nfile\r\n"), []byte("ls\r"), uint8(5))
	f.Add([]byte("\x1b[?1049h\x1b[2J\x1b[5;5Hhi\x1b[?1049l"), []byte("\r"), uint8(2))
	f.Fuzz(func(t *testing.T, output, input []byte, rows uint8) {
		var last time.Duration
		x := NewExtractor(20, int(rows%30), func(l Line) {
			if l.Offset < last {
				t.Fatalf("line %q at %v after one at %v", l.Text, l.Offset, last)
			}
			if l.Text == "" || containsNewline(l.Text) {
				t.Fatalf("bad line %q", l.Text)
			}
			last = l.Offset
		})
		for i := 0; i < len(output) || i < len(input); i += 7 {
			at := time.Duration(i) * 100 * time.Millisecond
			if i < len(output) {
				x.Event(at, capture.TypeOutput, output[i:min(len(output), i+7)])
			}
			if i < len(input) {
				x.Event(at, capture.TypeInput, input[i:min(len(input), i+7)])
			}
		}
		x.Flush(0)
	})
}

func containsNewline(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return true
		}
	}
	return false
}
