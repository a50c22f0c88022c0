package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// loosePlan is a cheaper way to run a query that holds phrases, in time order.
//
// Why: Bleve's phrase searcher reads the positions of every occurrence of the phrase's words in
// every chunk holding them all, and after each match it reads on to the next one. For two common
// words that is every chunk of the index, hundreds of thousands of positions over 1M lines (75 ms
// on 2 cores), while the first page of hits in time order needs a few dozen chunks. So Search
// finds candidate chunks in time order with the loose query (each phrase replaced by the
// conjunction of its words: posting lists only, no positions), reads the positions of the words
// in those candidates alone, and checks the phrases here (match), until the page is full.
type loosePlan struct {
	q       query.Query // the loose query
	phrases []phrase
	// other holds the text terms that required clauses other than phrases match: all their
	// locations are marks, as the exact query would report them.
	other map[string]bool
}

// phrase is one phrase of the query: its words and their positions relative to the first.
type phrase struct {
	terms []string
	rel   []int
}

// loosen rewrites q, which buildQuery made, in place into the loose query and returns the plan,
// or nil when q has no phrase to loosen or has clauses the plan cannot account for. Only
// phrases that are required clauses are loosened (a phrase under a NOT stays exact: loosening
// it would exclude chunks that match). Other required clauses may be words only (not prefixes,
// fuzzy terms or patterns): which of a phrase word's locations are marks depends on whether
// another clause matches that word too.
func loosen(q query.Query, an analysis.Analyzer) *loosePlan {
	top, ok := q.(*query.ConjunctionQuery)
	if !ok {
		return nil
	}
	lp := &loosePlan{q: q, other: map[string]bool{}}
	for _, c := range top.Conjuncts {
		b, ok := c.(*query.BooleanQuery)
		if !ok {
			continue // a filter on a keyword field or the time
		}
		if b.Should != nil || b.Filter != nil {
			return nil
		}
		if b.Must == nil {
			continue
		}
		must, ok := b.Must.(*query.ConjunctionQuery)
		if !ok {
			return nil
		}
		for i, m := range must.Conjuncts {
			switch m := m.(type) {
			case *query.MatchPhraseQuery:
				if !textField(m.FieldVal) || m.Analyzer != "" || m.Fuzziness != 0 {
					return nil
				}
				toks := an.Analyze([]byte(m.MatchPhrase))
				if len(toks) < 2 {
					for _, t := range toks {
						lp.other[string(t.Term)] = true
					}
					continue
				}
				var p phrase
				var conj []query.Query
				for _, t := range toks {
					w := string(t.Term)
					p.terms = append(p.terms, w)
					p.rel = append(p.rel, t.Position-toks[0].Position)
					tq := query.NewTermQuery(w)
					tq.SetField(fieldText)
					conj = append(conj, tq)
				}
				lp.phrases = append(lp.phrases, p)
				must.Conjuncts[i] = query.NewConjunctionQuery(conj)
			case *query.MatchQuery:
				if !textField(m.FieldVal) || m.Analyzer != "" || m.Fuzziness != 0 || m.Prefix != 0 {
					return nil
				}
				for _, t := range an.Analyze([]byte(m.Match)) {
					lp.other[string(t.Term)] = true
				}
			default:
				return nil
			}
		}
	}
	if len(lp.phrases) == 0 {
		return nil
	}
	return lp
}

func textField(f string) bool { return f == "" || f == fieldText }

// match reports whether a chunk that the loose query matched, with its text locations, holds
// every phrase; if so it keeps in dm only the locations the exact query would report: those of
// the phrases' matches and those of words other clauses match.
func (lp *loosePlan) match(dm *search.DocumentMatch) bool {
	locs := dm.Locations[fieldText]
	pos := make(map[string]map[int]bool, len(locs))
	for term, ls := range locs {
		set := make(map[int]bool, len(ls))
		for _, l := range ls {
			set[int(l.Pos)] = true
		}
		pos[term] = set
	}
	marked := map[string]map[int]bool{}
	for _, p := range lp.phrases {
		found := false
		for start := range pos[p.terms[0]] {
			ok := true
			for i := 1; i < len(p.terms) && ok; i++ {
				ok = pos[p.terms[i]][start+p.rel[i]]
			}
			if !ok {
				continue
			}
			found = true
			for i, t := range p.terms {
				if marked[t] == nil {
					marked[t] = map[int]bool{}
				}
				marked[t][start+p.rel[i]] = true
			}
		}
		if !found {
			return false
		}
	}
	for term, ls := range locs {
		if lp.other[term] {
			continue
		}
		kept := ls[:0:0]
		for _, l := range ls {
			if marked[term][int(l.Pos)] {
				kept = append(kept, l)
			}
		}
		locs[term] = kept
	}
	return true
}
