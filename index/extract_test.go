package index

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
)

// ev is one synthetic event: at ms milliseconds, of a type, with a payload.
type ev struct {
	ms  int
	typ capture.Type
	p   string
}

func out(ms int, p string) ev { return ev{ms, capture.TypeOutput, p} }
func in(ms int, p string) ev  { return ev{ms, capture.TypeInput, p} }

// typed simulates a shell: each keystroke is input, echoed as output 1 ms later.
func typed(ms int, line string) []ev {
	var evs []ev
	for i, c := range line {
		evs = append(evs, in(ms+10*i, string(c)), out(ms+10*i+1, string(c)))
	}
	return append(evs, in(ms+10*len(line), "\r"), out(ms+10*len(line)+1, "\r\n"))
}

func extract(cols, rows int, evs []ev) []Line {
	var lines []Line
	x := NewExtractor(cols, rows, func(l Line) { lines = append(lines, l) })
	last := 0
	for _, e := range evs {
		x.Event(time.Duration(e.ms)*time.Millisecond, e.typ, []byte(e.p))
		last = e.ms
	}
	x.Flush(time.Duration(last) * time.Millisecond)
	return lines
}

func texts(lines []Line, k Kind) []string {
	var out []string
	for _, l := range lines {
		if l.Kind == k {
			out = append(out, l.Text)
		}
	}
	return out
}

func TestExtractCommands(t *testing.T) {
	tests := []struct {
		name string
		evs  []ev
		want []string
		at   []int // ms of each command
	}{
		{"simple", append([]ev{out(0, "user@host:~$ ")}, typed(1000, "ls -la")...), []string{"ls -la"}, []int{1060}},
		{"root prompt", append([]ev{out(0, "[root@web01 /etc]# ")}, typed(500, "cat passwd")...), []string{"cat passwd"}, []int{600}},
		{"no prompt", typed(0, "hello world"), []string{"hello world"}, []int{110}},
		{"backspace corrected", append([]ev{out(0, "$ ")},
			in(100, "lx"), out(101, "lx"), in(200, "\x7f"), out(201, "\b \b"), in(300, "s"), out(301, "s"),
			in(400, "\r"), out(401, "\r\n")), []string{"ls"}, []int{400}},
		{"wrapped long line", append([]ev{out(0, "$ ")}, typed(0, "echo "+strings.Repeat("x", 30))...),
			[]string{"echo " + strings.Repeat("x", 30)}, []int{350}},
		{"pasted with its enter", []ev{out(0, "$ "), in(100, "uname -a\r"), out(105, "una"), out(106, "me -a\r\nLinux\r\n$ ")},
			[]string{"uname -a"}, []int{100}},
		{"enter without echo", []ev{out(0, "$ "), in(100, "true\r"), out(2000, "\r\n")}, nil, nil},
		{"empty enter", append([]ev{out(0, "$ ")}, in(100, "\r"), out(101, "\r\n$ ")), nil, nil},
		{"no-echo password", []ev{out(0, "Password: "), {100, capture.TypeRedacted, "\x00\x00\x00\x07"},
			in(200, "\r"), out(201, "\r\n")}, []string{"Password:"}, []int{200}},
		{"editor is not a shell", append([]ev{out(0, "\x1b[?1049h")}, typed(100, "iabc")...), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := extract(20, 6, tt.evs)
			if got := texts(lines, KindCommand); !slices.Equal(got, tt.want) {
				t.Fatalf("commands = %q, want %q", got, tt.want)
			}
			i := 0
			for _, l := range lines {
				if l.Kind == KindCommand {
					if want := time.Duration(tt.at[i]) * time.Millisecond; l.Offset != want {
						t.Errorf("command %q at %v, want %v", l.Text, l.Offset, want)
					}
					i++
				}
			}
		})
	}
}

// TestExtractScreenScroll: a flood of numbered lines on a small screen loses none of them and
// repeats none.
func TestExtractScreenScroll(t *testing.T) {
	for _, rows := range []int{3, 4, 5, 24} {
		for _, chunk := range []int{1, 7, 100, 10000} {
			t.Run(fmt.Sprintf("rows%d/chunk%d", rows, chunk), func(t *testing.T) {
				var all strings.Builder
				var want []string
				for i := range 200 {
					fmt.Fprintf(&all, "line %03d\r\n", i)
					want = append(want, fmt.Sprintf("line %03d", i))
				}
				var evs []ev
				s := all.String()
				for i := 0; i < len(s); i += chunk {
					evs = append(evs, out(i/chunk, s[i:min(len(s), i+chunk)]))
				}
				got := texts(extract(40, rows, evs), KindScreen)
				if !slices.Equal(got, want) {
					t.Fatalf("screen lines:\n got %q\nwant %q", got, want)
				}
			})
		}
	}
}

// TestExtractSettle: the screen's lines are taken when output pauses, once each, and a line is
// dated when it was shown, not when the next output came.
func TestExtractSettle(t *testing.T) {
	evs := []ev{
		out(0, "$ "), in(1000, "d"), out(1001, "d"), in(1100, "f"), out(1101, "f"), in(1200, "\r"),
		out(1201, "\r\nFilesystem  Size\r\n/dev/sda1   10G\r\n$ "),
		out(9000, "x"), // much later: the settled screen was taken at 1201 ms
	}
	lines := extract(40, 10, evs)
	var screen []Line
	for _, l := range lines {
		if l.Kind == KindScreen {
			screen = append(screen, l)
		}
	}
	want := []string{"$ df", "Filesystem  Size", "/dev/sda1   10G"}
	if got := texts(screen, KindScreen); !slices.Equal(got[:3], want) {
		t.Fatalf("screen = %q, want to start with %q", got, want)
	}
	for _, l := range screen[:3] {
		if l.Offset != 1201*time.Millisecond {
			t.Errorf("%q at %v, want 1.201s", l.Text, l.Offset)
		}
	}
	// The flush at the end adds the cursor row ("$ x"), and nothing else twice.
	if got := texts(screen, KindScreen); len(got) != 4 || got[3] != "$ x" {
		t.Errorf("screen = %q, want 4 lines ending with \"$ x\"", got)
	}
}

func TestExtractUTF8Split(t *testing.T) {
	s := "héllo wörld ✓\r\n"
	var evs []ev
	for i := 0; i < len(s); i++ {
		evs = append(evs, out(i, s[i:i+1]))
	}
	if got := texts(extract(40, 5, evs), KindScreen); !slices.Equal(got, []string{"héllo wörld ✓"}) {
		t.Fatalf("screen = %q", got)
	}
}

func TestStripPrompt(t *testing.T) {
	tests := []struct{ in, want string }{
		{"user@host:~$ ls", "ls"},
		{"[root@web01 ~]# id -u", "id -u"},
		{"host% make", "make"},
		{"> echo a > b", "echo a > b"},
		{"echo a > b", "echo a > b"},
		{"ls", "ls"},
		{"bash-5.2$ whoami", "whoami"},
	}
	for _, tt := range tests {
		if got := stripPrompt(tt.in); got != tt.want {
			t.Errorf("stripPrompt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
