package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// Errors of the index. Compare with errors.Is.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("index: closed")
	// ErrInUse means another process (a running vigil serve) holds the index.
	ErrInUse = errors.New("in use by another process (a running vigil serve answers searches on its control socket)")
	// ErrBadQuery wraps a query that does not parse or a bad filter.
	ErrBadQuery = errors.New("index: bad query")
)

// batchDocs is how many chunks the writer gathers before a commit: each commit makes a scorch
// segment, and fewer, larger segments index and merge faster.
const batchDocs = 512

// Index is the search index of text sessions, a Bleve scorch index in one directory. It is safe
// for concurrent use: searches run alongside the live feeds and reindexing.
type Index struct {
	bi  bleve.Index
	dir string
	// text is the text field's analyzer, which cuts a phrase into its words (loosen).
	text analysis.Analyzer

	mu       sync.Mutex // guards catchup and closed
	catchup  map[string]bool
	closed   bool
	live     *writer
	stopLive context.CancelFunc
}

// Open opens the index in dir, creating it when absent.
func Open(dir string) (*Index, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	path := filepath.Join(dir, "bleve")
	// Bleve lets one process hold an index; a second one (the CLI while serve runs) would wait
	// for the lock for ever without the timeout.
	bi, err := bleve.OpenUsing(path, map[string]interface{}{"bolt_timeout": "3s"})
	if err != nil && strings.Contains(err.Error(), "timeout") {
		return nil, fmt.Errorf("index: open %s: %w", path, ErrInUse)
	}
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		m, merr := newMapping()
		if merr != nil {
			return nil, fmt.Errorf("index: mapping: %w", merr)
		}
		bi, err = bleve.NewUsing(path, m, scorch.Name, scorch.Name, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	ix := &Index{bi: bi, dir: dir, catchup: map[string]bool{}}
	if ix.text = bi.Mapping().AnalyzerNamed(analyzerName); ix.text == nil {
		bi.Close()
		return nil, fmt.Errorf("index: open %s: no analyzer %s in its mapping", path, analyzerName)
	}
	if err := ix.loadCatchUp(); err != nil {
		bi.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ix.live, ix.stopLive = startWriter(ctx, bi), cancel
	return ix, nil
}

// Close flushes the live writer and closes the index. Feeds still open lose what they had not
// handed over; their sessions are marked for catch-up.
func (ix *Index) Close() error {
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return nil
	}
	ix.closed = true
	ix.mu.Unlock()
	ix.stopLive()
	ix.live.wait()
	return ix.bi.Close()
}

// Dir is the index's directory.
func (ix *Index) Dir() string { return ix.dir }

// RecordSource yields the records of a stored recording in order and io.EOF at the end, as
// encode.Records does; Header describes the segment being read.
type RecordSource interface {
	Next() (eventlog.Record, error)
	Header() eventlog.Header
}

// IndexRecording replaces whatever the index holds of one session with the lines of its stored
// recording, and clears the session's catch-up mark. It returns the number of lines indexed and
// the first read or index error (what was read before a damaged segment is still indexed).
func (ix *Index) IndexRecording(ctx context.Context, src RecordSource) (int, error) {
	rec, err := src.Next()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("index: read recording: %w", err)
	}
	h := src.Header()
	s := SessionInfo{ID: h.SessionID, User: h.User, Target: h.Target, Protocol: h.Protocol, Start: h.Start}
	if err := ix.DeleteSession(ctx, s.ID); err != nil {
		return 0, err
	}
	b := ix.bi.NewBatch()
	var ierr error
	commit := func() {
		if b.Size() > 0 && ierr == nil {
			ierr = ix.bi.Batch(b)
			b.Reset()
		}
	}
	lines := 0
	ch := newChunker(s, func(id string, doc map[string]any) {
		if ierr == nil {
			ierr = b.Index(id, doc)
		}
		if b.Size() >= batchDocs {
			commit()
		}
	})
	x := NewExtractor(h.Cols, h.Rows, func(l Line) { lines++; ch.add(l) })
	var rerr error
	var chans encode.Channels // file transfers and forwarded ports are not screen text
	for ierr == nil {
		if err := ctx.Err(); err != nil {
			rerr = err
			break
		}
		if chans.Terminal(capture.Event{Type: capture.Type(rec.Type), Channel: rec.Channel, Payload: rec.Payload}) {
			x.Event(rec.Time, capture.Type(rec.Type), rec.Payload)
		}
		rec, err = src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("index: read recording %s: %w", s.ID, err)
			break
		}
	}
	x.Flush(rec.Time)
	ch.flush()
	commit()
	if ierr != nil {
		return lines, fmt.Errorf("index: session %s: %w", s.ID, ierr)
	}
	if rerr == nil {
		rerr = ix.setCatchUp(s.ID, false)
	}
	return lines, rerr
}

// DeleteSession removes every document of a session.
func (ix *Index) DeleteSession(ctx context.Context, id string) error {
	q := bleve.NewTermQuery(id)
	q.SetField(fieldSession)
	for {
		req := bleve.NewSearchRequestOptions(q, 10000, 0, false)
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("index: delete session %s: %w", id, err)
		}
		if len(res.Hits) == 0 {
			return nil
		}
		b := ix.bi.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := ix.bi.Batch(b); err != nil {
			return fmt.Errorf("index: delete session %s: %w", id, err)
		}
	}
}

// CatchUp returns the ids of the sessions marked for catch-up: their live indexing dropped
// events, so they must be indexed again from their stored recordings (IndexRecording).
func (ix *Index) CatchUp() []string {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	out := make([]string, 0, len(ix.catchup))
	for id := range ix.catchup {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (ix *Index) catchupPath() string { return filepath.Join(ix.dir, "catchup") }

func (ix *Index) loadCatchUp() error {
	b, err := os.ReadFile(ix.catchupPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index: catch-up list: %w", err)
	}
	for _, id := range strings.Fields(string(b)) {
		ix.catchup[id] = true
	}
	return nil
}

// setCatchUp marks or clears a session and writes the list (small: sessions whose live feed
// dropped and that were not yet indexed again), so a restart still knows them.
func (ix *Index) setCatchUp(id string, on bool) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.catchup[id] == on {
		return nil
	}
	if on {
		ix.catchup[id] = true
	} else {
		delete(ix.catchup, id)
	}
	var b strings.Builder
	for id := range ix.catchup {
		b.WriteString(id)
		b.WriteByte('\n')
	}
	tmp := ix.catchupPath() + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("index: catch-up list: %w", err)
	}
	if err := os.Rename(tmp, ix.catchupPath()); err != nil {
		return fmt.Errorf("index: catch-up list: %w", err)
	}
	return nil
}

// DocCount is the number of chunk documents in the index.
func (ix *Index) DocCount() (uint64, error) { return ix.bi.DocCount() }
