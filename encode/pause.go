package encode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrGraceExpired wraps the last error of an operation that kept failing for longer than the
// grace period: the recording cannot be persisted and the session must end (fail closed).
var ErrGraceExpired = errors.New("recording storage unavailable past the grace period")

// Pause is the grace a recording is given when its storage fails (spool full, disk full,
// permission denied): the write is retried with backoff instead of failing at once, and the
// session waits meanwhile — the recorder, a lossless reader, stops reading while its putter
// retries, so the ring's producers wait (and the ring's StallTimeout must not be shorter than
// Grace, or the ring ends the session first with a less precise cause). If a retry succeeds
// within the grace the session goes on and nothing is lost; if not, Do returns ErrGraceExpired
// and the recorder ends the session.
//
// The grace covers an episode, not one call: it runs from the first failure and is reset by the
// next success, so a segment stored as several objects waits at most Grace in all. Once an
// episode has expired, Do tries once more without waiting (so the final manifest still gets a
// chance) until a success ends the episode.
//
// A Pause is safe for concurrent use; give each recording its own.
type Pause struct {
	// Grace is how long writes are retried after the first failure; 0 fails at once.
	Grace time.Duration
	// Retryable says whether an error may go away on its own (a full disk) or never will (an
	// object that already exists). Nil retries every error but ctx's.
	Retryable func(error) bool
	// OnPause is called at the first failure of an episode; OnResume when a retry succeeded after
	// the session waited for d. Either may be nil. They are for logs and must not block.
	OnPause  func(err error)
	OnResume func(d time.Duration)

	mu      sync.Mutex
	since   time.Time // first failure of the current episode; zero when healthy
	expired bool
}

// retry backoff: short at first, so a brief hiccup costs the session little, capped so a long
// grace does not hammer a full disk.
const (
	pauseFirstRetry = 50 * time.Millisecond
	pauseMaxRetry   = time.Second
)

// Do runs op until it succeeds, fails with an error that is not retryable, ctx is done, or the
// episode's grace has passed (then the error wraps ErrGraceExpired and op's last error).
func (p *Pause) Do(ctx context.Context, op func(context.Context) error) error {
	err := op(ctx)
	if err == nil {
		p.healthy()
		return nil
	}
	if !p.retryable(ctx, err) {
		return err
	}
	deadline, expired := p.fail(err)
	if expired {
		return fmt.Errorf("%w: %w", ErrGraceExpired, err)
	}
	wait := pauseFirstRetry
	for {
		left := time.Until(deadline)
		if left <= 0 {
			p.expire()
			return fmt.Errorf("%w (%v): %w", ErrGraceExpired, p.Grace, err)
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, pauseMaxRetry)
		if err = op(ctx); err == nil {
			p.healthy()
			return nil
		}
		if !p.retryable(ctx, err) {
			return err
		}
	}
}

// Paused reports whether writes are failing now, and since when.
func (p *Pause) Paused() (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.since.IsZero(), p.since
}

func (p *Pause) retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return p.Retryable == nil || p.Retryable(err)
}

// fail starts an episode at the first failure and returns when its grace ends.
func (p *Pause) fail(err error) (deadline time.Time, expired bool) {
	p.mu.Lock()
	first := p.since.IsZero()
	if first {
		p.since = time.Now()
	}
	deadline, expired = p.since.Add(p.Grace), p.expired || p.Grace <= 0
	p.mu.Unlock()
	if first && p.OnPause != nil {
		p.OnPause(err)
	}
	return deadline, expired
}

func (p *Pause) expire() {
	p.mu.Lock()
	p.expired = true
	p.mu.Unlock()
}

func (p *Pause) healthy() {
	p.mu.Lock()
	since := p.since
	p.since, p.expired = time.Time{}, false
	p.mu.Unlock()
	if !since.IsZero() && p.OnResume != nil {
		p.OnResume(time.Since(since))
	}
}
