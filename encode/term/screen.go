package term

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hinshun/vt10x"
)

// Glyph attribute bits, as vt10x stores them in Glyph.Mode (unexported there).
const (
	attrReverse   = 1 << 0
	attrUnderline = 1 << 1
	attrBold      = 1 << 2
	attrGfx       = 1 << 3
	attrItalic    = 1 << 4
	attrBlink     = 1 << 5
	attrWrap      = 1 << 6

	attrShown = attrReverse | attrUnderline | attrBold | attrItalic | attrBlink
)

// Screen is a terminal screen fed with a session's output. It is safe for concurrent use.
type Screen struct {
	mu      sync.Mutex
	vt      vt10x.Terminal
	pending []byte // an incomplete UTF-8 sequence held back from the last Write
}

// MaxSide is the most columns or rows a Screen has. A size comes from whoever opened the session
// (an SSH client's pty-req, a browser's resize) and the emulator allocates every cell of it at
// once (some 32 bytes each, main and alternate screens): 65535 x 65535 would be about 137 GB. The
// gateway bounds sizes where they enter; a Screen bounds them again, so no recording, replay or
// reindex can ask for more than about 64 MB. No real terminal is 1000 cells wide.
const MaxSide = 1000

// Clamp returns cols and rows brought into 1..MaxSide.
func Clamp(cols, rows int) (int, int) {
	return min(max(cols, 1), MaxSide), min(max(rows, 1), MaxSide)
}

// NewScreen returns a blank screen of cols x rows cells, each brought into 1..MaxSide.
func NewScreen(cols, rows int) *Screen {
	cols, rows = Clamp(cols, rows)
	return &Screen{vt: vt10x.New(vt10x.WithSize(cols, rows))}
}

// Write feeds output bytes to the emulator. It never fails: bytes the emulator does not
// understand are dropped by it, and a UTF-8 sequence split across writes is joined.
func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := p
	if len(s.pending) > 0 {
		buf = append(s.pending, p...)
		s.pending = nil
	}
	// vt10x drops a rune cut at the end of a buffer (it only holds back a single byte), so hold
	// back an incomplete sequence here and join it with the next Write.
	cut := incompleteTail(buf)
	if cut > 0 {
		s.pending = append([]byte(nil), buf[len(buf)-cut:]...)
		buf = buf[:len(buf)-cut]
	}
	s.vt.Write(buf)
	return len(p), nil
}

// Resize changes the screen size, as a window change of the session does; each side is brought
// into 1..MaxSide.
func (s *Screen) Resize(cols, rows int) {
	cols, rows = Clamp(cols, rows)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vt.Resize(cols, rows)
}

// Size returns the screen size.
func (s *Screen) Size() (cols, rows int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vt.Size()
}

// Text returns the visible lines, trailing blanks removed.
func (s *Screen) Text() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vt.Lock()
	defer s.vt.Unlock()
	cols, rows := s.vt.Size()
	out := make([]string, rows)
	var b strings.Builder
	for y := range rows {
		b.Reset()
		for x := range cols {
			b.WriteRune(printable(s.vt.Cell(x, y).Char))
		}
		out[y] = strings.TrimRight(b.String(), " ")
	}
	return out
}

// Keyframe returns an ANSI sequence that, written to a fresh terminal of the screen's size,
// repaints the screen: reset, title, alternate screen, each line's text with its colours and
// attributes, modes, cursor visibility, position and pen. What vt10x does not expose is not
// repainted: the main screen hidden behind the alternate one, the scroll region, tab stops and
// the saved cursor.
func (s *Screen) Keyframe() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vt.Lock()
	defer s.vt.Unlock()
	cols, rows := s.vt.Size()
	mode := s.vt.Mode()
	b := make([]byte, 0, cols*rows+256)
	b = append(b, "\x1bc\x1b[H\x1b[2J"...)
	if t := s.vt.Title(); t != "" {
		b = append(b, "\x1b]0;"...)
		b = append(b, strings.Map(dropControl, t)...)
		b = append(b, '\a')
	}
	if mode&vt10x.ModeAltScreen != 0 {
		b = append(b, "\x1b[?1049h\x1b[H\x1b[2J"...)
	}
	pn := defaultPen
	for y := range rows {
		last := -1 // last cell of the line that is not a default blank
		for x := range cols {
			if !isDefaultBlank(s.vt.Cell(x, y)) {
				last = x
			}
		}
		if last < 0 {
			continue
		}
		b = appendCUP(b, 0, y)
		for x := 0; x <= last; x++ {
			g := s.vt.Cell(x, y)
			if isDefaultBlank(g) && pn == defaultPen {
				run := 1
				for x+run <= last && isDefaultBlank(s.vt.Cell(x+run, y)) {
					run++
				}
				if run >= 4 { // cursor forward beats spaces
					b = append(b, "\x1b["...)
					b = strconv.AppendInt(b, int64(run), 10)
					b = append(b, 'C')
					x += run - 1
					continue
				}
			}
			b, pn = appendPen(b, pn, cellPen(g))
			b = utf8.AppendRune(b, printable(g.Char))
		}
	}
	if mode&vt10x.ModeWrap == 0 {
		b = append(b, "\x1b[?7l"...)
	}
	if mode&vt10x.ModeAppCursor != 0 {
		b = append(b, "\x1b[?1h"...)
	}
	if mode&vt10x.ModeAppKeypad != 0 {
		b = append(b, "\x1b="...)
	}
	if mode&vt10x.ModeMouseSgr != 0 {
		b = append(b, "\x1b[?1006h"...)
	}
	switch {
	case mode&vt10x.ModeMouseButton != 0:
		b = append(b, "\x1b[?1000h"...)
	case mode&vt10x.ModeMouseMotion != 0:
		b = append(b, "\x1b[?1002h"...)
	case mode&vt10x.ModeMouseMany != 0:
		b = append(b, "\x1b[?1003h"...)
	}
	if !s.vt.CursorVisible() {
		b = append(b, "\x1b[?25l"...)
	}
	cur := s.vt.Cursor()
	b = appendCUP(b, cur.X, cur.Y)
	// The pen last: output after the keyframe continues in the colours the program had set.
	b, _ = appendPen(b, pn, pen{fg: cur.Attr.FG, bg: cur.Attr.BG, mode: cur.Attr.Mode & attrShown})
	return b
}

func dropControl(r rune) rune {
	if r < ' ' || r == 0x7f {
		return -1
	}
	return r
}

func appendCUP(b []byte, x, y int) []byte {
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(y+1), 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(x+1), 10)
	return append(b, 'H')
}

func isDefaultBlank(g vt10x.Glyph) bool {
	if g.Char == 0 && g.FG == 0 && g.BG == 0 {
		return true // a cell a resize added and nothing has touched
	}
	return (g.Char == ' ' || g.Char == 0) && g.FG == vt10x.DefaultFG && g.BG == vt10x.DefaultBG &&
		g.Mode&attrShown == 0
}

// incompleteTail returns the length of a UTF-8 sequence cut short at the end of b, or 0.
func incompleteTail(b []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0
		}
		if c >= 0xc0 { // a start byte: is its sequence complete?
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}

// printable maps what vt10x may leave in a cell but a terminal would not draw (NUL of untouched
// cells, C0 and C1 controls that reached the screen in line-drawing mode) to a space.
func printable(c rune) rune {
	if c < ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) || c > 0x10ffff {
		return ' '
	}
	return c
}
