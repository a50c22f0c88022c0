package encode

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/term"
)

func TestChannelsTerminal(t *testing.T) {
	marker := func(ch uint16, json string) capture.Event {
		return capture.Event{Type: capture.TypeMarker, Channel: ch, Payload: []byte(json)}
	}
	out := func(ch uint16) capture.Event { return capture.Event{Type: capture.TypeOutput, Channel: ch} }
	var c Channels
	steps := []struct {
		ev   capture.Event
		want bool
	}{
		{out(0), true}, // undescribed: a terminal
		{marker(0, `{"kind":"shell"}`), true},
		{marker(1, `{"kind":"subsystem","name":"sftp"}`), false},
		{out(1), false},
		{out(0), true},
		{marker(2, `{"kind":"exec","command":"scp -t /tmp"}`), false},
		{out(2), false},
		{marker(3, `{"kind":"exec","command":"uptime"}`), true},
		{marker(4, `{"kind":"channel","type":"direct-tcpip"}`), false},
		{out(4), false},
		{marker(1, `{"kind":"exec","command":"ls"}`), true}, // channel id 1 reused by a command
		{out(1), true},
		{marker(5, `not json`), true},
	}
	for i, s := range steps {
		if got := c.Terminal(s.ev); got != s.want {
			t.Errorf("step %d (%v on %d %q): Terminal = %v, want %v", i, s.ev.Type, s.ev.Channel, s.ev.Payload, got, s.want)
		}
	}
}

// TestRecorderKeepsTransfersOffTheScreen: the bytes of an sftp channel beside a shell never reach
// a keyframe; the shell's output does, and every byte is still recorded.
func TestRecorderKeepsTransfersOffTheScreen(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	run := startRecorder(t, ring, sink, Options{SegmentDuration: time.Hour, SegmentBytes: 4 << 10}, nil)
	p := ring.NewProducer()
	write := func(typ capture.Type, ch uint16, s string) {
		t.Helper()
		if _, err := p.Write(typ, ch, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write(capture.TypeMarker, 0, `{"kind":"shell"}`)
	write(capture.TypeOutput, 0, "$ echo SHELL-LINE\r\nSHELL-LINE\r\n$ ")
	write(capture.TypeMarker, 1, `{"kind":"subsystem","name":"sftp"}`)
	file := strings.Repeat("FILE-CONTENT ", 400) // over one segment, so a keyframe follows it
	for i := 0; i < len(file); i += 1000 {
		write(capture.TypeOutput, 1, file[i:min(i+1000, len(file))])
	}
	write(capture.TypeOutput, 0, "after\r\n")
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	if len(sink.segs) < 2 {
		t.Fatalf("%d segments: the test needs a keyframe after the transfer", len(sink.segs))
	}
	r, err := eventlog.NewReader(bytes.NewReader(sink.segs[len(sink.segs)-1]))
	if err != nil {
		t.Fatal(err)
	}
	kf, err := r.Next()
	if err != nil || kf.Type != eventlog.TypeKeyframe {
		t.Fatalf("first record: %v %v", kf.Type, err)
	}
	s := term.NewScreen(80, 24)
	s.Write(kf.Payload)
	screen := strings.Join(s.Text(), "\n")
	if strings.Contains(screen, "FILE-CONTENT") || !strings.Contains(screen, "SHELL-LINE") {
		t.Errorf("keyframe after an sftp transfer shows:\n%s", screen)
	}
	var recorded int
	rs := NewRecords(sink.readers())
	for {
		rec, err := rs.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Channel == 1 && rec.Type == eventlog.TypeOutput {
			recorded += len(rec.Payload)
		}
	}
	if recorded != len(file) {
		t.Errorf("recorded %d bytes of the transfer, sent %d", recorded, len(file))
	}
}
