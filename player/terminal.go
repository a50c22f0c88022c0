package player

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

// RecordSource yields a recording's records in order; io.EOF at the end.
type RecordSource interface {
	Next() (eventlog.Record, error)
}

// TerminalOptions control a replay in a terminal.
type TerminalOptions struct {
	// Speed multiplies real time: 2 plays twice as fast. Zero or less means 1.
	Speed float64
	// MaxIdle caps every pause between two records (after Speed); zero keeps pauses as recorded.
	MaxIdle time.Duration
	// Sleep waits; nil means a timer that honours ctx. Tests replace it to count the pauses.
	Sleep func(ctx context.Context, d time.Duration) error
}

// PlayTerminal writes the output of a recording to w, keyframes included, pausing between records
// as the session did. Input, markers and redactions are not written: a replay shows what the user
// saw. It returns ctx's error when cancelled.
func PlayTerminal(ctx context.Context, w io.Writer, src RecordSource, opts TerminalOptions) error {
	speed := opts.Speed
	if speed <= 0 {
		speed = 1
	}
	sleep := opts.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var last time.Duration
	started := false
	for {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Type != eventlog.TypeOutput && rec.Type != eventlog.TypeKeyframe {
			continue
		}
		if started {
			d := time.Duration(float64(rec.Time-last) / speed)
			if opts.MaxIdle > 0 && d > opts.MaxIdle {
				d = opts.MaxIdle
			}
			if d > 0 {
				if err := sleep(ctx, d); err != nil {
					return err
				}
			}
		}
		started, last = true, rec.Time
		if _, err := w.Write(rec.Payload); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
