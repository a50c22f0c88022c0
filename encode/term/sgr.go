package term

import (
	"strconv"

	"github.com/hinshun/vt10x"
)

// pen is the SGR state with which a cell is drawn.
type pen struct {
	fg, bg vt10x.Color
	mode   int16
}

var defaultPen = pen{fg: vt10x.DefaultFG, bg: vt10x.DefaultBG}

// cellPen returns the pen that, on vt10x and on a real terminal, draws cell g as it is.
// vt10x stores a reverse-video cell with its colours already swapped, so the pen swaps them back
// and sets reverse; the brightening of bold colours is already in g.FG and survives as is.
func cellPen(g vt10x.Glyph) pen {
	p := pen{fg: g.FG, bg: g.BG, mode: g.Mode & attrShown}
	if p.mode&attrReverse != 0 {
		p.fg, p.bg = p.bg, p.fg
	}
	if g.Char == 0 && g.FG == 0 && g.BG == 0 {
		return defaultPen
	}
	return p
}

// appendPen appends the SGR sequence that changes the pen from cur to next.
func appendPen(b []byte, cur, next pen) ([]byte, pen) {
	if cur == next {
		return b, cur
	}
	b = append(b, "\x1b[0"...)
	for _, a := range [...]struct {
		bit  int16
		code string
	}{{attrBold, ";1"}, {attrItalic, ";3"}, {attrUnderline, ";4"}, {attrBlink, ";5"}, {attrReverse, ";7"}} {
		if next.mode&a.bit != 0 {
			b = append(b, a.code...)
		}
	}
	b = appendColor(b, next.fg, 30, 90, 38, vt10x.DefaultFG)
	b = appendColor(b, next.bg, 40, 100, 48, vt10x.DefaultBG)
	return append(b, 'm'), next
}

func appendColor(b []byte, c vt10x.Color, base, bright, ext int, def vt10x.Color) []byte {
	switch {
	case c == def || c >= 1<<24:
		return b // the reset above already set the default
	case c < 8:
		b = append(b, ';')
		return strconv.AppendInt(b, int64(base)+int64(c), 10)
	case c < 16:
		b = append(b, ';')
		return strconv.AppendInt(b, int64(bright)+int64(c)-8, 10)
	case c < 256:
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(ext), 10)
		b = append(b, ";5;"...)
		return strconv.AppendInt(b, int64(c), 10)
	default: // vt10x keeps true colour as 0xRRGGBB
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(ext), 10)
		b = append(b, ";2;"...)
		b = strconv.AppendInt(b, int64(c>>16&0xff), 10)
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(c>>8&0xff), 10)
		b = append(b, ';')
		return strconv.AppendInt(b, int64(c&0xff), 10)
	}
}
