package player

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// VideoSource is the video of graphical recordings: each segment a standalone fragmented MP4
// (its own init segment, starting with a keyframe), sealed like the event logs beside it.
type VideoSource interface {
	// VideoSegments returns recording id's video segments in order, each with its index in the
	// recording and its time range in session time; an empty list for a recording without video
	// (a text session), an error wrapping ErrNotFound if there is no such recording.
	VideoSegments(ctx context.Context, id string) ([]Segment, error)
	// OpenVideo returns the plaintext MP4 of the segment with that index (a Segment.Index from
	// VideoSegments), checked against the manifest's hash; an error wrapping ErrNotFound if the
	// recording has no such video segment.
	OpenVideo(ctx context.Context, id string, index int) (io.ReadCloser, error)
}

// The video endpoints. GET /api/sessions/{id}/video answers the segments:
//
//	{"segments":[{"index":0,"start_ms":0,"end_ms":5000,"bytes":81234}, ...]}
//
// (an empty list for a recording without video), and GET /api/sessions/{id}/video/{index} one
// segment's MP4. The page feeds them in order to Media Source Extensions, placing segment i at
// its start_ms. Both check that the caller may see the session, as the records endpoint does.
func (s *Server) videoRoutes() {
	s.replays = &replayAudit{seen: map[string]time.Time{}}
	s.mux.Handle("GET /api/sessions/{id}/video", s.authed(s.handleVideoList, anyRole))
	s.mux.Handle("GET /api/sessions/{id}/video/{index}", s.authed(s.handleVideoSegment, anyRole))
}

func (s *Server) handleVideoList(w http.ResponseWriter, r *http.Request, l *login) {
	si, _, ok := s.getVisible(w, r, l)
	if !ok {
		return
	}
	out := []segmentJSON{}
	if s.cfg.Video != nil {
		segs, err := s.cfg.Video.VideoSegments(r.Context(), si.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.log.Error("web: list video", "session", si.ID, "err", err)
			writeError(w, http.StatusInternalServerError, "cannot read the recording")
			return
		}
		for _, g := range segs {
			out = append(out, segmentJSON{Segment: g, StartMS: g.Start.Milliseconds(), EndMS: g.End.Milliseconds()})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": out})
}

func (s *Server) handleVideoSegment(w http.ResponseWriter, r *http.Request, l *login) {
	i, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || i < 0 {
		writeError(w, http.StatusBadRequest, "index is a segment number")
		return
	}
	si, _, ok := s.getVisible(w, r, l)
	if !ok {
		return
	}
	if s.cfg.Video == nil {
		writeError(w, http.StatusNotFound, "no such video segment")
		return
	}
	rc, err := s.cfg.Video.OpenVideo(r.Context(), si.ID, i)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such video segment")
		return
	}
	if err != nil {
		s.log.Error("web: open video", "session", si.ID, "segment", i, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read the recording")
		return
	}
	defer rc.Close()
	// Audited at the first segment this login fetches, whichever it is: the page starts at 0, a
	// script need not (auditing only segment 0 let a replay from segment 1 on go unrecorded).
	if s.replays.first(l.id+" "+si.ID, s.cfg.Now(), s.cfg.SessionMax) {
		s.audit(r, "web.replay", l.user.Name, si.ID, "video")
	}
	w.Header().Set("Content-Type", "video/mp4")
	if _, err := io.Copy(w, rc); err != nil {
		// The hash is checked as the plaintext streams: a late failure can only cut the answer.
		s.log.Warn("web: send video", "session", si.ID, "segment", i, "err", err)
	}
}

// replayAudit remembers which logins have been audited replaying which session's video, so that
// a replay is audited once, not once per segment.
type replayAudit struct {
	mu   sync.Mutex
	seen map[string]time.Time // login id and session id -> when audited
}

// maxReplaysRemembered bounds replayAudit; past it, entries older than a login can live go,
// and if none are, all go (a replay may then be audited twice, never not at all).
const maxReplaysRemembered = 4096

// first says whether key is new, and remembers it.
func (a *replayAudit) first(key string, now time.Time, loginMax time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[key]; ok {
		return false
	}
	if len(a.seen) >= maxReplaysRemembered {
		for k, at := range a.seen {
			if now.Sub(at) > loginMax {
				delete(a.seen, k)
			}
		}
		if len(a.seen) >= maxReplaysRemembered {
			clear(a.seen)
		}
	}
	a.seen[key] = now
	return true
}
