package player

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
)

type sliceSource []eventlog.Record

func (s *sliceSource) Next() (eventlog.Record, error) {
	if len(*s) == 0 {
		return eventlog.Record{}, io.EOF
	}
	r := (*s)[0]
	*s = (*s)[1:]
	return r, nil
}

func TestPlayTerminalTimingAndContent(t *testing.T) {
	recs := []eventlog.Record{
		{Time: 0, Type: eventlog.TypeKeyframe, Payload: []byte("\x1b[H\x1b[2J")},
		{Time: 100 * time.Millisecond, Type: eventlog.TypeOutput, Payload: []byte("$ ")},
		{Time: 200 * time.Millisecond, Type: eventlog.TypeInput, Payload: []byte("l")},
		{Time: 300 * time.Millisecond, Type: eventlog.TypeOutput, Payload: []byte("l")},
		{Time: 10 * time.Second, Type: eventlog.TypeOutput, Payload: []byte("s\r\n")},
		{Time: 10*time.Second + time.Millisecond, Type: eventlog.TypeMarker, Payload: []byte(`{"kind":"x"}`)},
	}
	tests := []struct {
		name   string
		opts   TerminalOptions
		pauses []time.Duration
	}{
		{"real time", TerminalOptions{}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 9700 * time.Millisecond}},
		{"twice as fast", TerminalOptions{Speed: 2}, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 4850 * time.Millisecond}},
		{"skip idle", TerminalOptions{MaxIdle: time.Second}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pauses []time.Duration
			tt.opts.Sleep = func(_ context.Context, d time.Duration) error { pauses = append(pauses, d); return nil }
			src := sliceSource(append([]eventlog.Record(nil), recs...))
			var out bytes.Buffer
			if err := PlayTerminal(context.Background(), &out, &src, tt.opts); err != nil {
				t.Fatal(err)
			}
			if out.String() != "\x1b[H\x1b[2J$ ls\r\n" {
				t.Errorf("output %q: input or markers leaked, or output lost", out.String())
			}
			if len(pauses) != len(tt.pauses) {
				t.Fatalf("pauses %v, want %v", pauses, tt.pauses)
			}
			for i := range pauses {
				if pauses[i] != tt.pauses[i] {
					t.Errorf("pause %d = %v, want %v", i, pauses[i], tt.pauses[i])
				}
			}
		})
	}
}

func TestPlayTerminalStopsOnCancel(t *testing.T) {
	src := sliceSource{{Time: 0, Type: eventlog.TypeOutput, Payload: []byte("a")}, {Time: time.Hour, Type: eventlog.TypeOutput, Payload: []byte("b")}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := PlayTerminal(ctx, &out, &src, TerminalOptions{}); err != context.Canceled {
		t.Fatalf("PlayTerminal = %v, want context.Canceled", err)
	}
	if out.String() != "a" {
		t.Errorf("output %q, want only what came before the pause", out.String())
	}
}
