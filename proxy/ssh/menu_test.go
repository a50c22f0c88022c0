package ssh

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// term is a fake terminal: input is what the user types, output what the menu printed.
type term struct {
	in  *strings.Reader
	out bytes.Buffer
}

func (t *term) Read(p []byte) (int, error)  { return t.in.Read(p) }
func (t *term) Write(p []byte) (int, error) { return t.out.Write(p) }

func TestRunMenu(t *testing.T) {
	targets := []string{"web01", "db01", "10"}
	tests := []struct {
		name    string
		typed   string
		want    string
		wantErr error
	}{
		{"number", "2\r", "db01", nil},
		{"name", "web01\r", "web01", nil},
		{"name that looks like a number is matched by number first", "3\r", "10", nil},
		{"backspace", "x\x7f1\r", "web01", nil},
		{"bad then good", "9\rdb01\r", "db01", nil},
		{"spaces trimmed", " 1 \n", "web01", nil},
		{"three bad choices", "0\r4\rnope\r", "", errMenuQuit},
		{"ctrl-c", "\x03", "", errMenuQuit},
		{"ctrl-d on empty line", "\x04", "", errMenuQuit},
		{"eof", "1", "", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := &term{in: strings.NewReader(tt.typed)}
			got, err := runMenu(tm, targets)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if !strings.Contains(tm.out.String(), "2) db01") {
				t.Fatalf("menu not shown: %q", tm.out.String())
			}
		})
	}
}

func TestRunMenuNoTargets(t *testing.T) {
	tm := &term{in: strings.NewReader("1\r")}
	if _, err := runMenu(tm, nil); !errors.Is(err, errMenuQuit) {
		t.Fatalf("err = %v, want errMenuQuit", err)
	}
}

func TestReadLineBounded(t *testing.T) {
	tm := &term{in: strings.NewReader(strings.Repeat("a", 10*maxLine) + "\r")}
	line, err := readLine(tm)
	if err != nil || len(line) != maxLine {
		t.Fatalf("len %d err %v, want %d nil", len(line), err, maxLine)
	}
}

func TestSplitLogin(t *testing.T) {
	tests := []struct{ in, user, target string }{
		{"alice@web01", "alice", "web01"},
		{"alice", "alice", ""},
		{"alice@root@web01", "alice", "root@web01"},
		{"@web01", "", "web01"},
		{"alice@", "alice", ""},
	}
	for _, tt := range tests {
		u, tg := splitLogin(tt.in)
		if u != tt.user || tg != tt.target {
			t.Errorf("splitLogin(%q) = %q, %q; want %q, %q", tt.in, u, tg, tt.user, tt.target)
		}
	}
}
