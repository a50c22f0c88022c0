package player

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/index"
)

// fakeAuth knows users by password; hash stands for what a real store keeps and must never leak.
// Tests change users (set, drop) while the server runs, hence the lock.
type fakeAuth struct {
	mu    sync.Mutex
	users map[string]fakeUser
	down  error // when set, User fails with it: the store cannot answer
}

func (a *fakeAuth) set(name string, u fakeUser) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[name] = u
}

func (a *fakeAuth) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.down = err
}

func (a *fakeAuth) drop(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, name)
}

func (a *fakeAuth) User(_ context.Context, name string) (User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down != nil {
		return User{}, a.down
	}
	u, ok := a.users[name]
	if !ok {
		return User{}, fmt.Errorf("fake: %q: %w", name, ErrNotFound)
	}
	return User{Name: name, Role: u.role}, nil
}

type fakeUser struct {
	pw, hash, totp string
	role           Role
}

func (a *fakeAuth) AuthenticatePassword(_ context.Context, name string, pw []byte) (User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	if !ok || u.pw != string(pw) {
		return User{}, fmt.Errorf("fake: %w", ErrBadCredentials)
	}
	return User{Name: name, Role: u.role}, nil
}

func (a *fakeAuth) TOTPSecret(_ context.Context, name string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[name].totp, nil
}

// memSessions holds synthetic recordings in memory, as plaintext segments.
type memSessions struct {
	mu       sync.Mutex
	info     map[string]SessionInfo
	segs     map[string][]Segment
	data     map[string][][]byte
	verifies int
	broken   map[string]bool
}

func newMemSessions() *memSessions {
	return &memSessions{info: map[string]SessionInfo{}, segs: map[string][]Segment{}, data: map[string][][]byte{}, broken: map[string]bool{}}
}

func (m *memSessions) List(context.Context) ([]SessionInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []SessionInfo
	for _, si := range m.info {
		out = append(out, si)
	}
	return out, nil
}

func (m *memSessions) Get(_ context.Context, id string) (SessionInfo, []Segment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	si, ok := m.info[id]
	if !ok {
		return SessionInfo{}, nil, fmt.Errorf("get %s: %w", id, ErrNotFound)
	}
	return si, m.segs[id], nil
}

func (m *memSessions) OpenSegment(_ context.Context, id string, i int) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.data[id]
	if i < 0 || i >= len(d) {
		return nil, fmt.Errorf("segment %d of %s: %w", i, id, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(d[i])), nil
}

func (m *memSessions) Verify(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.verifies++
	if _, ok := m.info[id]; !ok {
		return ErrNotFound
	}
	if m.broken[id] {
		return fmt.Errorf("segment 0: hash mismatch")
	}
	return nil
}

// synth describes a synthetic terminal session: segments of segLen, each starting with a keyframe
// that shows "segment N", then an output line every step.
type synth struct {
	id, user, target string
	start            time.Time
	length, segLen   time.Duration
	step             time.Duration
}

// add writes s's segments with the real event log writer.
func (m *memSessions) add(s synth) {
	var segs []Segment
	var data [][]byte
	for i, at := 0, time.Duration(0); at < s.length; i, at = i+1, at+s.segLen {
		end := min(at+s.segLen, s.length)
		var buf bytes.Buffer
		h := eventlog.Header{SessionID: s.id, Segment: i, User: s.user, Target: s.target, Protocol: "ssh",
			Start: s.start, Offset: at, Cols: 80, Rows: 24}
		w, err := eventlog.NewWriter(&buf, h, []byte(fmt.Sprintf("\x1b[H\x1b[2Jsegment %d\r\n", i)))
		if err != nil {
			panic(err)
		}
		n := 0
		for t := at + s.step; t < end; t += s.step {
			line := fmt.Sprintf("line at %dms\r\n", t.Milliseconds())
			if err := w.Write(eventlog.Record{Time: t, Type: eventlog.TypeOutput, Payload: []byte(line)}); err != nil {
				panic(err)
			}
			n++
		}
		if err := w.Close(); err != nil {
			panic(err)
		}
		segs = append(segs, Segment{Index: i, Start: at, End: end, PlainBytes: int64(buf.Len())})
		data = append(data, buf.Bytes())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.info[s.id] = SessionInfo{ID: s.id, User: s.user, Target: s.target, Protocol: "ssh", Start: s.start,
		Duration: s.length, Bytes: int64(len(data) * 100), Cause: "user exit"}
	m.segs[s.id], m.data[s.id] = segs, data
}

// fakeSearch returns canned hits, filtered as the index would by user and session.
type fakeSearch struct {
	hits []index.Hit
	last index.Query
	mu   sync.Mutex
}

func (f *fakeSearch) Search(_ context.Context, q index.Query) (index.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = q
	var out index.Result
	for _, h := range f.hits {
		if (q.User == "" || h.User == q.User) && (q.Session == "" || h.Session == q.Session) &&
			(q.Kind == "" || h.Kind == q.Kind) && strings.Contains(h.Line, q.Text) {
			out.Hits = append(out.Hits, h)
		}
	}
	out.Documents = uint64(len(out.Hits))
	return out, nil
}
