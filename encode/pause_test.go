package encode

import (
	"context"
	"errors"
	"io/fs"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flaky fails its first n calls with err, then succeeds.
type flaky struct {
	n     int32
	err   error
	calls atomic.Int32
}

func (f *flaky) op(context.Context) error {
	if f.calls.Add(1) <= f.n {
		return f.err
	}
	return nil
}

func TestPauseDo(t *testing.T) {
	permanent := func(err error) bool { return !errors.Is(err, fs.ErrExist) }
	for _, tc := range []struct {
		name      string
		grace     time.Duration
		fails     int32
		err       error
		wantErr   error // nil: success
		wantCalls int32
	}{
		{"healthy", time.Second, 0, syscall.ENOSPC, nil, 1},
		{"recovers within grace", 2 * time.Second, 3, syscall.ENOSPC, nil, 4},
		{"grace expires", 200 * time.Millisecond, 1 << 20, syscall.ENOSPC, ErrGraceExpired, -1},
		{"no grace fails at once", 0, 1, syscall.ENOSPC, ErrGraceExpired, 1},
		{"permanent error not retried", time.Second, 1, fs.ErrExist, fs.ErrExist, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{n: tc.fails, err: tc.err}
			var paused, resumed atomic.Int32
			p := &Pause{Grace: tc.grace, Retryable: permanent,
				OnPause: func(error) { paused.Add(1) }, OnResume: func(time.Duration) { resumed.Add(1) }}
			err := p.Do(context.Background(), f.op)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Do: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.err) {
				t.Errorf("Do: %v does not wrap the cause %v", err, tc.err)
			}
			if tc.wantCalls >= 0 && f.calls.Load() != tc.wantCalls {
				t.Errorf("op called %d times, want %d", f.calls.Load(), tc.wantCalls)
			}
			if tc.wantCalls < 0 && f.calls.Load() < 2 {
				t.Errorf("op called %d times: never retried", f.calls.Load())
			}
			wantPaused := int32(0)
			if tc.fails > 0 && !errors.Is(tc.err, fs.ErrExist) {
				wantPaused = 1
			}
			if paused.Load() != wantPaused {
				t.Errorf("OnPause called %d times, want %d", paused.Load(), wantPaused)
			}
			if tc.wantErr == nil && tc.fails > 0 && resumed.Load() != 1 {
				t.Errorf("OnResume called %d times after a recovery", resumed.Load())
			}
			if busy, _ := p.Paused(); busy != (tc.wantErr != nil && wantPaused == 1) {
				t.Errorf("Paused() = %v after %v", busy, err)
			}
		})
	}
}

// The grace covers an episode: a second operation during the same outage does not get a fresh
// grace, and once expired, Do tries once without waiting; a success ends the episode.
func TestPauseEpisode(t *testing.T) {
	p := &Pause{Grace: 150 * time.Millisecond}
	down := &flaky{n: 1 << 20, err: syscall.EIO}
	start := time.Now()
	if err := p.Do(context.Background(), down.op); !errors.Is(err, ErrGraceExpired) {
		t.Fatalf("first Do: %v", err)
	}
	if d := time.Since(start); d < p.Grace {
		t.Fatalf("gave up after %v, before the grace of %v", d, p.Grace)
	}
	before := down.calls.Load()
	if err := p.Do(context.Background(), down.op); !errors.Is(err, ErrGraceExpired) {
		t.Fatalf("Do after expiry: %v", err)
	}
	if n := down.calls.Load() - before; n != 1 {
		t.Fatalf("after expiry op was tried %d times, want once", n)
	}
	if err := p.Do(context.Background(), (&flaky{}).op); err != nil {
		t.Fatalf("Do that succeeds: %v", err)
	}
	if busy, _ := p.Paused(); busy {
		t.Fatal("still paused after a success")
	}
	again := &flaky{n: 2, err: syscall.EIO}
	if err := p.Do(context.Background(), again.op); err != nil {
		t.Fatalf("a new episode gets a new grace: %v", err)
	}
}

func TestPauseContextEndsRetries(t *testing.T) {
	p := &Pause{Grace: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	down := &flaky{n: 1 << 20, err: syscall.ENOSPC}
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	err := p.Do(ctx, down.op)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Do: %v, want context.Canceled wrapping ENOSPC", err)
	}
}
