package index

import (
	"context"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Search runs q. It returns an error wrapping ErrBadQuery for a query that does not parse.
//
// The hits are exactly the first Limit of all matching lines in q.Sort's order (ties broken by
// chunk and line), found without expanding every matching chunk into lines: chunks come from
// Bleve in the same order a page at a time and are expanded a batch at a time, until no chunk
// not yet expanded could hold a line that sorts before the Limit-th.
//
// In time order a query with a phrase takes a cheaper plan (see loosen): its candidates are the
// chunks holding the phrase's words, found without reading positions; the exact query is checked
// on a page of them at a time, in time order.
func (ix *Index) Search(ctx context.Context, q Query) (Result, error) {
	start := time.Now()
	exact, err := buildQuery(q)
	if err != nil {
		return Result{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	s := &searchRun{ix: ix, q: q, limit: limit, exact: exact, plan: exact, size: limit, seen: map[string]bool{}}
	if q.Sort == ByTime {
		// Relevance needs every chunk's phrase score, so only time order takes the loose plan.
		loose, _ := buildQuery(q) // a second copy: loosen rewrites in place
		if lp := loosen(loose, ix.text); lp != nil {
			s.plan, s.loose, s.lp = lp.q, true, lp
			// Many candidates hold the words and not the phrase: read plenty at once, since
			// each page reads the doc values of every candidate in the index again.
			s.size = min(max(looseFactor*limit, minLoosePage), maxPage)
		}
	}
	if err := s.run(ctx); err != nil {
		return Result{}, err
	}
	sortHits(s.out.Hits, q.Sort)
	if len(s.out.Hits) > limit {
		s.out.Hits = s.out.Hits[:limit]
	}
	s.out.Took = time.Since(start)
	return s.out, nil
}

// Page sizes of Search, in chunks. Variables so that a test can make every path of the plans run
// on a small index.
var (
	maxPage      = 4096 // bounds a page when Search needs more than the first
	looseFactor  = 20   // candidates read per wanted hit on the loose plan's page
	minLoosePage = 1024 // a phrase of common words is in a few percent of the chunks of its words
	probe        = 256  // candidates checked first, to tell a phrase too rare for the loose plan
)

// searchRun is the state of one Search.
type searchRun struct {
	ix          *Index
	q           Query
	limit       int
	exact, plan query.Query // plan finds the candidate chunks, in order; exact is what matches
	loose       bool        // plan is not exact: candidates are checked against exact
	lp          *loosePlan  // while loose
	size        int         // of the next page
	seen        map[string]bool
	out         Result
}

// candidate is a chunk found by the plan.
type candidate struct {
	id    string
	start time.Time // ByTime
	score float64
}

func (s *searchRun) run(ctx context.Context) error {
	for from := 0; ; {
		cands, total, err := s.candidates(ctx, from, s.size)
		if err != nil {
			return err
		}
		if !s.loose {
			s.out.Documents += total
		}
		full := len(cands) == s.size
		var bound time.Time // ByTime: no chunk on later pages starts before it
		if n := len(cands); n > 0 {
			bound = cands[n-1].start
		}
		fresh := cands[:0:0]
		for _, c := range cands {
			if !s.seen[c.id] {
				s.seen[c.id] = true
				fresh = append(fresh, c)
			}
		}
		matched := fresh
		if s.loose {
			if matched, err = s.verify(ctx, fresh[:min(len(fresh), probe)]); err != nil {
				return err
			}
			if full && len(fresh) > probe && len(matched)*len(fresh)/probe < s.limit/2 {
				// The phrase is much rarer than its words: this page would not fill, and
				// reading all candidates would cost more than the exact plan it replaced.
				s.plan, s.loose, s.lp, s.size, from = s.exact, false, nil, maxPage, 0
				clear(s.seen)
				continue
			}
			if len(fresh) > probe {
				rest, err := s.verify(ctx, fresh[probe:])
				if err != nil {
					return err
				}
				matched = append(matched, rest...)
			}
			s.out.Documents += uint64(len(matched))
		}
		// Expand the matched chunks a batch at a time, in order, until no later one can
		// hold a better line.
		for i := 0; i < len(matched); i += s.limit {
			batch := matched[i:min(i+s.limit, len(matched))]
			if err := s.expand(ctx, batch); err != nil {
				return err
			}
			next, more := bound, full
			if i+s.limit < len(matched) {
				next, more = matched[i+s.limit].start, true
			}
			if !more || s.done(next) {
				return nil
			}
		}
		if !full {
			return nil // every candidate was read
		}
		if s.loose {
			// The phrase is rarer than its words: read on with the exact query from the start,
			// skipping the chunks already read (seen). This costs one exact search, the plan
			// the loose one replaced. (Restricting it to chunks from the candidates' last time
			// on was slower: a date range over most of the index is a large union of terms.)
			s.plan, s.loose, s.lp, s.size, from = s.exact, false, nil, maxPage, 0
			continue
		}
		from, s.size = from+s.size, min(2*s.size, maxPage)
	}
}

// done reports whether the hits found hold the first Limit, when no chunk not yet expanded
// starts before next (ByTime) or scores higher (ByRelevance: chunks come best first).
func (s *searchRun) done(next time.Time) bool {
	if len(s.out.Hits) < s.limit {
		return false
	}
	if s.q.Sort == ByRelevance {
		return true // later chunks score no higher, and sort after these on a tie
	}
	sortHits(s.out.Hits, s.q.Sort)
	return s.out.Hits[s.limit-1].Time.Before(next)
}

// candidates reads chunks from..from+size of the plan in q's order, without locations, which
// Bleve would otherwise work out for every matching chunk of the whole index.
func (s *searchRun) candidates(ctx context.Context, from, size int) ([]candidate, uint64, error) {
	req := bleve.NewSearchRequestOptions(s.plan, size, from, false)
	if s.q.Sort == ByTime {
		req.SortBy([]string{fieldTime, "_id"})
		req.Score = "none" // time order: a score would be read for nothing
	} else {
		req.SortBy([]string{"-_score", "_id"})
	}
	res, err := s.ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("index: search: %w", err)
	}
	out := make([]candidate, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = candidate{id: h.ID, score: h.Score}
		if s.q.Sort == ByTime {
			var ns int64
			err := fmt.Errorf("no sort value")
			if len(h.Sort) > 0 {
				ns, err = numeric.PrefixCoded(h.Sort[0]).Int64()
			}
			if err != nil {
				return nil, 0, fmt.Errorf("index: search: chunk %s: time: %v", h.ID, err)
			}
			out[i].start = time.Unix(0, ns)
		}
	}
	return out, res.Total, nil
}

// verify returns the candidates that match the exact query, in order: it reads the locations
// of the loose query's words in the candidates and checks the phrases itself. (Bleve's phrase
// searcher, given the candidates, would read on past each to the next match in the index.)
func (s *searchRun) verify(ctx context.Context, cands []candidate) ([]candidate, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(s.plan, bleve.NewDocIDQuery(ids)), len(ids), 0, false)
	req.Score = "none"
	req.IncludeLocations = true
	res, err := s.ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("index: search: %w", err)
	}
	ok := make(map[string]bool, len(res.Hits))
	for _, h := range res.Hits {
		ok[h.ID] = s.lp.match(h)
	}
	var out []candidate
	for _, c := range cands {
		if ok[c.id] {
			out = append(out, c)
		}
	}
	return out, nil
}

// expand reads the stored fields and match locations of chunks that match and adds their lines.
func (s *searchRun) expand(ctx context.Context, cands []candidate) error {
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	q := s.exact
	if s.loose {
		q = s.plan // the chunks match: the plan's locations are filtered like verify's
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(q, bleve.NewDocIDQuery(ids)), len(ids), 0, false)
	req.Fields = storedFields
	req.IncludeLocations = true
	req.Score = "none"
	res, err := s.ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return fmt.Errorf("index: search: %w", err)
	}
	byID := make(map[string]*search.DocumentMatch, len(res.Hits))
	for _, dm := range res.Hits {
		byID[dm.ID] = dm
	}
	for _, c := range cands {
		dm := byID[c.id]
		if dm == nil || (s.loose && !s.lp.match(dm)) {
			continue // deleted between the passes (a reindex)
		}
		dm.Score = c.score
		hits, err := docHits(dm, s.q)
		if err != nil {
			return fmt.Errorf("index: search: %s: %w", dm.ID, err)
		}
		s.out.Hits = append(s.out.Hits, hits...)
	}
	return nil
}
