package capture

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFailStopsProducersWithTheCause(t *testing.T) {
	r, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rd := r.NewReader(Lossless)
	p := r.NewProducer()
	if _, err := p.ReadEvent(strings.NewReader("before"), TypeOutput, 0); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("spool full")
	r.Fail(cause)
	r.Fail(errors.New("second cause is ignored"))
	for name, op := range map[string]func() error{
		"ReadEvent": func() error { _, err := p.ReadEvent(strings.NewReader("after"), TypeOutput, 0); return err },
		"Write":     func() error { _, err := p.Write(TypeMarker, 0, []byte("x")); return err },
	} {
		if err := op(); !errors.Is(err, cause) || !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Fail = %v, want ErrClosed wrapping the cause", name, err)
		}
	}
	if !errors.Is(r.Err(), cause) {
		t.Errorf("Err() = %v", r.Err())
	}
	ev, err := rd.Next(context.Background())
	if err != nil || string(ev.Payload) != "before" {
		t.Fatalf("reader after Fail: %q, %v; want the committed event", ev.Payload, err)
	}
	if _, err := rd.Next(context.Background()); err != io.EOF {
		t.Errorf("reader after draining = %v, want io.EOF", err)
	}
}
