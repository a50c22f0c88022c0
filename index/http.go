package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Handler serves GET /api/search?q=QUERY with optional user, target, session, kind
// (command|screen|screen-ocr), since and until (RFC 3339), sort (time|relevance) and limit. It
// answers JSON: {"hits":[{session, user, target, protocol, kind, time, offset_ms, line, marks,
// snippet, score, region}],
// "documents": N, "took_ms": T}; a bad request is 400 with {"error": "..."}. The caller mounts it
// behind authentication: the index holds what privileged users saw.
func (ix *Index) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
			return
		}
		q, err := ParseQuery(r.URL.Query().Get)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		res, err := ix.Search(r.Context(), q)
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, ErrBadQuery) {
				code = http.StatusBadRequest
			}
			writeJSON(w, code, map[string]string{"error": err.Error()})
			return
		}
		type jsonHit struct {
			Hit
			Snippet string `json:"snippet"`
		}
		hits := make([]jsonHit, len(res.Hits))
		for i, h := range res.Hits {
			hits[i] = jsonHit{Hit: h, Snippet: h.HTML()}
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"hits": hits, "documents": res.Documents, "took_ms": res.Took.Milliseconds(),
		})
	})
}

// ParseQuery reads a Query from named string parameters (URL query values, flags): q, user,
// target, session, kind, since, until (RFC 3339), sort (time|relevance), limit. Errors wrap
// ErrBadQuery and name the parameter.
func ParseQuery(get func(string) string) (Query, error) {
	q := Query{Text: get("q"), User: get("user"), Target: get("target"), Session: get("session"),
		Kind: Kind(get("kind"))}
	var err error
	if q.Since, err = parseTime("since", get("since")); err != nil {
		return Query{}, err
	}
	if q.Until, err = parseTime("until", get("until")); err != nil {
		return Query{}, err
	}
	switch get("sort") {
	case "", "time":
		q.Sort = ByTime
	case "relevance":
		q.Sort = ByRelevance
	default:
		return Query{}, fmt.Errorf("%w: %s", ErrBadQuery, "sort: want time or relevance")
	}
	if v := get("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 10000 {
			return Query{}, fmt.Errorf("%w: %s", ErrBadQuery, "limit: want 1 to 10000")
		}
	}
	return q, nil
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s: want RFC 3339 time or YYYY-MM-DD", ErrBadQuery, name)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
