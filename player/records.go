package player

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// The records endpoint answers JSON lines (application/x-ndjson). The first line describes the
// segment that holds `from`:
//
//	{"segment":3,"segments":96,"start_ms":900000,"end_ms":1200000,"cols":80,"rows":24,"next_ms":1200000}
//
// (next_ms is -1 after the last segment). Every further line is one record of that segment, from
// its keyframe on, with t in milliseconds since the session start:
//
//	{"t":900000,"k":"key","d":"<base64 bytes>"}  keyframe: the whole screen; reset, then write it
//	{"t":900012.5,"k":"out","d":"<base64>"}       terminal output
//	{"t":901000,"k":"size","cols":120,"rows":40}  resize
//	{"t":901500,"k":"mark","d":"<base64>"}        marker
//	{"t":902000,"k":"redacted"}                   input withheld by redaction
//
// Input records are not sent: the player shows what the user saw. A player seeking to T writes
// the records before T at once and plays from T; at the end it asks for from=next_ms.
type recordsHead struct {
	Segment  int   `json:"segment"`
	Segments int   `json:"segments"`
	StartMS  int64 `json:"start_ms"`
	EndMS    int64 `json:"end_ms"`
	Cols     int   `json:"cols"`
	Rows     int   `json:"rows"`
	NextMS   int64 `json:"next_ms"`
}

type recordJSON struct {
	T    float64 `json:"t"`
	K    string  `json:"k"`
	D    []byte  `json:"d,omitempty"`
	Cols int     `json:"cols,omitempty"`
	Rows int     `json:"rows,omitempty"`
}

// typeRedacted is capture's TypeRedacted, which the event log stores under the same number.
const typeRedacted = uint8(capture.TypeRedacted)

// segmentAt returns the index in segs of the segment that holds offset: the last one starting at
// or before it (the first one for offsets before the start, the last one past the end).
func segmentAt(segs []Segment, offset time.Duration) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Start > offset })
	return max(i-1, 0)
}

// parseFrom reads the from parameter: milliseconds since the session start, 0 when absent.
func parseFrom(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil || ms < 0 || ms > float64(1<<53) || ms != ms {
		return 0, errors.New("from is a number of milliseconds")
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request, l *login) {
	from, err := parseFrom(r.URL.Query().Get("from"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	si, segs, ok := s.getVisible(w, r, l)
	if !ok {
		return
	}
	if len(segs) == 0 {
		writeError(w, http.StatusNotFound, "the session has no segments yet")
		return
	}
	i := segmentAt(segs, from)
	rc, err := s.cfg.Sessions.OpenSegment(r.Context(), si.ID, segs[i].Index)
	if err != nil {
		s.log.Error("web: open segment", "session", si.ID, "segment", i, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read the recording")
		return
	}
	defer rc.Close()
	er, err := eventlog.NewReader(rc)
	if err != nil {
		s.log.Error("web: read segment", "session", si.ID, "segment", i, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read the recording")
		return
	}
	// Audited at the first fetch of this login and session, whichever segment it is: a script
	// reading the records replays the session as the page does, without the page's detail
	// request (the only one audited before). Keyed apart from the video's, which has its own.
	if s.replays.first(l.id+" "+si.ID+" text", s.cfg.Now(), s.cfg.SessionMax) {
		s.audit(r, "web.replay", l.user.Name, si.ID, "text")
	}
	h := er.Header()
	// A recording made before the gateway bounded sizes may carry any: the browser's terminal
	// would allocate every cell of it.
	cols, rows := min(h.Cols, term.MaxSide), min(h.Rows, term.MaxSide) // 0 stays "unknown"
	head := recordsHead{Segment: i, Segments: len(segs), StartMS: segs[i].Start.Milliseconds(),
		EndMS: segs[i].End.Milliseconds(), Cols: cols, Rows: rows, NextMS: -1}
	if i+1 < len(segs) {
		head.NextMS = segs[i+1].Start.Milliseconds()
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	_ = enc.Encode(head)
	if err := writeRecords(enc, er); err != nil {
		// The status is sent; the stream ends early and the player sees a short segment.
		s.log.Error("web: records", "session", si.ID, "segment", i, "err", err)
	}
	_ = bw.Flush()
}

func writeRecords(enc *json.Encoder, er *eventlog.Reader) error {
	for {
		rec, err := er.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		out := recordJSON{T: float64(rec.Time) / float64(time.Millisecond)}
		switch rec.Type {
		case eventlog.TypeKeyframe:
			out.K, out.D = "key", rec.Payload
		case eventlog.TypeOutput:
			out.K, out.D = "out", rec.Payload
		case eventlog.TypeMarker:
			out.K, out.D = "mark", rec.Payload
		case eventlog.TypeResize:
			cols, rows, err := capture.ParseResize(rec.Payload)
			if err != nil {
				continue
			}
			out.K = "size"
			out.Cols, out.Rows = min(int(cols), term.MaxSide), min(int(rows), term.MaxSide)
		case typeRedacted:
			out.K = "redacted"
		default:
			continue
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	}
}
