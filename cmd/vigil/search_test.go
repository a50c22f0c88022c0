package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearchCLI checks the search and reindex commands' plumbing on an empty data directory:
// flags reach the query, bad ones are named, --json is JSON. The indexing itself is tested in
// package index and, through the real gateway, in cmd/gateway (TestIndexRealSession).
func TestSearchCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if out := mustVigil(t, data, "", "reindex"); !strings.Contains(out, "indexed 0 sessions, 0 lines") {
		t.Errorf("reindex of an empty store: %q", out)
	}
	if out := mustVigil(t, data, "", "search", "nginx", "--user", "alice", "--since", "2025-01-01"); !strings.HasPrefix(out, "SESSION") || strings.Count(out, "\n") != 1 {
		t.Errorf("search of an empty index: %q", out)
	}
	out := mustVigil(t, data, "", "search", `"restart nginx"`, "--json", "--sort", "relevance")
	var res struct {
		Hits []any `json:"hits"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Hits) != 0 {
		t.Errorf("--json: %v: %q", err, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"search", "x", "--kind", "video"}, "kind"},
		{[]string{"search", "x", "--sort", "size"}, "sort"},
		{[]string{"search", "x", "--since", "yesterday"}, "since"},
		{[]string{"search", `"unclosed`}, "bad query"},
		{[]string{"reindex", "--catch-up", "abc"}, "--catch-up"},
		{[]string{"reindex", "no-such-session"}, "no-such-session"},
	} {
		out, err := vigil(t, data, "", tt.args...)
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("vigil %v: %v, %q; want an error naming %q", tt.args, err, out, tt.want)
		}
	}
}
