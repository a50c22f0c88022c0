package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/desktop"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
)

// TestLiveTableDesktops: `vigil live` shows a graphical session's protocol, front end and size in
// pixels beside text sessions' columns and rows; the rows come from the gateway's own types as
// the control socket encodes them, so a change of their JSON shows here.
func TestLiveTableDesktops(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var raw []json.RawMessage
	for _, v := range []any{
		proxyssh.LiveSession{ID: "t1", User: "alice", Target: "web01", Account: "root", Start: start, Cols: 120, Rows: 40},
		desktop.LiveSession{ID: "g1", User: "bob", Target: "win1", Account: "admin", Protocol: "rdp", Via: "web",
			Start: start, Width: 1280, Height: 720, Paused: true},
		desktop.LiveSession{ID: "g2", User: "carol", Target: "desk1", Account: "vnc", Protocol: "vnc", Via: "rfb",
			Start: start, Width: 1024, Height: 768},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
	}
	rows, err := decodeLive(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := writeLive(&out, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", out.String())
	}
	for i, want := range [][]string{
		{"SESSION", "PROTOCOL", "SIZE", "STATE"},
		{"t1", "web01", "text", "120x40", "running"},
		{"g1", "win1", "rdp (web)", "1280x720 px", "paused"},
		{"g2", "desk1", "vnc (rfb)", "1024x768 px", "running"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	if _, err := decodeLive([]json.RawMessage{json.RawMessage(`{"id":1}`)}); err == nil {
		t.Error("a malformed entry decoded")
	}
}
