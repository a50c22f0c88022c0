package index

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
)

// ocrIndex holds a graphical session: OCR text in two calls (the second out of time order) and
// typed lines as commands, and a text session with the same words on its screen.
func ocrIndex(t *testing.T) *Index {
	ix := openTest(t)
	g := SessionInfo{ID: "vnc1", User: "carol", Target: "desk01", Protocol: "vnc", Start: t0}
	ctx := context.Background()
	if err := ix.AddOCR(ctx, g, []OCRText{
		{Offset: 5 * time.Second, Rect: image.Rect(10, 20, 310, 40), Text: "mysql service stopped"},
		{Time: t0.Add(9 * time.Second), Rect: image.Rect(0, 700, 400, 760), Text: "Terminal\nrm -rf /var/lib/mysql"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddOCR(ctx, g, []OCRText{
		{Offset: 30 * time.Second, Rect: image.Rect(5, 5, 105, 25), Text: "my config saved"}, // OCR read '_' as space
		{Offset: 2 * time.Second, Rect: image.Rect(5, 5, 105, 25), Text: "  "},               // blank: skipped
		{Offset: 3 * time.Second, Rect: image.Rect(1, 2, 3, 4), Text: "login ok"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddLines(g, []Line{{Offset: 8 * time.Second, Kind: KindCommand, Text: "rm -rf /var/lib/mysql"}}); err != nil {
		t.Fatal(err)
	}
	s := SessionInfo{ID: "ssh1", User: "dave", Target: "db01", Protocol: "ssh", Start: t0}
	if err := ix.AddLines(s, []Line{{Offset: time.Second, Kind: KindScreen, Text: "mysql service stopped"}}); err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestAddOCR(t *testing.T) {
	ix := ocrIndex(t)
	type key struct {
		session string
		kind    Kind
		offset  time.Duration
		line    string
		region  image.Rectangle
	}
	stopped := key{"vnc1", KindOCR, 5 * time.Second, "mysql service stopped", image.Rect(10, 20, 310, 40)}
	stoppedSSH := key{"ssh1", KindScreen, time.Second, "mysql service stopped", image.Rectangle{}}
	rmOCR := key{"vnc1", KindOCR, 9 * time.Second, "rm -rf /var/lib/mysql", image.Rect(0, 700, 400, 760)}
	rmTyped := key{"vnc1", KindCommand, 8 * time.Second, "rm -rf /var/lib/mysql", image.Rectangle{}}
	tests := []struct {
		name string
		q    Query
		want []key
	}{
		{"all kinds", Query{Text: "mysql"}, []key{stoppedSSH, stopped, rmTyped, rmOCR}},
		{"ocr only", Query{Text: "mysql", Kind: KindOCR}, []key{stopped, rmOCR}},
		{"typed only", Query{Text: "mysql", Kind: KindCommand}, []key{rmTyped}},
		{"phrase", Query{Text: `"service stopped"`, Kind: KindOCR}, []key{stopped}},
		{"second line of a text", Query{Text: "terminal"}, []key{{"vnc1", KindOCR, 9 * time.Second, "Terminal", image.Rect(0, 700, 400, 760)}}},
		{"underscore finds space", Query{Text: "my_config"}, []key{{"vnc1", KindOCR, 30 * time.Second, "my config saved", image.Rect(5, 5, 105, 25)}}},
		{"out of order call", Query{Text: "login"}, []key{{"vnc1", KindOCR, 3 * time.Second, "login ok", image.Rect(1, 2, 3, 4)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ix.Search(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []key
			for _, h := range res.Hits {
				got = append(got, key{h.Session, h.Kind, h.Offset, h.Line, h.Region})
				if h.Region.Empty() != (h.RegionXYWH == nil) {
					t.Errorf("hit %q: Region %v but RegionXYWH %v", h.Line, h.Region, h.RegionXYWH)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("hits = %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestAddOCRAgain: the same texts added twice replace their chunks (same ids), while different
// texts at the same time in another call do not overwrite each other.
func TestAddOCRAgain(t *testing.T) {
	ix := openTest(t)
	g := SessionInfo{ID: "g", Start: t0}
	ctx := context.Background()
	a := []OCRText{{Offset: time.Second, Rect: image.Rect(0, 0, 10, 10), Text: "alpha"}}
	b := []OCRText{{Offset: time.Second, Rect: image.Rect(0, 0, 10, 10), Text: "beta"}}
	for _, texts := range [][]OCRText{a, a, b} {
		if err := ix.AddOCR(ctx, g, texts); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := ix.DocCount(); err != nil || n != 2 {
		t.Fatalf("DocCount = %d, %v; want 2", n, err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := ix.AddOCR(ctx2, g, b); !errors.Is(err, context.Canceled) {
		t.Errorf("AddOCR on a cancelled context = %v", err)
	}
	if err := ix.AddLines(g, []Line{{Kind: "video", Text: "x"}}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("AddLines of an unknown kind = %v", err)
	}
}

func TestHandlerOCR(t *testing.T) {
	ix := ocrIndex(t)
	srv := httptest.NewServer(ix.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/search?q=mysql&kind=screen-ocr&session=vnc1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Hits []map[string]json.RawMessage `json:"hits"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if len(body.Hits) != 2 {
		t.Fatalf("%d hits, want 2", len(body.Hits))
	}
	if got := string(body.Hits[0]["region"]); got != "[10,20,300,20]" {
		t.Errorf("region = %s, want [10,20,300,20]", got)
	}
	if got := string(body.Hits[0]["kind"]); got != `"screen-ocr"` {
		t.Errorf("kind = %s", got)
	}
	resp2, err := http.Get(srv.URL + "/api/search?q=mysql&kind=command")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	body.Hits = nil
	json.NewDecoder(resp2.Body).Decode(&body)
	if len(body.Hits) != 1 {
		t.Fatalf("%d command hits, want 1", len(body.Hits))
	}
	if _, ok := body.Hits[0]["region"]; ok {
		t.Errorf("a text hit has a region: %s", body.Hits[0]["region"])
	}
}

// TestOpenOldMapping: an index made before punctSpace, whose stored mapping names Bleve's regexp
// char filter, opens and answers as a new one does (same tokens), OCR included.
func TestOpenOldMapping(t *testing.T) {
	dir := t.TempDir()
	im := bleve.NewIndexMapping()
	if err := im.AddCustomCharFilter("vigil_underscore", map[string]any{
		"type": "regexp", "regexp": `[_.:']`, "replace": " ",
	}); err != nil {
		t.Fatal(err)
	}
	if err := im.AddCustomAnalyzer(analyzerName, map[string]any{
		"type": "custom", "char_filters": []any{"vigil_underscore"}, "tokenizer": "unicode",
		"token_filters": []any{"to_lower"},
	}); err != nil {
		t.Fatal(err)
	}
	cur, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	im.DefaultAnalyzer, im.DefaultField, im.DefaultMapping = analyzerName, fieldText, cur.DefaultMapping
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false
	var _ mapping.IndexMapping = im
	bi, err := bleve.NewUsing(filepath.Join(dir, "bleve"), im, scorch.Name, scorch.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	bi.Close()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.AddLines(SessionInfo{ID: "s", Start: t0}, []Line{{Kind: KindCommand, Text: "cat /etc/my_config.yaml"}}); err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(context.Background(), Query{Text: `"my config"`})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("Search = %v, %v", res.Hits, err)
	}
}

func TestRegionsRoundTrip(t *testing.T) {
	rs := []image.Rectangle{{}, image.Rect(0, 0, 1920, 1080), image.Rect(-5, -6, 7, 8), {}}
	got, err := decodeRegions(encodeRegions(rs), len(rs))
	if err != nil || !slices.Equal(got, rs) {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	for _, n := range []int{len(rs) - 1, len(rs) + 1} {
		if _, err := decodeRegions(encodeRegions(rs), n); !errors.Is(err, errRegions) {
			t.Errorf("decode %d regions as %d: %v, want errRegions", len(rs), n, err)
		}
	}
	for _, bad := range []string{"!!", "AQ", "/////////w"} {
		if _, err := decodeRegions(bad, 1); !errors.Is(err, errRegions) {
			t.Errorf("decodeRegions(%q) = %v, want errRegions", bad, err)
		}
	}
}

// FuzzRegions: the decoder never panics, and whatever decodes re-encodes to the same regions.
func FuzzRegions(f *testing.F) {
	f.Add(encodeRegions([]image.Rectangle{image.Rect(1, 2, 3, 4)}), 1)
	f.Add(encodeRegions([]image.Rectangle{{}, image.Rect(0, 0, 1920, 1080)}), 2)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n % (chunkLines + 2)
		rs, err := decodeRegions(s, n)
		if err != nil {
			return
		}
		again, err := decodeRegions(encodeRegions(rs), n)
		if err != nil || !slices.Equal(again, rs) {
			t.Fatalf("re-encoded %v decodes to %v, %v", rs, again, err)
		}
	})
}
