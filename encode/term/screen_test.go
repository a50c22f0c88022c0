package term

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hinshun/vt10x"
)

// replay feeds in to a screen A, then A's keyframe to a fresh screen B of the same size, and
// fails unless B shows what A shows: text, cursor, modes, and the colours and attributes of every
// cell that holds a character.
func replay(t *testing.T, cols, rows int, in []byte) (*Screen, *Screen) {
	t.Helper()
	a := NewScreen(cols, rows)
	// Write in small pieces: the recorder sees output as the network delivers it, runes split.
	for chunk := range slicesChunk(in, 7) {
		if n, err := a.Write(chunk); err != nil || n != len(chunk) {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	kf := a.Keyframe()
	b := NewScreen(cols, rows)
	b.Write(kf)
	at, bt := a.Text(), b.Text()
	if strings.Join(at, "\n") != strings.Join(bt, "\n") {
		t.Fatalf("text differs\nA:\n%s\nB:\n%s\nkeyframe %q", strings.Join(at, "\n"), strings.Join(bt, "\n"), kf)
	}
	ca, cb := a.vt.Cursor(), b.vt.Cursor()
	if ca.X != cb.X || ca.Y != cb.Y || ca.Attr.FG != cb.Attr.FG || ca.Attr.BG != cb.Attr.BG ||
		ca.Attr.Mode&attrShown != cb.Attr.Mode&attrShown {
		t.Errorf("cursor: A %+v, B %+v", ca, cb)
	}
	const modes = vt10x.ModeAltScreen | vt10x.ModeHide | vt10x.ModeWrap | vt10x.ModeAppCursor
	if a.vt.Mode()&modes != b.vt.Mode()&modes {
		t.Errorf("modes: A %b, B %b", a.vt.Mode()&modes, b.vt.Mode()&modes)
	}
	if a.vt.Title() != b.vt.Title() {
		t.Errorf("title: A %q, B %q", a.vt.Title(), b.vt.Title())
	}
	for y := range rows {
		for x := range cols {
			ga, gb := a.vt.Cell(x, y), b.vt.Cell(x, y)
			if ga.Char == ' ' || ga.Char == 0 {
				continue // vt10x stores erased cells unlike drawn ones; their text matched above
			}
			if ga.FG != gb.FG || ga.BG != gb.BG || ga.Mode&attrShown != gb.Mode&attrShown {
				t.Fatalf("cell %d,%d %q: A %+v, B %+v", x, y, ga.Char, ga, gb)
			}
		}
	}
	return a, b
}

func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			m := min(n, len(b))
			if !yield(b[:m]) {
				return
			}
			b = b[m:]
		}
	}
}

func TestKeyframeRepaints(t *testing.T) {
	var long strings.Builder
	for i := range 300 {
		fmt.Fprintf(&long, "%d", i%10)
	}
	var top bytes.Buffer
	top.WriteString("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J")
	top.WriteString("\x1b[1;1H\x1b[7mtop - 10:00:01 up 3 days,  load average: 0.10, 0.20\x1b[m")
	for i := range 10 {
		fmt.Fprintf(&top, "\x1b[%d;1H%5d root      20   0 \x1b[1m%6dk\x1b[22m  S  0.%d  bash", i+3, 100+i, 4000+i*17, i)
	}
	tests := []struct {
		name       string
		cols, rows int
		in         string
	}{
		{"empty", 80, 24, ""},
		{"prompt", 80, 24, "\x1b[32muser@web01\x1b[0m:\x1b[34m~\x1b[0m$ ls -l\r\ntotal 0\r\n$ "},
		{"colours", 80, 24, "\x1b[31mred \x1b[1;32mbold green \x1b[0;4;33munder\x1b[0m \x1b[38;5;200mxterm\x1b[0m " +
			"\x1b[38;2;10;200;30mtrue\x1b[48;2;1;2;3mbg\x1b[0m \x1b[7;34mreverse\x1b[0m \x1b[3;5mitalic blink\x1b[0m \x1b[95;104mbright\x1b[0m"},
		{"background erase", 40, 5, "\x1b[44m\x1b[2Jblue\x1b[0m\r\nplain"},
		{"unicode", 80, 24, "héllo wörld ✓ → λ\r\n日本語のテキスト\r\nemoji 🙂 done"},
		{"cursor movement", 80, 24, "line1\r\nline2\x1b[5;10Hat 5,10\x1b[2Aup\x1b[3Dback\x1b[1;1Hhome\x1b[Kcleared"},
		{"long line wraps", 80, 24, long.String() + "\r\nnext"},
		{"scrolls", 20, 5, "1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8"},
		{"alternate screen", 80, 24, "shell text\r\n$ top\r\n" + top.String()},
		{"vim-like", 40, 10, "\x1b[?1049h\x1b[H\x1b[2J\x1b[?1h\x1b=func main() {\r\n\tfmt.Println(\"hi\")\r\n}\r\n\x1b[34m~\r\n~\x1b[m\x1b[10;1H\x1b[1m-- INSERT --\x1b[m\x1b[2;5H"},
		{"left alternate screen", 80, 24, "before\r\n\x1b[?1049hinside\x1b[?1049lafter"},
		{"title and hidden cursor", 80, 24, "\x1b]0;user@host: ~\x07\x1b[?25lhidden"},
		{"pen carried", 80, 24, "\x1b[1;31mstill red"},
		{"no wrap mode", 10, 3, "\x1b[?7l0123456789abcdef"},
		{"last cell", 10, 3, "\x1b[3;1H0123456789"},
		{"line drawing", 20, 3, "\x1b(0lqqk\r\nx  x\r\nmqqj\x1b(B"},
		{"split rune", 20, 3, "\xe2\x9c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replay(t, tt.cols, tt.rows, []byte(tt.in))
		})
	}
}

func TestWriteJoinsSplitRunes(t *testing.T) {
	s := NewScreen(20, 2)
	for _, b := range []byte("✓λ") {
		s.Write([]byte{b})
	}
	if got := s.Text()[0]; got != "✓λ" {
		t.Fatalf("text %q, want %q", got, "✓λ")
	}
}

func TestResize(t *testing.T) {
	a, _ := replay(t, 80, 24, []byte("hello\r\nworld"))
	a.Resize(100, 30)
	if c, r := a.Size(); c != 100 || r != 30 {
		t.Fatalf("size %dx%d", c, r)
	}
	a.Write([]byte("\x1b[30;95Hcorner"))
	b := NewScreen(100, 30)
	b.Write(a.Keyframe())
	if strings.Join(a.Text(), "\n") != strings.Join(b.Text(), "\n") {
		t.Fatalf("after resize\nA: %q\nB: %q", a.Text(), b.Text())
	}
}

func FuzzKeyframe(f *testing.F) {
	f.Add([]byte("\x1b[31mred\x1b[0m\r\nplain"), uint8(80), uint8(24))
	f.Add([]byte("\x1b[?1049h\x1b[5;5Hx"), uint8(20), uint8(5))
	f.Fuzz(func(t *testing.T, in []byte, cols, rows uint8) {
		c, r := int(cols%120)+1, int(rows%40)+1
		a := NewScreen(c, r)
		a.Write(in)
		b := NewScreen(c, r)
		b.Write(a.Keyframe())
		at, bt := a.Text(), b.Text()
		for i := range at {
			if at[i] != bt[i] {
				t.Fatalf("line %d: A %q, B %q", i, at[i], bt[i])
			}
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	var out bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&out, "\x1b[32m%6d\x1b[0m drwxr-xr-x  2 root root 4096 Nov 22 14:29 some-file-name-%d.txt\r\n", i, i)
	}
	s := NewScreen(120, 40)
	b.SetBytes(int64(out.Len()))
	b.ReportAllocs()
	for b.Loop() {
		s.Write(out.Bytes())
	}
}

func BenchmarkKeyframe(b *testing.B) {
	s := NewScreen(200, 60)
	for i := range 60 {
		fmt.Fprintf(s, "\x1b[3%dm%s\x1b[0m\r\n", i%8, strings.Repeat("x", 150))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Keyframe()
	}
}
