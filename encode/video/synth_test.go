package video

import (
	"image"
	"image/color"
	"image/draw"
)

// Synthetic screens for tests and benchmarks: a desktop with a gradient wallpaper, a title bar
// with a clock, and a terminal window of glyph-like text. Glyphs are 8x16 cells with a pattern
// derived from the character, so the content has the edges and the entropy of real text without
// needing a font package.

var (
	wallTop  = color.RGBA{40, 70, 120, 255}
	termBG   = color.RGBA{20, 20, 20, 255}
	termFG   = color.RGBA{200, 220, 200, 255}
	titleBG  = color.RGBA{220, 220, 225, 255}
	titleInk = color.RGBA{30, 30, 30, 255}
)

const glyphW, glyphH = 8, 16

// glyphRows are the row patterns of a 5-pixel-wide bitmap font's letters (bars, stems, bowls,
// diagonals); each character picks 9 of them, so glyphs have the strokes and repetition of text.
var glyphRows = [...]uint8{0b01110, 0b10001, 0b10000, 0b00001, 0b11111, 0b00100, 0b10010, 0b01010, 0b11110, 0b10001, 0b01111, 0b00000}

// drawGlyph draws character c at (x, y) in ink.
func drawGlyph(img *image.RGBA, x, y int, c byte, ink color.RGBA) {
	if c == ' ' {
		return
	}
	h := uint32(c)*2654435761 + 12345
	for row := 0; row < 9; row++ {
		h ^= h << 13
		h ^= h >> 17
		h ^= h << 5
		bits := glyphRows[h%uint32(len(glyphRows))]
		if c >= 'a' && c <= 'z' && row < 3 {
			bits = 0 // lower case: x-height
		}
		for gx := 0; gx < 5; gx++ {
			if bits&(1<<(4-gx)) != 0 {
				img.SetRGBA(x+1+gx, y+4+row, ink)
			}
		}
	}
}

// drawText draws s from (x, y).
func drawText(img *image.RGBA, x, y int, s string, ink color.RGBA) {
	for i := 0; i < len(s); i++ {
		drawGlyph(img, x+i*glyphW, y, s[i], ink)
	}
}

// termCols and termRows size the terminal window: 100x40 cells (808x648 pixels), a usual admin
// terminal; smaller desktops get a window of 80% x 75% of the screen.
var termCols, termRows = 100, 40

// termRect is where the terminal's text goes on a w x h desktop.
func termRect(w, h int) image.Rectangle {
	r := image.Rect(w/10, h/8, w*9/10, h*7/8)
	if pw, ph := termCols*glyphW+8, termRows*glyphH+8; pw < r.Dx() && ph < r.Dy() {
		r.Max = r.Min.Add(image.Pt(pw, ph))
	}
	return r
}

// desktop draws the whole screen with the terminal scrolled by scroll lines.
func desktop(w, h, scroll int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		c := color.RGBA{wallTop.R, uint8(int(wallTop.G) + y*60/h), uint8(int(wallTop.B) + y*80/h), 255}
		draw.Draw(img, image.Rect(0, y, w, y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	draw.Draw(img, image.Rect(0, 0, w, glyphH+8), image.NewUniform(titleBG), image.Point{}, draw.Src)
	drawClock(img, 0)
	tr := termRect(w, h)
	draw.Draw(img, tr, image.NewUniform(termBG), image.Point{}, draw.Src)
	drawTerminal(img, scroll)
	return img
}

// drawClock repaints the clock in the title bar's right end and returns its rectangle.
func drawClock(img *image.RGBA, sec int) image.Rectangle {
	w := img.Bounds().Dx()
	r := image.Rect(max(w-10*glyphW-8, 0), 4, w-8, 4+glyphH).Intersect(img.Bounds())
	draw.Draw(img, r, image.NewUniform(titleBG), image.Point{}, draw.Src)
	s := []byte("12:00:00")
	s[3], s[4] = byte('0'+sec/600%6), byte('0'+sec/60%10)
	s[6], s[7] = byte('0'+sec%60/10), byte('0'+sec%10)
	drawText(img, r.Min.X, r.Min.Y, string(s), titleInk)
	return r
}

// termLine is the text of line n of the terminal's output.
func termLine(n int) string {
	words := []string{"drwxr-xr-x", "root", "4096", "Nov", "22", "etc", "-rw-r--r--", "syslog.1", "kern.log", "auth.log", "nginx", "ssl"}
	s := ""
	for i := 0; len(s) < 70; i++ {
		s += words[(n*7+i*3)%len(words)] + " "
	}
	return s
}

// drawTerminal repaints the terminal with output lines scroll.. and returns its rectangle.
func drawTerminal(img *image.RGBA, scroll int) image.Rectangle {
	b := img.Bounds()
	tr := termRect(b.Dx(), b.Dy())
	draw.Draw(img, tr, image.NewUniform(termBG), image.Point{}, draw.Src)
	rows := (tr.Dy() - 8) / glyphH
	cols := (tr.Dx() - 8) / glyphW
	for i := 0; i < rows; i++ {
		line := termLine(scroll + i)
		if len(line) > cols {
			line = line[:cols]
		}
		drawText(img, tr.Min.X+4, tr.Min.Y+4+i*glyphH, line, termFG)
	}
	return tr
}
