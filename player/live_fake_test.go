package player

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// fakeLive is a gateway with live sessions that records every action it is asked to take.
type fakeLive struct {
	mu       sync.Mutex
	sessions map[string]*LiveInfo
	calls    []string // "pause id by reason", ...
	shadows  int
}

func newFakeLive() *fakeLive {
	return &fakeLive{sessions: map[string]*LiveInfo{
		"l-alice": {ID: "l-alice", User: "alice", Target: "web01", Start: t0, Cols: 80, Rows: 24},
		"l-bob":   {ID: "l-bob", User: "bob", Target: "db01", Start: t0, Cols: 80, Rows: 24},
	}}
}

func (f *fakeLive) List(context.Context) ([]LiveInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []LiveInfo
	for _, li := range f.sessions {
		out = append(out, *li)
	}
	return out, nil
}

func (f *fakeLive) get(op, id string) (*LiveInfo, error) {
	li := f.sessions[id]
	if li == nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, ErrNotFound)
	}
	return li, nil
}

// Pause and Resume toggle with no conflict check unless strict: the role table calls them in
// random order.
func (f *fakeLive) Pause(_ context.Context, id, by, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	li, err := f.get("pause", id)
	if err != nil {
		return err
	}
	if li.Paused && id == "l-bob" {
		return fmt.Errorf("pause %s: %w", id, ErrConflict)
	}
	li.Paused = true
	f.calls = append(f.calls, fmt.Sprintf("pause %s %s %s", id, by, reason))
	return nil
}

func (f *fakeLive) Resume(_ context.Context, id, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	li, err := f.get("resume", id)
	if err != nil {
		return err
	}
	li.Paused = false
	f.calls = append(f.calls, fmt.Sprintf("resume %s %s", id, by))
	return nil
}

func (f *fakeLive) Terminate(_ context.Context, id, by, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get("terminate", id); err != nil {
		return err
	}
	f.calls = append(f.calls, fmt.Sprintf("terminate %s %s %s", id, by, reason))
	return nil
}

// ServeShadow stands for the gateway's websocket: it answers 200 with the id, so the tests see
// that the request got through the server's checks.
func (f *fakeLive) ServeShadow(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	_, err := f.get("shadow", id)
	if err == nil {
		f.shadows++
	}
	f.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusNotFound, "no such live session")
		return
	}
	w.Write([]byte("shadow " + id + " " + time.Now().Format(time.RFC3339)))
}

func (f *fakeLive) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
