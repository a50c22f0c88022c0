package index

import (
	"fmt"
	"html"
	"image"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Sort orders search hits.
type Sort int

// Orders of hits.
const (
	ByTime      Sort = iota // oldest first
	ByRelevance             // best first
)

// DefaultLimit is the number of hits returned when Query.Limit is 0.
const DefaultLimit = 50

// Query is a search. Text uses Bleve's query-string syntax over the indexed text, with one change:
// every word and "exact phrase" is required unless it starts with '-' (excluded). Prefixes (foo*)
// and fuzzy terms (foo~1) work; matching ignores case, and '_' matches a space. The other fields
// are filters; zero values do not filter.
type Query struct {
	Text                  string
	User, Target, Session string
	Kind                  Kind
	Since, Until          time.Time
	Sort                  Sort
	Limit                 int
}

// Hit is one matching line.
type Hit struct {
	Session  string        `json:"session"`
	User     string        `json:"user"`
	Target   string        `json:"target"`
	Protocol string        `json:"protocol"`
	Kind     Kind          `json:"kind"`
	Time     time.Time     `json:"time"`
	Offset   time.Duration `json:"-"`
	OffsetMS int64         `json:"offset_ms"` // Offset in milliseconds, for JSON
	Line     string        `json:"line"`
	Marks    [][2]int      `json:"marks"` // byte ranges of Line that matched, in order
	Score    float64       `json:"score"` // relevance of the hit's chunk; 0 in time order
	// Region is where on the screen OCR text was read (KindOCR); zero for text kinds.
	Region image.Rectangle `json:"-"`
	// RegionXYWH is Region as [x, y, width, height] for JSON, absent when Region is zero.
	RegionXYWH []int `json:"region,omitempty"`

	doc  string // the chunk's id and the line's place in it: the last keys of the hit order
	line int
}

// Result is a page of hits.
type Result struct {
	Hits []Hit `json:"hits"`
	// Documents is how many chunks of lines matched; a chunk holds one or more hit lines. For a
	// phrase in time order it counts the chunks found until the page was full, not all of them.
	Documents uint64        `json:"documents"`
	Took      time.Duration `json:"-"`
}

// Snippet returns the hit's line with each match between pre and post, cut to about 200 bytes
// around the first match.
func (h Hit) Snippet(pre, post string) string {
	return h.snippet(pre, post, func(s string) string { return s })
}

// HTML returns the snippet HTML-escaped with matches in <mark>.
func (h Hit) HTML() string { return h.snippet("<mark>", "</mark>", html.EscapeString) }

func (h Hit) snippet(pre, post string, esc func(string) string) string {
	from, to := 0, len(h.Line)
	if to > 240 && len(h.Marks) > 0 {
		from = max(0, h.Marks[0][0]-80)
		to = min(len(h.Line), from+200)
		for from > 0 && !utf8.RuneStart(h.Line[from]) {
			from--
		}
		for to < len(h.Line) && !utf8.RuneStart(h.Line[to]) {
			to++
		}
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	at := from
	for _, m := range h.Marks {
		if m[0] < at || m[1] > to {
			continue
		}
		b.WriteString(esc(h.Line[at:m[0]]))
		b.WriteString(pre)
		b.WriteString(esc(h.Line[m[0]:m[1]]))
		b.WriteString(post)
		at = m[1]
	}
	b.WriteString(esc(h.Line[at:to]))
	if to < len(h.Line) {
		b.WriteString("…")
	}
	return b.String()
}

// storedFields are the fields a hit is made from.
var storedFields = []string{fieldSession, fieldUser, fieldTarget, fieldProtocol, fieldKind, fieldTime,
	fieldOffset, fieldText, fieldLines, fieldRegions}

// sortHits orders hits by time or by score, then by chunk and line, so that every order is total
// and the same however the hits were found.
func sortHits(h []Hit, by Sort) {
	sort.SliceStable(h, func(i, j int) bool {
		a, b := &h[i], &h[j]
		if by == ByTime && !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if by == ByRelevance && a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.doc != b.doc {
			return a.doc < b.doc
		}
		return a.line < b.line
	})
}

func buildQuery(q Query) (query.Query, error) {
	var must []query.Query
	if text := strings.TrimSpace(q.Text); text != "" {
		qs := bleve.NewQueryStringQuery(requireAll(text))
		parsed, err := qs.Parse()
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadQuery, q.Text, err)
		}
		must = append(must, parsed)
	}
	term := func(field, v string) {
		if v != "" {
			t := bleve.NewTermQuery(v)
			t.SetField(field)
			must = append(must, t)
		}
	}
	term(fieldUser, q.User)
	term(fieldTarget, q.Target)
	term(fieldSession, q.Session)
	switch q.Kind {
	case "", KindCommand, KindScreen, KindOCR:
		term(fieldKind, string(q.Kind))
	default:
		return nil, fmt.Errorf("%w: kind %q: want command, screen or screen-ocr", ErrBadQuery, q.Kind)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return nil, fmt.Errorf("%w: until %v is before since %v", ErrBadQuery, q.Until, q.Since)
	}
	// A chunk overlaps [Since, Until] when it ends after Since and starts before Until; its lines
	// are filtered one by one in docHits.
	if !q.Since.IsZero() {
		yes := true
		r := bleve.NewDateRangeInclusiveQuery(q.Since, time.Time{}, &yes, nil)
		r.SetField(fieldEnd)
		must = append(must, r)
	}
	if !q.Until.IsZero() {
		yes := true
		r := bleve.NewDateRangeInclusiveQuery(time.Time{}, q.Until, nil, &yes)
		r.SetField(fieldTime)
		must = append(must, r)
	}
	if len(must) == 0 {
		return bleve.NewMatchAllQuery(), nil
	}
	return bleve.NewConjunctionQuery(must...), nil
}

// requireAll rewrites a query string so that each clause is required ('+') unless it is already
// marked, and quotes a bare word holding '_' so that foo_bar means the phrase "foo bar" (the
// analyzer splits at '_'), not foo or bar. Input is lower-cased: prefix and fuzzy terms are not
// analyzed, and the index holds lower case only.
func requireAll(s string) string {
	s = strings.ToLower(s)
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		j, inQuote := i, false
		for j < len(s) && (inQuote || (s[j] != ' ' && s[j] != '\t')) {
			if s[j] == '\\' && j+1 < len(s) {
				j += 2
				continue
			}
			if s[j] == '"' {
				inQuote = !inQuote
			}
			j++
		}
		tok := s[i:j]
		i = j
		prefix := ""
		if tok[0] == '+' || tok[0] == '-' {
			prefix, tok = tok[:1], tok[1:]
		}
		if prefix == "" {
			prefix = "+"
		}
		if tok != "" && strings.Contains(tok, "_") && !strings.ContainsAny(tok, `"*?~:\`) {
			tok = `"` + tok + `"`
		}
		out = append(out, prefix+tok)
	}
	return strings.Join(out, " ")
}

// docHits turns a matching chunk into its matching lines within q's time range.
func docHits(dm *search.DocumentMatch, q Query) ([]Hit, error) {
	str := func(f string) string { s, _ := dm.Fields[f].(string); return s }
	text := str(fieldText)
	startT, _ := time.Parse(time.RFC3339Nano, str(fieldTime))
	base := time.Duration(0)
	if ms, ok := dm.Fields[fieldOffset].(float64); ok {
		base = time.Duration(ms) * time.Millisecond
	}
	sessionStart := startT.Add(-base)
	offs, err := decodeOffsets(base, str(fieldLines), chunkLines+1)
	if err != nil {
		return nil, err
	}
	var regions []image.Rectangle
	if r := str(fieldRegions); r != "" {
		if regions, err = decodeRegions(r, len(offs)); err != nil {
			return nil, err
		}
	}
	lineStarts := []int{0}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			lineStarts = append(lineStarts, i+1)
		}
	}
	if len(offs) != len(lineStarts) {
		return nil, fmt.Errorf("%w: %d offsets for %d lines", errOffsets, len(offs), len(lineStarts))
	}
	marks := map[int][][2]int{}
	for _, locs := range dm.Locations[fieldText] {
		for _, l := range locs {
			s, e := int(l.Start), int(l.End)
			if s < 0 || e > len(text) || s >= e {
				continue
			}
			ln := sort.Search(len(lineStarts), func(i int) bool { return lineStarts[i] > s }) - 1
			marks[ln] = append(marks[ln], [2]int{s - lineStarts[ln], e - lineStarts[ln]})
		}
	}
	if len(marks) == 0 { // a filter-only query: the chunk's first line stands for it
		marks[0] = nil
	}
	lines := make([]int, 0, len(marks))
	for ln := range marks {
		lines = append(lines, ln)
	}
	sort.Ints(lines)
	var hits []Hit
	for _, ln := range lines {
		at := sessionStart.Add(offs[ln])
		if (!q.Since.IsZero() && at.Before(q.Since)) || (!q.Until.IsZero() && at.After(q.Until)) {
			continue
		}
		end := len(text)
		if ln+1 < len(lineStarts) {
			end = lineStarts[ln+1] - 1
		}
		m := marks[ln]
		sort.Slice(m, func(i, j int) bool { return m[i][0] < m[j][0] })
		m = mergeMarks(m, end-lineStarts[ln])
		h := Hit{
			Session: str(fieldSession), User: str(fieldUser), Target: str(fieldTarget),
			Protocol: str(fieldProtocol), Kind: Kind(str(fieldKind)),
			Time: at, Offset: offs[ln], OffsetMS: offs[ln].Milliseconds(), Line: text[lineStarts[ln]:end], Marks: m, Score: dm.Score,
			doc: dm.ID, line: ln,
		}
		if regions != nil && !regions[ln].Empty() {
			r := regions[ln]
			h.Region, h.RegionXYWH = r, []int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()}
		}
		hits = append(hits, h)
	}
	return hits, nil
}

// mergeMarks joins overlapping ranges and drops any past the line's end.
func mergeMarks(m [][2]int, n int) [][2]int {
	var out [][2]int
	for _, r := range m {
		if r[1] > n {
			continue
		}
		if k := len(out); k > 0 && r[0] <= out[k-1][1] {
			out[k-1][1] = max(out[k-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}
