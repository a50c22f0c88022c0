package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// Recorder records the gateway's sessions into the store: proxy/ssh's Recorder, built from
// encode's Recorder and the store's sink.
type Recorder struct {
	Store   *Recordings
	Options encode.Options
	Log     *slog.Logger
}

var _ proxyssh.Recorder = (*Recorder)(nil)

func (g *Recorder) Start(ctx context.Context, s proxyssh.SessionInfo, ring *capture.Ring) (proxyssh.Recording, error) {
	meta := encode.SessionMeta{
		ID: s.ID, User: s.User, Target: s.Target, Account: s.Account, Protocol: s.Protocol,
		Remote: s.Remote, Start: ring.Start(), Cols: s.Cols, Rows: s.Rows, Command: s.Command,
	}
	sink, err := g.Store.Sink(meta)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", s.ID, err)
	}
	opts := g.Options
	// A recording that cannot be persisted ends its session at once (fail closed).
	opts.OnFailure = func(err error) { ring.Fail(fmt.Errorf("%w: %w", proxyssh.ErrRecordingFailure, err)) }
	rd := ring.NewReader(capture.Lossless)
	rec := &gatewayRecording{causeSet: make(chan struct{}), done: make(chan struct{})}
	r := encode.NewRecorder(meta, sink, opts)
	go func() {
		defer close(rec.done)
		sum, err := r.Run(context.WithoutCancel(ctx), rd, rec.waitCause)
		rec.err = err
		lvl := slog.LevelInfo
		if err != nil {
			lvl = slog.LevelError
		}
		g.Log.Log(ctx, lvl, "recording closed", "session", s.ID, "user", s.User, "target", s.Target,
			"segments", len(sum.Segments), "output_bytes", sum.OutputBytes, "redactions", sum.Redactions,
			"cause", sum.Cause, "err", err)
	}()
	return rec, nil
}

// gatewayRecording is one recording in progress.
type gatewayRecording struct {
	once     sync.Once
	cause    error
	causeSet chan struct{}
	done     chan struct{}
	err      error
}

// Close gives the recorder the cause and waits until the recording is persisted.
func (r *gatewayRecording) Close(cause error) error {
	r.once.Do(func() {
		r.cause = cause
		close(r.causeSet)
	})
	<-r.done
	return r.err
}

// waitCause is called by the recorder after the ring has drained; the proxy calls Close with the
// cause right after closing the ring. The bound only guards against a proxy bug.
func (r *gatewayRecording) waitCause() error {
	select {
	case <-r.causeSet:
		return r.cause
	case <-time.After(time.Minute):
		return fmt.Errorf("cause unknown")
	}
}
