package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// IndexingRecorder records each session with Recorder and indexes it live: a lossy reader of the
// session's ring feeds an index.Feed. Neither can slow the session: the lossy reader is never
// waited for, and the feed's Event never blocks. When either falls behind (ring overrun, feed
// queue full), the session is indexed again from its stored recording once that is complete.
type IndexingRecorder struct {
	Recorder proxyssh.Recorder // the recording proper; its errors still refuse or end sessions
	Index    *index.Index
	Store    *Recordings // where catch-up reads finished recordings
	Log      *slog.Logger

	wg sync.WaitGroup // catch-ups in flight
}

var _ proxyssh.Recorder = (*IndexingRecorder)(nil)

// Start begins the recording, then the live feed. A failure of indexing never refuses a session:
// the recording is what must not fail.
func (g *IndexingRecorder) Start(ctx context.Context, s proxyssh.SessionInfo, ring *capture.Ring) (proxyssh.Recording, error) {
	rec, err := g.Recorder.Start(ctx, s, ring)
	if err != nil {
		return nil, err
	}
	feed := g.Index.Feed(index.SessionInfo{ID: s.ID, User: s.User, Target: s.Target, Protocol: s.Protocol,
		Start: ring.Start()}, s.Cols, s.Rows)
	rd := ring.NewReader(capture.Lossy)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer rd.Close()
		for {
			// The ring ends the loop (io.EOF when closed and drained, or its failure), not ctx:
			// the lines of a session's last moments are indexed too.
			ev, err := rd.Next(context.WithoutCancel(ctx))
			if errors.Is(err, capture.ErrOverrun) {
				feed.Drop()
				return
			}
			if err != nil {
				return
			}
			if !feed.Event(ev) {
				return // dropped: the rest comes from the stored recording
			}
		}
	}()
	return &indexedRecording{Recording: rec, g: g, s: s, feed: feed, readerDone: done}, nil
}

type indexedRecording struct {
	proxyssh.Recording
	g          *IndexingRecorder
	s          proxyssh.SessionInfo
	feed       *index.Feed
	readerDone chan struct{}
}

// Close closes the recording, then the feed; a feed that dropped starts the session's catch-up
// in the background (Wait waits for it).
func (r *indexedRecording) Close(cause error) error {
	err := r.Recording.Close(cause)
	<-r.readerDone
	ferr := r.feed.Close()
	switch {
	case errors.Is(ferr, index.ErrDropped):
		r.g.Log.Info("index: live feed fell behind, catching up from the recording", "session", r.s.ID)
		r.g.wg.Add(1)
		go func() {
			defer r.g.wg.Done()
			if cerr := r.g.catchUp(context.Background(), r.s.ID); cerr != nil {
				r.g.Log.Error("index: catch-up failed", "session", r.s.ID, "err", cerr)
			}
		}()
	case ferr != nil:
		r.g.Log.Error("index: live feed", "session", r.s.ID, "err", ferr)
	}
	return err
}

// Wait waits for the catch-ups started so far.
func (g *IndexingRecorder) Wait() { g.wg.Wait() }

// CatchUp indexes again, from the store, every session the index has marked (live feeds that fell
// behind, perhaps before a restart). serve calls it at start; `vigil reindex` does all sessions.
func (g *IndexingRecorder) CatchUp(ctx context.Context) error {
	var errs []error
	for _, id := range g.Index.CatchUp() {
		if err := g.catchUp(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (g *IndexingRecorder) catchUp(ctx context.Context, id string) error {
	_, err := ReindexSession(ctx, g.Index, g.Store, id)
	return err
}

// ReindexSession replaces the index's documents of one stored session with those of its recording
// and returns the number of lines indexed. For a graphical session only its typed lines are
// replaced (ReindexKeys): its OCR lines come from its video, which `vigil reindex --ocr`
// (ReindexOCR) reads, and reading event logs alone must not delete them.
func ReindexSession(ctx context.Context, ix *index.Index, store *Recordings, id string) (int, error) {
	if ref, err := store.Find(ctx, id); err == nil && ref.Err == nil && ref.Segments > 0 {
		graphical, err := store.IsGraphical(ctx, ref)
		if err != nil {
			return 0, fmt.Errorf("reindex %s: %w", id, err)
		}
		if graphical {
			return ReindexKeys(ctx, ix, store, ref)
		}
	}
	segs, closeAll, err := store.OpenSegments(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("reindex %s: %w", id, err)
	}
	defer closeAll()
	n, err := ix.IndexRecording(ctx, encode.NewRecords(segs))
	if err != nil {
		return n, fmt.Errorf("reindex %s: %w", id, err)
	}
	return n, nil
}
