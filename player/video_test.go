package player

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// memVideo holds the video segments of recordings in memory.
type memVideo struct {
	segs map[string][]Segment
	data map[string]map[int][]byte // id -> segment index -> MP4
}

func (m *memVideo) VideoSegments(_ context.Context, id string) ([]Segment, error) {
	return m.segs[id], nil
}

func (m *memVideo) OpenVideo(_ context.Context, id string, i int) (io.ReadCloser, error) {
	b, ok := m.data[id][i]
	if !ok {
		return nil, fmt.Errorf("video %d of %s: %w", i, id, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func TestVideoEndpoints(t *testing.T) {
	f := newFixture(t)
	// Segment indexes interleave with the event logs': 0, 2 are video.
	f.srv.cfg.Video = &memVideo{
		segs: map[string][]Segment{"s-alice": {
			{Index: 0, Start: 0, End: 5 * time.Second, PlainBytes: 4},
			{Index: 2, Start: 5 * time.Second, End: 10 * time.Second, PlainBytes: 5},
		}},
		data: map[string]map[int][]byte{"s-alice": {0: []byte("mp4a"), 2: []byte("mp4b2")}},
	}
	alice, bob, carol := f.mustLogin(t, "alice"), f.mustLogin(t, "bob"), f.mustLogin(t, "carol")
	tests := []struct {
		name string
		c    *client
		path string
		code int
		body string
	}{
		{"list", alice, "/api/sessions/s-alice/video", 200, `{"segments":[{"index":0,"bytes":4,"start_ms":0,"end_ms":5000},{"index":2,"bytes":5,"start_ms":5000,"end_ms":10000}]}`},
		{"auditor lists", carol, "/api/sessions/s-alice/video", 200, `{"segments":[{"index":0,"bytes":4,"start_ms":0,"end_ms":5000},{"index":2,"bytes":5,"start_ms":5000,"end_ms":10000}]}`},
		{"no video", bob, "/api/sessions/s-bob/video", 200, `{"segments":[]}`},
		{"other's list", bob, "/api/sessions/s-alice/video", 403, ""},
		{"segment", alice, "/api/sessions/s-alice/video/2", 200, "mp4b2"},
		{"other's segment", bob, "/api/sessions/s-alice/video/0", 403, ""},
		{"event-log index", alice, "/api/sessions/s-alice/video/1", 404, ""},
		{"bad index", alice, "/api/sessions/s-alice/video/-1", 400, ""},
		{"not a number", alice, "/api/sessions/s-alice/video/x", 400, ""},
		{"unknown session", carol, "/api/sessions/nope/video", 404, ""},
		{"no login", nil, "/api/sessions/s-alice/video/0", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.c, "GET", tt.path, "", nil)
			if r.code != tt.code {
				t.Fatalf("%d %s, want %d", r.code, r.body, tt.code)
			}
			if tt.body != "" && strings.TrimSpace(r.body) != tt.body {
				t.Errorf("body %s, want %s", r.body, tt.body)
			}
			if tt.path == "/api/sessions/s-alice/video/2" && r.hdr.Get("Content-Type") != "video/mp4" {
				t.Errorf("content type %q", r.hdr.Get("Content-Type"))
			}
		})
	}
	if r := f.do(t, alice, "GET", "/api/sessions/s-alice/video/0", "", nil); r.code != http.StatusOK {
		t.Fatal(r.code)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.audits {
		if a.Kind == "web.replay" && a.Session == "s-alice" && a.Detail == "video" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d video replays audited, want 1 (the first segment's fetch)", n)
	}
}

// TestVideoReplayAuditedFromAnySegment: a replay that skips segment 0 is audited too, and once
// per login however many segments it fetches.
func TestVideoReplayAuditedFromAnySegment(t *testing.T) {
	f := newFixture(t)
	f.srv.cfg.Video = &memVideo{
		segs: map[string][]Segment{"s-alice": {{Index: 0}, {Index: 2}}},
		data: map[string]map[int][]byte{"s-alice": {0: []byte("mp4a"), 2: []byte("mp4b2")}},
	}
	carol := f.mustLogin(t, "carol")
	get := func(p string) {
		t.Helper()
		if r := f.do(t, carol, "GET", p, "", nil); r.code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, r.code)
		}
	}
	count := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, a := range f.audits {
			if a.Kind == "web.replay" && a.User == "carol" && a.Session == "s-alice" && a.Detail == "video" {
				n++
			}
		}
		return n
	}
	get("/api/sessions/s-alice/video/2")
	if n := count(); n != 1 {
		t.Errorf("%d replays audited after fetching segment 2 alone, want 1", n)
	}
	get("/api/sessions/s-alice/video/2")
	get("/api/sessions/s-alice/video/0")
	if n := count(); n != 1 {
		t.Errorf("%d replays audited after more segments, want still 1", n)
	}
	// Another login is another replay.
	if r := f.do(t, f.mustLogin(t, "carol"), "GET", "/api/sessions/s-alice/video/2", "", nil); r.code != http.StatusOK {
		t.Fatal(r.code)
	}
	if n := count(); n != 2 {
		t.Errorf("%d replays audited after a second login, want 2", n)
	}
}
