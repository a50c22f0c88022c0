package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// searchAll is the straightforward search that Search must agree with: the exact query over
// every matching chunk, every chunk expanded into its lines, all lines sorted, the first Limit
// kept.
func searchAll(t *testing.T, ix *Index, q Query) []Hit {
	t.Helper()
	exact, err := buildQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ix.DocCount()
	if err != nil {
		t.Fatal(err)
	}
	req := bleve.NewSearchRequestOptions(exact, int(n)+1, 0, false)
	if q.Sort == ByTime {
		req.SortBy([]string{fieldTime, "_id"})
	} else {
		req.SortBy([]string{"-_score", "_id"})
	}
	req.Fields = storedFields
	req.IncludeLocations = true
	res, err := ix.bi.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	var hits []Hit
	for _, dm := range res.Hits {
		h, err := docHits(dm, q)
		if err != nil {
			t.Fatal(err)
		}
		hits = append(hits, h...)
	}
	sortHits(hits, q.Sort)
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	return hits[:min(len(hits), limit)]
}

type fullKey struct {
	session string
	kind    Kind
	offset  time.Duration
	line    string
	marks   string
	score   float64
}

func fullKeys(hits []Hit, withScore bool) []fullKey {
	var out []fullKey
	for _, h := range hits {
		k := fullKey{h.Session, h.Kind, h.Offset, h.Line, fmt.Sprint(h.Marks), 0}
		if withScore {
			k.score = h.Score
		}
		out = append(out, k)
	}
	return out
}

// TestSearchPlanMatchesStraightforward: on random sessions over a small vocabulary (so that
// phrases are now common, now rare, and lines of one time fall in several chunks), Search and
// searchAll return the same hits in the same order for random queries, filters, orders and limits.
func TestSearchPlanMatchesStraightforward(t *testing.T) {
	ix := openTest(t)
	r := rand.New(rand.NewPCG(5, 55))
	vocab := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa my_config nginx.service")
	word := func() string { return vocab[min(r.IntN(len(vocab)), r.IntN(len(vocab)))] } // skewed
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for s := range 6 {
		info := SessionInfo{ID: fmt.Sprintf("s%d", s), User: fmt.Sprintf("u%d", s%2), Target: "t",
			Protocol: "ssh", Start: base.Add(time.Duration(s) * 7 * time.Minute)}
		var lines []Line
		off := time.Duration(0)
		for range 400 + r.IntN(400) {
			if r.IntN(4) > 0 { // lines of one time are common: a settled screen
				off += time.Duration(r.IntN(3000)) * time.Millisecond
			}
			ws := make([]string, 1+r.IntN(6))
			for i := range ws {
				ws[i] = word()
			}
			k := KindScreen
			if r.IntN(5) == 0 {
				k = KindCommand
			}
			lines = append(lines, Line{Offset: off, Kind: k, Text: strings.Join(ws, " ")})
		}
		if err := ix.AddLines(info, lines); err != nil {
			t.Fatal(err)
		}
	}
	texts := func() string {
		switch r.IntN(7) {
		case 0:
			return word()
		case 1:
			return fmt.Sprintf("%q", word()+" "+word())
		case 2:
			return fmt.Sprintf("%q", word()+" "+word()+" "+word())
		case 3:
			return fmt.Sprintf("%q %s", word()+" "+word(), word())
		case 4:
			return fmt.Sprintf("%q -%s", word()+" "+word(), word())
		case 5:
			return fmt.Sprintf("%s -%q", word(), word()+" "+word())
		default:
			return word()[:2] + "*"
		}
	}
	type sizes struct{ maxPage, looseFactor, minLoosePage, probe int }
	saved := sizes{maxPage, looseFactor, minLoosePage, probe}
	defer func() {
		maxPage, looseFactor, minLoosePage, probe = saved.maxPage, saved.looseFactor, saved.minLoosePage, saved.probe
	}()
	for i := range 600 {
		// Half the queries on tiny pages, so that paging, the loose plan's probe and its
		// fallback to the exact plan all run on this small index.
		if i%2 == 0 {
			maxPage, looseFactor, minLoosePage, probe = saved.maxPage, saved.looseFactor, saved.minLoosePage, saved.probe
		} else {
			maxPage, looseFactor, minLoosePage, probe = 8, 1, 2, 1+r.IntN(3)
		}
		q := Query{Text: texts(), Limit: []int{1, 3, 20, 50, 500}[r.IntN(5)]}
		if r.IntN(3) == 0 {
			q.Since = base.Add(time.Duration(r.IntN(40)) * time.Minute)
		}
		if r.IntN(3) == 0 {
			q.Until = base.Add(time.Duration(40+r.IntN(20)) * time.Minute)
		}
		if r.IntN(4) == 0 {
			q.Kind = KindCommand
		}
		if r.IntN(4) == 0 {
			q.Sort = ByRelevance
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			res, err := ix.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			// In time order the loose plan scores chunks by their words, not the phrase; the
			// score means nothing there.
			withScore := q.Sort == ByRelevance
			got, want := fullKeys(res.Hits, withScore), fullKeys(searchAll(t, ix, q), withScore)
			if !slices.Equal(got, want) {
				t.Fatalf("query %+v:\n got %d %v\nwant %d %v", q, len(got), got, len(want), want)
			}
		})
	}
}

func TestLoosen(t *testing.T) {
	ix := openTest(t)
	tests := []struct {
		text    string
		phrases int // loosened; -1: no loose plan
	}{
		{`"connection refused"`, 1},
		{`nginx`, -1},
		{`"nginx"`, -1},                 // one word
		{`-"connection refused"`, -1},   // NOT stays exact
		{`my_config`, 1},                // requireAll makes it a phrase
		{`"a b" c "d e f"`, 2},          // words beside phrases are fine
		{`"a b" c*`, -1},                // a pattern could match the phrase's words
		{`"a b" c~1`, -1},               // so could a fuzzy term
		{`"a b" -"c d"`, 1},             // the excluded phrase stays exact
		{`"a b" text:"c d" user:x`, -1}, // a clause on another field
	}
	for _, tt := range tests {
		q, err := buildQuery(Query{Text: tt.text, User: "u"})
		if err != nil {
			t.Fatal(err)
		}
		lp := loosen(q, ix.text)
		if (lp == nil) != (tt.phrases < 0) || (lp != nil && len(lp.phrases) != tt.phrases) {
			t.Errorf("loosen(%s) = %+v, want %d phrases", tt.text, lp, tt.phrases)
			continue
		}
		if lp == nil {
			continue
		}
		var required, excluded int
		walk(lp.q, func(q query.Query) {
			if b, ok := q.(*query.BooleanQuery); ok {
				walk(b.Must, func(q query.Query) {
					if _, ok := q.(*query.MatchPhraseQuery); ok {
						required++
					}
				})
				if b.MustNot != nil {
					walk(b.MustNot, func(q query.Query) {
						if _, ok := q.(*query.MatchPhraseQuery); ok {
							excluded++
						}
					})
				}
			}
		})
		if required != 0 || excluded != strings.Count(tt.text, `-"`) {
			t.Errorf("loosen(%s) left %d required and %d excluded phrases", tt.text, required, excluded)
		}
	}
}

func walk(q query.Query, f func(query.Query)) {
	f(q)
	switch q := q.(type) {
	case *query.BooleanQuery:
		for _, c := range []query.Query{q.Must, q.Should, q.MustNot, q.Filter} {
			if c != nil {
				walk(c, f)
			}
		}
	case *query.ConjunctionQuery:
		for _, c := range q.Conjuncts {
			walk(c, f)
		}
	case *query.DisjunctionQuery:
		for _, c := range q.Disjuncts {
			walk(c, f)
		}
	}
}
