package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"
)

// loosen rewrites q, in place, into a query that matches every chunk q matches and perhaps more:
// each phrase over the text becomes the conjunction of its words. It reports whether it changed
// anything.
//
// Why: a phrase reads the positions of every occurrence of its words in the chunks holding them
// all. For two common words that is every chunk of the index and hundreds of thousands of
// positions over 1M lines (75 ms on 2 cores), while the first page of hits in time order needs a
// few dozen chunks. So Search finds candidate chunks in time order with the loose query (posting
// lists only, no positions), checks the exact query on just those chunks, and reads on until the
// page is full (see Search).
//
// A phrase under a NOT stays exact: loosening it would exclude chunks that match.
func loosen(q query.Query, an analysis.Analyzer) (query.Query, bool) {
	switch q := q.(type) {
	case *query.BooleanQuery:
		var a, b, c bool
		q.Must, a = loosenOpt(q.Must, an)
		q.Should, b = loosenOpt(q.Should, an)
		q.Filter, c = loosenOpt(q.Filter, an)
		return q, a || b || c
	case *query.ConjunctionQuery:
		any := false
		for i, sub := range q.Conjuncts {
			var ch bool
			q.Conjuncts[i], ch = loosen(sub, an)
			any = any || ch
		}
		return q, any
	case *query.DisjunctionQuery:
		any := false
		for i, sub := range q.Disjuncts {
			var ch bool
			q.Disjuncts[i], ch = loosen(sub, an)
			any = any || ch
		}
		return q, any
	case *query.MatchPhraseQuery:
		// Another field or analyzer, or a fuzzy phrase, is left alone: these words would not be
		// the ones the phrase searches for.
		if (q.FieldVal != "" && q.FieldVal != fieldText) || q.Analyzer != "" || q.Fuzziness != 0 {
			return q, false
		}
		toks := an.Analyze([]byte(q.MatchPhrase))
		if len(toks) < 2 {
			return q, false // one word: the phrase is already a term
		}
		seen := map[string]bool{}
		var conj []query.Query
		for _, t := range toks {
			w := string(t.Term)
			if seen[w] {
				continue
			}
			seen[w] = true
			tq := query.NewTermQuery(w)
			tq.SetField(fieldText)
			conj = append(conj, tq)
		}
		return query.NewConjunctionQuery(conj), true
	}
	return q, false
}

func loosenOpt(q query.Query, an analysis.Analyzer) (query.Query, bool) {
	if q == nil {
		return nil, false
	}
	return loosen(q, an)
}
