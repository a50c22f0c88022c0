package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeLog(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := l.Append(Event{Kind: "login-failed", User: "alice", Remote: "127.0.0.1", Cause: "bad credential"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	b, _ := os.ReadFile(path)
	return path, bytes.SplitAfter(b, []byte("\n"))[:n]
}

func TestAppendVerifyReopen(t *testing.T) {
	path, _ := writeLog(t, 5)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); l.Append(Event{Kind: "session-start", Session: "s"}) }()
	}
	wg.Wait()
	l.Close()
	f, _ := os.Open(path)
	defer f.Close()
	var kinds []string
	n, err := Verify(f, func(e Event) error { kinds = append(kinds, e.Kind); return nil })
	if err != nil || n != 25 {
		t.Fatalf("Verify = %d, %v; want 25 events", n, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

// TestVerifyNamesTheBrokenLine: every kind of tampering is caught, at the line where it happened.
func TestVerifyNamesTheBrokenLine(t *testing.T) {
	_, lines := writeLog(t, 6)
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	edited := bytes.Replace(lines[2], []byte(`"alice"`), []byte(`"mallory"`), 1)
	tests := []struct {
		name string
		log  []byte
		line string
	}{
		{"line edited", join(lines[0], lines[1], edited, lines[3], lines[4], lines[5]), "line 3"},
		{"line removed", join(lines[0], lines[1], lines[3], lines[4], lines[5]), "line 3"},
		{"lines swapped", join(lines[0], lines[2], lines[1], lines[3], lines[4], lines[5]), "line 2"},
		{"first line removed", join(lines[1], lines[2]), "line 1"},
		{"line duplicated", join(lines[0], lines[1], lines[1]), "line 3"},
		{"garbage line", join(lines[0], []byte("{\"seq\":2}\n")), "line 2"},
		{"cut short", join(lines[0], lines[1][:20]), "line 2"},
		{"not json", join(lines[0], []byte("hello\n")), "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(tt.log), nil)
			if !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), tt.line+":") {
				t.Fatalf("Verify = %v, want ErrBroken at %s", err, tt.line)
			}
		})
	}
	// Truncating at a line boundary (dropping the newest lines) keeps a valid chain: the
	// file's length is not evidence by itself; that is what the session manifests are for.
	if n, err := Verify(bytes.NewReader(join(lines[0], lines[1])), nil); err != nil || n != 2 {
		t.Errorf("a prefix of whole lines: %d, %v", n, err)
	}
}

func TestOpenRefusesATamperedLog(t *testing.T) {
	path, lines := writeLog(t, 3)
	os.WriteFile(path, bytes.Join([][]byte{lines[0], lines[2]}, nil), 0o600)
	if _, err := Open(path); !errors.Is(err, ErrBroken) {
		t.Fatalf("Open of a tampered log = %v, want ErrBroken", err)
	}
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	l, _ := Open(filepath.Join(dir, "a"))
	l.Append(Event{Kind: "x"})
	l.Append(Event{Kind: "y", User: "u"})
	l.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "a"))
	f.Add(b)
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Verify(bytes.NewReader(data), nil)
		if err == nil && n > 0 && !bytes.HasSuffix(data, []byte("\n")) {
			t.Fatalf("accepted %d events without a final newline", n)
		}
	})
}

// TestTwoWritersKeepOneChain: two Logs on one file (two processes, say) interleave without
// forking the chain.
func TestTwoWritersKeepOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, l := range []*Log{a, b} {
		wg.Add(1)
		go func(l *Log) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := l.Append(Event{Kind: "k"}); err != nil {
					t.Error(err)
				}
			}
		}(l)
	}
	wg.Wait()
	a.Close()
	b.Close()
	f, _ := os.Open(path)
	defer f.Close()
	if n, err := Verify(f, nil); err != nil || n != 100 {
		t.Fatalf("Verify = %d, %v; want 100 events in one chain", n, err)
	}
}
