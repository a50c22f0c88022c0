package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/storage"
)

// graceBackend retries a recording's failed Puts for the recording's failure grace (encode.Pause).
// The retry sits under the seal writer, not above it: a Backend Put is atomic (a failed one leaves
// nothing), so retrying it is safe, whereas the writer refuses to go on after any failure so that a
// recording with a hole is never continued.
type graceBackend struct {
	storage.Backend
	pause *encode.Pause
}

func newGraceBackend(b storage.Backend, grace time.Duration, session string, log *slog.Logger) storage.Backend {
	if grace <= 0 {
		return b
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &graceBackend{Backend: b, pause: &encode.Pause{
		Grace:     grace,
		Retryable: retryablePut,
		OnPause: func(err error) {
			log.Warn("recording paused: storage failing, retrying", "session", session, "grace", grace, "err", err)
		},
		OnResume: func(d time.Duration) {
			log.Info("recording resumed: storage writable again", "session", session, "paused_for", d)
		},
	}}
}

// retryablePut: a full spool or disk, a permission or I/O error may be fixed by an operator
// within the grace; a bad key, a size mismatch or an object already there never will be.
func retryablePut(err error) bool {
	return !errors.Is(err, storage.ErrExist) && !errors.Is(err, storage.ErrInvalidKey) &&
		!errors.Is(err, storage.ErrSizeMismatch)
}

func (g *graceBackend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	// A retry needs the bytes again: the seal writer hands a bytes.Reader, anything else is read
	// into memory once.
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("put %s: read: %w", key, err)
		}
		rs = bytes.NewReader(b)
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return g.pause.Do(ctx, func(ctx context.Context) error {
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("put %s: rewind: %w", key, err)
		}
		return g.Backend.Put(ctx, key, rs, size)
	})
}
