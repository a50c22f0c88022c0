package player

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/seed18fc72c3/vigil/index"
)

// sessionJSON is a SessionInfo as the API shows it.
type sessionJSON struct {
	SessionInfo
	DurationMS int64  `json:"duration_ms"`
	Verified   string `json:"verified"` // "ok", "failed: ...", or "" when not checked yet
}

// visible says whether l may see a session of owner.
func visible(l *login, owner string) bool { return seesAll(l.user.Role) || owner == l.user.Name }

// handleSessions lists the sessions the caller may see, newest first, filtered by the query
// parameters user, target, protocol (exact), status (live|ended) and since/until (RFC 3339 or
// YYYY-MM-DD, on the start time).
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, l *login) {
	q := r.URL.Query()
	since, err1 := parseDate(q.Get("since"), false)
	until, err2 := parseDate(q.Get("until"), true)
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	all, err := s.cfg.Sessions.List(r.Context())
	if err != nil {
		s.log.Error("web: list sessions", "err", err)
		writeError(w, http.StatusInternalServerError, "cannot list sessions")
		return
	}
	out := []sessionJSON{}
	for _, si := range all {
		switch {
		case !visible(l, si.User),
			q.Get("user") != "" && si.User != q.Get("user"),
			q.Get("target") != "" && si.Target != q.Get("target"),
			q.Get("protocol") != "" && si.Protocol != q.Get("protocol"),
			q.Get("status") == "live" && !si.Live,
			q.Get("status") == "ended" && si.Live,
			!since.IsZero() && si.Start.Before(since),
			!until.IsZero() && !si.Start.Before(until):
			continue
		}
		out = append(out, s.sessionJSON(si))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) sessionJSON(si SessionInfo) sessionJSON {
	v, _ := s.verify.cached(si.ID)
	return sessionJSON{SessionInfo: si, DurationMS: si.Duration.Milliseconds(), Verified: v}
}

// parseDate reads RFC 3339 or a plain date; a plain "until" date includes that whole day.
func parseDate(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, errors.New("dates are YYYY-MM-DD or RFC 3339: " + v)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// getVisible loads a session the caller may see, or answers 404/403 and returns false.
func (s *Server) getVisible(w http.ResponseWriter, r *http.Request, l *login) (SessionInfo, []Segment, bool) {
	id := r.PathValue("id")
	si, segs, err := s.cfg.Sessions.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such session")
		return si, nil, false
	}
	if err != nil {
		s.log.Error("web: get session", "session", id, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read session")
		return si, nil, false
	}
	if !visible(l, si.User) {
		writeError(w, http.StatusForbidden, "not your session")
		return si, nil, false
	}
	return si, segs, true
}

type segmentJSON struct {
	Segment
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
}

type markerJSON struct {
	OffsetMS int64  `json:"offset_ms"`
	Line     string `json:"line"`
}

// handleSession answers one session with its segments (the timeline, and the heatmap by bytes per
// segment) and its command markers from the index.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request, l *login) {
	si, segs, ok := s.getVisible(w, r, l)
	if !ok {
		return
	}
	js := make([]segmentJSON, len(segs))
	for i, sg := range segs {
		js[i] = segmentJSON{Segment: sg, StartMS: sg.Start.Milliseconds(), EndMS: sg.End.Milliseconds()}
	}
	markers := []markerJSON{}
	res, err := s.cfg.Search.Search(r.Context(), index.Query{Session: si.ID, Kind: index.KindCommand, Sort: index.ByTime, Limit: 2000})
	if err != nil {
		s.log.Warn("web: command markers", "session", si.ID, "err", err)
	}
	for _, h := range res.Hits {
		markers = append(markers, markerJSON{OffsetMS: h.OffsetMS, Line: h.Line})
	}
	s.audit(r, "web.replay", l.user.Name, si.ID, "")
	writeJSON(w, http.StatusOK, map[string]any{"session": s.sessionJSON(si), "segments": js, "markers": markers})
}

// handleVerify checks a recording's seals and caches the answer of a finished one.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request, l *login) {
	si, _, ok := s.getVisible(w, r, l)
	if !ok {
		return
	}
	v := s.verify.check(r, si)
	writeJSON(w, http.StatusOK, map[string]string{"id": si.ID, "verified": v})
}

func (c *verifyCache) cached(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	return v, ok
}

func (c *verifyCache) check(r *http.Request, si SessionInfo) string {
	if v, ok := c.cached(si.ID); ok {
		return v
	}
	v := "ok"
	if err := c.src.Verify(r.Context(), si.ID); err != nil {
		if r.Context().Err() != nil {
			return ""
		}
		v = "failed: " + err.Error()
	}
	if !si.Live {
		c.mu.Lock()
		c.m[si.ID] = v
		c.mu.Unlock()
	}
	return v
}

type searchGroup struct {
	Session sessionJSON `json:"session"`
	Hits    []hitJSON   `json:"hits"`
}

type hitJSON struct {
	index.Hit
	Snippet string `json:"snippet"` // HTML: the line escaped, matches in <mark>
}

// handleSearch runs a search (index.ParseQuery's parameters) and groups the hits by session. A
// user's search is confined to their own sessions by forcing the user filter.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, l *login) {
	q, err := index.ParseQuery(r.URL.Query().Get)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !seesAll(l.user.Role) {
		if q.User != "" && q.User != l.user.Name {
			writeError(w, http.StatusForbidden, "you may search only your own sessions")
			return
		}
		q.User = l.user.Name
	}
	res, err := s.cfg.Search.Search(r.Context(), q)
	if err != nil {
		if errors.Is(err, index.ErrBadQuery) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.log.Error("web: search", "err", err)
		writeError(w, http.StatusInternalServerError, "search failed")
		return
	}
	s.audit(r, "web.search", l.user.Name, "", strings.TrimSpace(q.Text))
	groups := []*searchGroup{}
	byID := map[string]*searchGroup{}
	for _, h := range res.Hits {
		if !visible(l, h.User) { // the filter above already ensures it; this keeps it so
			continue
		}
		g := byID[h.Session]
		if g == nil {
			g = &searchGroup{Session: sessionJSON{SessionInfo: SessionInfo{ID: h.Session, User: h.User,
				Target: h.Target, Protocol: h.Protocol, Start: h.Time.Add(-h.Offset)}}}
			byID[h.Session] = g
			groups = append(groups, g)
		}
		g.Hits = append(g.Hits, hitJSON{Hit: h, Snippet: h.HTML()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": groups, "documents": res.Documents})
}
