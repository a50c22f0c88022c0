package index

import (
	"context"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
)

// TestFeedSkipsTransferChannels: what passes on an sftp channel beside a shell - file contents,
// and input that holds a CR - is neither screen text nor a command; the shell's command is.
func TestFeedSkipsTransferChannels(t *testing.T) {
	ix := openTest(t)
	f := ix.Feed(SessionInfo{ID: "s-transfer", User: "alice", Target: "web01", Protocol: "ssh", Start: time.Now()}, 80, 24)
	at := time.Duration(0)
	ev := func(typ capture.Type, ch uint16, p string) {
		at += 100 * time.Millisecond
		f.Event(capture.Event{Time: at, Type: typ, Channel: ch, Payload: []byte(p)})
	}
	ev(capture.TypeMarker, 0, `{"kind":"shell"}`)
	ev(capture.TypeOutput, 0, "$ ")
	ev(capture.TypeMarker, 1, `{"kind":"subsystem","name":"sftp"}`)
	ev(capture.TypeInput, 1, "upload-xyzzy-path\r")
	ev(capture.TypeOutput, 1, "file-plugh-content\r\n")
	for _, c := range "echo shell-frotz\r" {
		ev(capture.TypeInput, 0, string(c))
		if c == '\r' {
			ev(capture.TypeOutput, 0, "\r\nshell-frotz\r\n$ ")
		} else {
			ev(capture.TypeOutput, 0, string(c))
		}
	}
	at += 5 * time.Second // settle
	ev(capture.TypeOutput, 0, "")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	search := func(q string) int {
		t.Helper()
		res, err := ix.Search(context.Background(), Query{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Hits)
	}
	deadline := time.Now().Add(10 * time.Second)
	for search("shell-frotz") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the shell's command was never indexed: the test would show nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, q := range []string{"file-plugh-content", "upload-xyzzy-path"} {
		if n := search(q); n != 0 {
			t.Errorf("%q from the sftp channel is indexed (%d hits)", q, n)
		}
	}
}
