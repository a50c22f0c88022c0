package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestParseSCP(t *testing.T) {
	tests := []struct {
		cmd   string
		to    bool
		dirs  bool
		paths []string
		err   bool
	}{
		{cmd: "scp -t /tmp/x", to: true, paths: []string{"/tmp/x"}},
		{cmd: "scp -f /tmp/x", paths: []string{"/tmp/x"}},
		{cmd: "scp -v -r -p -d -t -- /tmp/x", to: true, dirs: true, paths: []string{"/tmp/x"}},
		{cmd: "/usr/bin/scp -pf a 'b c' d\\ e", paths: []string{"a", "b c", "d e"}},
		{cmd: `scp -t "/tmp/q \"x\""`, to: true, paths: []string{`/tmp/q "x"`}},
		{cmd: "scp -d -t .", to: true, dirs: true, paths: []string{"."}},
		{cmd: "ls -l", err: true},
		{cmd: "", err: true},
		{cmd: "scp", err: true},
		{cmd: "scp -t", err: true},
		{cmd: "scp -t a b", err: true},
		{cmd: "scp -f", err: true},
		{cmd: "scp -t -f x", err: true},
		{cmd: "scp x y", err: true},
		{cmd: "scp -t 'unterminated", err: true},
		{cmd: "internal-sftp", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			c, err := parseSCP(tc.cmd)
			if tc.err {
				if !errors.Is(err, ErrNotSCP) {
					t.Fatalf("err = %v, want ErrNotSCP", err)
				}
				if _, err := NewSCP(tc.cmd, func(Event) {}); !errors.Is(err, ErrNotSCP) {
					t.Fatalf("NewSCP err = %v, want ErrNotSCP", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.to != tc.to || c.dirs != tc.dirs || strings.Join(c.paths, "|") != strings.Join(tc.paths, "|") {
				t.Fatalf("got %+v", c)
			}
		})
	}
}

func TestSCPPaths(t *testing.T) {
	tests := []struct {
		cmd, name, want string
	}{
		{"scp -t /tmp/x", "a.txt", "/tmp/x"},
		{"scp -t /tmp/", "a.txt", "/tmp/a.txt"},
		{"scp -t .", "a.txt", "a.txt"},
		{"scp -d -t /tmp", "a.txt", "/tmp/a.txt"},
		{"scp -f /srv/a.txt", "a.txt", "/srv/a.txt"},
		{"scp -f /srv/b.txt /srv/a.txt", "a.txt", "/srv/a.txt"},
		{"scp -f /srv/*.txt", "c.txt", "/srv/c.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			var got []Event
			o, err := NewSCP(tc.cmd, func(e Event) { got = append(got, e) })
			if err != nil {
				t.Fatal(err)
			}
			recs := scpUploadRecs(tc.name, []byte("hi"))
			for _, r := range recs {
				// scpUploadRecs has the client as the source; for -f the target is.
				if (r.kind == recClient) == strings.Contains(tc.cmd, "-t") {
					o.FromClient(r.data)
				} else {
					o.FromServer(r.data)
				}
			}
			if len(got) != 1 || got[0].Path != tc.want || got[0].SHA256 != sum([]byte("hi")) {
				t.Fatalf("got %+v, want path %s", got, tc.want)
			}
		})
	}
}

func TestSCPSinkErrors(t *testing.T) {
	var got []Event
	o, _ := NewSCP("scp -t /ro", func(e Event) { got = append(got, e) })
	o.FromServer([]byte{0})
	o.FromClient([]byte("C0644 2 a\n"))
	o.FromServer([]byte("\x01scp: /ro: Permission denied\n"))
	// The source skips the refused file and goes on with the next.
	o.FromClient([]byte("C0644 3 b\n"))
	o.FromServer([]byte{0})
	o.FromClient([]byte("xyz\x00"))
	o.FromServer([]byte("\x01scp: /ro: No space left on device\n"))
	if len(got) != 2 {
		t.Fatalf("events: %+v", got)
	}
	if got[0].Err != "rejected: scp: /ro: Permission denied" || got[0].SHA256 != "" {
		t.Errorf("rejected file: %+v", got[0])
	}
	if !strings.HasPrefix(got[1].Err, "failed: ") || got[1].SHA256 != "" || got[1].Size != 3 {
		t.Errorf("failed file: %+v", got[1])
	}
}

func TestSCPUnparsable(t *testing.T) {
	tests := []struct{ name, client string }{
		{"garbage", "hello\n"},
		{"bad size", "C0644 -1 a\n"},
		{"bad mode", "C06x4 1 a\n"},
		{"no name", "C0644 1 \n"},
		{"E outside", "E\n"},
		{"long line", "C0644 1 " + strings.Repeat("a", maxLine)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []Event
			o, _ := NewSCP("scp -t /x", func(e Event) { got = append(got, e) })
			o.FromServer([]byte{0})
			o.FromClient([]byte(tc.client))
			o.FromClient([]byte("C0644 1 a\n"))
			o.FromServer([]byte{0})
			o.FromClient([]byte("z\x00"))
			o.FromServer([]byte{0})
			if len(got) != 1 || !strings.HasPrefix(got[0].Err, "unparsable stream: ") {
				t.Fatalf("events: %+v", got)
			}
		})
	}
}

func feedRecs(o Observer, recs []record) {
	for _, r := range recs {
		if r.kind == recServer {
			o.FromServer(r.data)
		} else if r.kind == recClient {
			o.FromClient(r.data)
		}
	}
}

func TestSFTPSynthetic(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	tests := []struct {
		name string
		recs []record
		want []Event
	}{
		{"upload", uploadRecs("/u", content, 32768),
			[]Event{{Protocol: "sftp", Op: "upload", Path: "/u", Size: int64(len(content)), SHA256: sum(content)}}},
		{"download", downloadRecs("/d", content, 32768),
			[]Event{{Protocol: "sftp", Op: "download", Path: "/d", Size: int64(len(content)), SHA256: sum(content)}}},
		{"empty download", downloadRecs("/e", nil, 32768),
			[]Event{{Protocol: "sftp", Op: "download", Path: "/e", SHA256: sum(nil)}}},
		{"seek", []record{
			{recClient, open3(1, "/s", fxfWrite)}, {recServer, handle(1, "h")},
			{recClient, write(2, "h", 10, []byte("abc"))}, {recClient, write(3, "h", 0, []byte("0123456789"))},
			{recClient, closeH(4, "h")}, {recServer, status(4, fxOK, "")},
		}, []Event{{Protocol: "sftp", Op: "upload", Path: "/s", Size: 13}}},
		{"download without eof", []record{
			{recClient, open3(1, "/p", fxfRead)}, {recServer, handle(1, "h")},
			{recClient, read(2, "h", 0, 4)}, {recServer, data(2, []byte("abcd"))},
			{recClient, closeH(3, "h")}, {recServer, status(3, fxOK, "")},
		}, []Event{{Protocol: "sftp", Op: "download", Path: "/p", Size: 4}}},
		{"reply before request is ignored", []record{
			{recClient, open3(1, "/r", fxfRead)}, {recServer, handle(1, "h")},
			{recServer, data(2, []byte("abcd"))}, {recClient, read(2, "h", 0, 4)},
			{recClient, read(3, "h", 4, 4)}, {recServer, status(3, fxEOF, "")},
			{recClient, closeH(4, "h")}, {recServer, status(4, fxOK, "")},
		}, []Event{{Protocol: "sftp", Op: "download", Path: "/r"}}},
		{"open refused", []record{
			{recClient, open3(1, "/etc/shadow", fxfRead)}, {recServer, status(1, 3, "Permission denied")},
		}, []Event{{Protocol: "sftp", Op: "download", Path: "/etc/shadow", Err: "failed: Permission denied (status 3)"}}},
		{"write error", []record{
			{recClient, open3(1, "/w", fxfWrite)}, {recServer, handle(1, "h")},
			{recClient, write(2, "h", 0, []byte("ab"))}, {recServer, status(2, 4, "Failure")},
			{recClient, closeH(3, "h")}, {recServer, status(3, fxOK, "")},
		}, []Event{{Protocol: "sftp", Op: "upload", Path: "/w", Size: 2, Err: "failed: Failure (status 4)"}}},
		{"oversized packet stops", []record{
			{recClient, []byte{0, 0x10, 0, 0, fxpInit}},
			{recClient, open3(1, "/x", fxfRead)}, {recServer, status(1, 3, "no")},
		}, []Event{{Protocol: "sftp", Err: "unparsable stream: client packet of 1048576 bytes"}}},
		{"zero length stops", []record{
			{recServer, []byte{0, 0, 0, 0}},
		}, []Event{{Protocol: "sftp", Err: "unparsable stream: server packet of 0 bytes"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, cut := range []int{0, 1, 3, 4, 5, 9, 32768 + 12, 32768 + 13, 32768 + 14} {
				got := collect(NewSFTP, tc.recs, cut)
				if err := sameEvents(got, tc.want); err != nil {
					t.Fatalf("chunks of %d: %v", cut, err)
				}
			}
		})
	}
}

// TestSFTPBounded checks the caps on handles, requests and buffered bytes.
func TestSFTPBounded(t *testing.T) {
	var got []Event
	o := NewSFTP(func(e Event) { got = append(got, e) }).(*sftpObserver)
	for i := uint32(0); i < maxHandles+10; i++ {
		o.FromClient(open3(i, "/f", fxfRead))
		o.FromServer(handle(i, "h"+strings.Repeat("x", int(i))))
	}
	if len(o.handles) != maxHandles || len(got) != 10 || !strings.HasPrefix(got[0].Err, "not followed") {
		t.Fatalf("handles %d, events %d", len(o.handles), len(got))
	}
	for i := uint32(1000); i < 1000+2*maxRequests; i++ {
		o.FromClient(read(i, "h", uint64(i), 1))
	}
	if len(o.reqs) > maxRequests {
		t.Fatalf("%d requests tracked, cap %d", len(o.reqs), maxRequests)
	}
	big := make([]byte, maxPacket-100)
	p := write(1, "h", 0, big)
	o.FromClient(p[:len(p)-1])
	if cap(o.client.buf) > maxPacket+4+maxPacket/4 {
		t.Fatalf("buffer cap %d", cap(o.client.buf))
	}
}

// TestConcurrentFeeds drives both directions from two goroutines, as the gateway's two pumps do;
// under -race it checks the observers' locking.
func TestConcurrentFeeds(t *testing.T) {
	// The gateway feeds each direction from its own pump goroutine. Under -race this shows the
	// observers' locking holds, and the transfer is still reported right.
	tests := []struct {
		name string
		new  func(emit func(Event)) (Observer, error)
		recs []record
		path string
		size int64
	}{
		{"sftp", func(emit func(Event)) (Observer, error) { return NewSFTP(emit), nil },
			uploadRecs("/u", bytes.Repeat([]byte("x"), 100000), 1000), "/u", 100000},
		{"scp", func(emit func(Event)) (Observer, error) { return NewSCP("scp -t /t", emit) },
			scpUploadRecs("f", []byte("abc")), "/t", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var events []Event
			o, err := tt.new(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
			if err != nil {
				t.Fatal(err)
			}
			// Each side sends only after what it has received: a record waits for the other
			// side's records before it, and runs concurrently with its own side's neighbours
			// (pipelined writes, their replies).
			feed := func(side byte, deliver func([]byte), mine, theirs chan struct{}) {
				seen, before := 0, 0
				for _, r := range tt.recs {
					if r.kind != side {
						before++
						continue
					}
					for ; seen < before; seen++ {
						<-theirs
					}
					deliver(r.data)
					mine <- struct{}{}
				}
			}
			fromClient, fromServer := make(chan struct{}, len(tt.recs)), make(chan struct{}, len(tt.recs))
			done := make(chan struct{})
			go func() { defer close(done); feed(recServer, o.FromServer, fromServer, fromClient) }()
			feed(recClient, o.FromClient, fromClient, fromServer)
			<-done
			mu.Lock()
			defer mu.Unlock()
			if len(events) != 1 || events[0].Err != "" || events[0].Path != tt.path || events[0].Size != tt.size {
				t.Errorf("concurrent feed reported %+v; want one upload of %s, %d bytes", events, tt.path, tt.size)
			}
		})
	}
}
