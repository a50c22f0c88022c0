package transfer

import (
	"bytes"
	"testing"
)

// fuzzRecords reads a fuzz input as records: a direction byte (even: client, odd: server), a
// length byte, then that many bytes.
func fuzzRecords(b []byte) []record {
	var recs []record
	for len(b) >= 2 {
		kind := byte(recClient)
		if b[0]%2 == 1 {
			kind = recServer
		}
		n := min(int(b[1]), len(b)-2)
		recs = append(recs, record{kind, b[2 : 2+n]})
		b = b[2+n:]
	}
	return recs
}

// encodeRecords is the inverse of fuzzRecords, for seeds.
func encodeRecords(recs []record) []byte {
	var b []byte
	for _, r := range recs {
		dir := byte(0)
		if r.kind == recServer {
			dir = 1
		}
		for d := r.data; ; {
			n := min(len(d), 255)
			b = append(b, dir, byte(n))
			b = append(b, d[:n]...)
			d = d[n:]
			if len(d) == 0 {
				break
			}
		}
	}
	return b
}

// checkObserver feeds recs as given and re-cut, requiring the same events, and checks the bounds.
func checkObserver(t *testing.T, newObs func(func(Event)) Observer, recs []record, cut int) {
	want := collect(newObs, recs, 0)
	got := collect(newObs, recs, cut)
	if err := sameEvents(got, want); err != nil {
		t.Fatalf("chunks of %d: %v", cut, err)
	}
	// Everything as one stream per direction switch, merged: also the same.
	var merged []record
	for _, r := range recs {
		if n := len(merged); n > 0 && merged[n-1].kind == r.kind {
			merged[n-1].data = append(bytes.Clone(merged[n-1].data), r.data...)
			continue
		}
		merged = append(merged, record{r.kind, r.data})
	}
	if err := sameEvents(collect(newObs, merged, 0), want); err != nil {
		t.Fatalf("merged: %v", err)
	}
}

func FuzzSFTP(f *testing.F) {
	f.Add(encodeRecords(uploadRecs("/u", []byte("hello world"), 4)), uint8(3))
	f.Add(encodeRecords(downloadRecs("/d", []byte("hello world"), 5)), uint8(1))
	f.Add(encodeRecords([]record{
		{recClient, pkt(fxpRename, uint32(7), "/a", "/b")}, {recServer, status(7, fxOK, "")},
		{recClient, pkt(fxpExtended, uint32(8), "posix-rename@openssh.com", "/b", "/c")},
		{recServer, status(8, fxOK, "")},
		{recClient, pkt(fxpMkdir, uint32(9), "/m", uint32(0))}, {recServer, status(9, 4, "x")},
	}), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		recs := fuzzRecords(in)
		checkObserver(t, NewSFTP, recs, int(cut)+1)
		o := NewSFTP(func(Event) {}).(*sftpObserver)
		feedRecs(o, recs)
		if len(o.reqs) > maxRequests || len(o.handles) > maxHandles ||
			cap(o.client.buf) > 2*(maxPacket+4) || cap(o.server.buf) > 2*(maxPacket+4) {
			t.Fatalf("bounds: %d requests, %d handles", len(o.reqs), len(o.handles))
		}
	})
}

var fuzzSCPCommands = []string{"scp -t /t", "scp -r -t /t", "scp -f /a /b", "scp -r -p -f /d"}

func FuzzSCP(f *testing.F) {
	f.Add(encodeRecords(scpUploadRecs("a", []byte("hello"))), uint8(0), uint8(2))
	f.Add(encodeRecords([]record{
		{recServer, []byte{0}}, {recClient, []byte("D0755 0 d\n")}, {recServer, []byte{0}},
		{recClient, []byte("T1 0 2 0\n")}, {recServer, []byte{0}},
		{recClient, []byte("C0600 3 f\n")}, {recServer, []byte{0}}, {recClient, []byte("abc\x00")},
		{recServer, []byte{0}}, {recClient, []byte("E\n")}, {recServer, []byte("\x02no\n")},
	}), uint8(1), uint8(4))
	f.Fuzz(func(t *testing.T, in []byte, which, cut uint8) {
		cmd := fuzzSCPCommands[int(which)%len(fuzzSCPCommands)]
		newObs := func(emit func(Event)) Observer {
			o, err := NewSCP(cmd, emit)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		recs := fuzzRecords(in)
		checkObserver(t, newObs, recs, int(cut)+1)
		o, _ := NewSCP(cmd, func(Event) {})
		feedRecs(o, recs)
		s := o.(*scpObserver)
		if len(s.line) > maxLine || len(s.smsg) > maxLine || len(s.dirs) > maxDepth {
			t.Fatalf("bounds: line %d, msg %d, depth %d", len(s.line), len(s.smsg), len(s.dirs))
		}
	})
}
