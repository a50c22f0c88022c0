package encode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// TestEverySegmentDecodesAlone: a player that opens any one segment and paints its keyframe, then
// its records, shows the same screen as one that replayed the whole session up to that segment's end.
func TestEverySegmentDecodesAlone(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	run := startRecorder(t, ring, sink, Options{SegmentDuration: time.Hour, SegmentBytes: 1 << 10}, nil)
	p := ring.NewProducer()
	write := func(s string) {
		if _, err := p.ReadEvent(bytes.NewReader([]byte(s)), capture.TypeOutput, 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 120; i++ {
		write(fmt.Sprintf("\x1b[1;32muser@host\x1b[0m:~$ ls -l dir%d\r\n", i))
		write(fmt.Sprintf("total %d\r\n-rw-r--r-- 1 user user %6d Nov 22 file-%03d.txt\r\n", i, i*37, i))
		if i%30 == 29 { // a full-screen program now and then
			write("\x1b[?1049h\x1b[2J\x1b[H\x1b[7m top - load average \x1b[0m\r\n  PID USER  %CPU\r\n")
			write("\x1b[?1049l")
		}
	}
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	if len(sink.segs) < 4 {
		t.Fatalf("%d segments: the test needs several", len(sink.segs))
	}
	if run.sum.ScreenResyncs != 0 {
		t.Fatalf("%d resyncs: this slow session should stay within the emulator's budget", run.sum.ScreenResyncs)
	}
	full := term.NewScreen(80, 24)
	for n, seg := range sink.segs {
		alone := term.NewScreen(80, 24)
		r, err := eventlog.NewReader(bytes.NewReader(seg))
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch rec.Type {
			case eventlog.TypeKeyframe:
				alone.Write(rec.Payload)
			case eventlog.TypeOutput:
				alone.Write(rec.Payload)
				full.Write(rec.Payload)
			}
		}
		if got, want := alone.Text(), full.Text(); !slices.Equal(got, want) {
			t.Fatalf("segment %d alone shows\n%q\nthe whole replay shows\n%q", n, got, want)
		}
	}
}

// TestFloodDoesNotWaitForTheEmulator: a flood far beyond the emulator's budget is recorded whole,
// and the keyframe after it still shows the flood's last lines (made from the tail).
func TestFloodDoesNotWaitForTheEmulator(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	run := startRecorder(t, ring, sink, Options{SegmentDuration: time.Hour, SegmentBytes: 1 << 20}, nil)
	p := ring.NewProducer()
	var sent int
	for i := 0; sent < 24<<20; i++ {
		line := []byte(fmt.Sprintf("flood line %09d %s\r\n", i, bytes.Repeat([]byte("x"), 200)))
		if _, err := p.ReadEvent(bytes.NewReader(line), capture.TypeOutput, 0); err != nil {
			t.Fatal(err)
		}
		sent += len(line)
	}
	if _, err := p.ReadEvent(bytes.NewReader([]byte("LAST LINE\r\n")), capture.TypeOutput, 0); err != nil {
		t.Fatal(err)
	}
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	if run.sum.OutputBytes != int64(sent+len("LAST LINE\r\n")) {
		t.Errorf("recorded %d output bytes, sent %d", run.sum.OutputBytes, sent+11)
	}
	if run.sum.ScreenResyncs == 0 {
		t.Error("no resync: the flood did not exceed the emulator's budget, so this test shows nothing")
	}
	last := sink.segs[len(sink.segs)-1]
	r, err := eventlog.NewReader(bytes.NewReader(last))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil || rec.Type != eventlog.TypeKeyframe {
		t.Fatalf("first record of the last segment: %v, %v", rec.Type, err)
	}
	s := term.NewScreen(80, 24)
	s.Write(rec.Payload)
	if !bytes.Contains([]byte(fmt.Sprint(s.Text())), []byte("flood line")) {
		t.Errorf("keyframe after a flood shows no flood output: %q", s.Text())
	}
}
