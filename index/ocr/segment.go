package ocr

import (
	"image"
	"slices"
)

// gray is a luminance copy of a screen: one byte a pixel, rows of Rect.Dx() bytes.
type gray struct {
	Pix  []byte
	Rect image.Rectangle
}

// toGray converts the part r of img to luminance (BT.601 weights in 8.8 fixed point).
func toGray(img *image.RGBA, r image.Rectangle) *gray {
	r = r.Intersect(img.Bounds())
	g := &gray{Pix: make([]byte, r.Dx()*r.Dy()), Rect: r}
	w := r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := img.Pix[img.PixOffset(r.Min.X, y):][: w*4 : w*4]
		dst := g.Pix[(y-r.Min.Y)*w:][:w:w]
		for x := range dst {
			p := src[x*4 : x*4+3 : x*4+3]
			dst[x] = byte((77*uint32(p[0]) + 150*uint32(p[1]) + 29*uint32(p[2])) >> 8)
		}
	}
	return g
}

func (g *gray) at(x, y int) byte {
	return g.Pix[(y-g.Rect.Min.Y)*g.Rect.Dx()+x-g.Rect.Min.X]
}

// uniformTol is how far a row's or column's luminance may spread and still count as empty
// background: enough for dithering and gradients, far less than any readable text's contrast.
const uniformTol = 24

// rowUniform reports whether row y within [x0,x1) holds no text.
func (g *gray) rowUniform(y, x0, x1 int) bool {
	if x0 >= x1 {
		return true
	}
	row := g.Pix[(y-g.Rect.Min.Y)*g.Rect.Dx():]
	lo, hi := row[x0-g.Rect.Min.X], row[x0-g.Rect.Min.X]
	for _, v := range row[x0-g.Rect.Min.X : x1-g.Rect.Min.X] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return hi-lo <= uniformTol
}

// colUniform reports whether column x within [y0,y1) holds no text.
func (g *gray) colUniform(x, y0, y1 int) bool {
	if y0 >= y1 {
		return true
	}
	w := g.Rect.Dx()
	i := (y0-g.Rect.Min.Y)*w + x - g.Rect.Min.X
	lo, hi := g.Pix[i], g.Pix[i]
	for y := y0; y < y1; y, i = y+1, i+w {
		v := g.Pix[i]
		lo, hi = min(lo, v), max(hi, v)
	}
	return hi-lo <= uniformTol
}

// Growth limits. A damaged rectangle is usually part of a line (a few typed characters, a cursor
// blink, a repainted word): lines are grown to their ends so whole words and their neighbours are
// read. Sideways a line ends at a wide empty gap (a window's edge, the end of the text) or the
// screen's edge: a margin cutting through a line would turn its last word into junk that then
// looks like new text. Upwards and downwards a line ends at an empty row.
const (
	maxGrowY = 48   // rows above or below the damage: a tall line or two of text
	maxGrowX = 4096 // columns either side: the widest screen
	gapX     = 40   // a run of empty columns this wide ends a line (a few characters of space)
	padding  = 3    // tesseract reads glyphs touching the image edge badly
	widen    = 8    // columns added either side before looking for the line's rows
)

// grow extends r to the whole text lines it touches, within g.Rect.
func grow(g *gray, r image.Rectangle) image.Rectangle {
	r = r.Intersect(g.Rect)
	if r.Empty() {
		return r
	}
	// A narrow damage (a caret, one glyph's stroke) can lie within a single colour: widen it a
	// little first, so the row test sees the line's background too.
	r = image.Rect(r.Min.X-widen, r.Min.Y, r.Max.X+widen, r.Max.Y).Intersect(g.Rect)
	r = growY(g, r)
	r = growX(g, r)
	r = growY(g, r) // the wider span may reach taller glyphs
	if r = trim(g, r, g.Rect); r.Empty() {
		return r // nothing but background: nothing to read
	}
	return r.Inset(-padding).Intersect(g.Rect)
}

func growY(g *gray, r image.Rectangle) image.Rectangle {
	// Rows and columns are tested a pixel beyond r (see trim): a glyph's flat top or stem is
	// uniform within its own extent only.
	x0, x1 := max(r.Min.X-1, g.Rect.Min.X), min(r.Max.X+1, g.Rect.Max.X)
	for n := 0; n < maxGrowY && r.Min.Y > g.Rect.Min.Y && !g.rowUniform(r.Min.Y-1, x0, x1); n++ {
		r.Min.Y--
	}
	for n := 0; n < maxGrowY && r.Max.Y < g.Rect.Max.Y && !g.rowUniform(r.Max.Y, x0, x1); n++ {
		r.Max.Y++
	}
	return r
}

func growX(g *gray, r image.Rectangle) image.Rectangle {
	y0, y1 := max(r.Min.Y-1, g.Rect.Min.Y), min(r.Max.Y+1, g.Rect.Max.Y)
	last := r.Min.X // leftmost column with content
	for x := r.Min.X - 1; x >= g.Rect.Min.X && x >= r.Min.X-maxGrowX && x >= last-gapX; x-- {
		if !g.colUniform(x, y0, y1) {
			last = x
		}
	}
	right := r.Max.X // one past the rightmost column with content
	for x := r.Max.X; x < g.Rect.Max.X && x < r.Max.X+maxGrowX && x < right+gapX; x++ {
		if !g.colUniform(x, y0, y1) {
			right = x + 1
		}
	}
	r.Min.X, r.Max.X = last, right
	return r
}

// mergeRects unions rectangles that overlap or lie within slack pixels of each other, so a
// screenful of damage becomes a few regions rather than hundreds of tesseract calls.
func mergeRects(rs []image.Rectangle, slack int) []image.Rectangle {
	out := slices.DeleteFunc(slices.Clone(rs), image.Rectangle.Empty)
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(out); i++ {
			for j := i + 1; j < len(out); j++ {
				if out[i].Inset(-slack).Overlaps(out[j]) {
					out[i] = out[i].Union(out[j])
					out = slices.Delete(out, j, j+1)
					changed = true
					j = i
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b image.Rectangle) int {
		if a.Min.Y != b.Min.Y {
			return a.Min.Y - b.Min.Y
		}
		return a.Min.X - b.Min.X
	})
	return out
}

// Block cutting. A uniform run this long separates blocks: rows between paragraphs or panes,
// columns between windows or a table's far-apart columns. Tesseract lays out one block of
// text far better than a whole desktop, and each block gets its own inversion decision.
const (
	cutRows = 10
	cutCols = 24
	minSide = 6 // smaller blocks cannot hold a readable glyph
)

// block is a rectangle of text to read: one line, or several that touch (multi).
type block struct {
	image.Rectangle
	multi bool
}

// blocks cuts r into text blocks (XY-cut at uniform runs), then each block into lines, dropping
// what is all background.
func blocks(g *gray, r image.Rectangle) []block {
	var out []block
	var cut func(r image.Rectangle, depth int)
	cut = func(r image.Rectangle, depth int) {
		r = trim(g, r, r)
		if r.Dx() < minSide || r.Dy() < minSide {
			return
		}
		if depth < 16 {
			if parts := split(g, r, true, cutRows); parts != nil {
				for _, p := range parts {
					cut(p, depth+1)
				}
				return
			}
			if parts := split(g, r, false, cutCols); parts != nil {
				for _, p := range parts {
					cut(p, depth+1)
				}
				return
			}
		}
		// A leaf is one pane of text: read it line by line. Tesseract's own line finding merges
		// a short line with its neighbour (a prompt with the cursor's box, most often) and
		// garbles both; a terminal's lines are almost always parted by an empty row. Lines much
		// taller than the pane's usual line (a framed box, a descender touching the next line)
		// are read as blocks.
		lines := split(g, r, true, 1)
		if lines == nil {
			lines = []image.Rectangle{r}
		}
		hs := make([]int, 0, len(lines))
		for i, l := range lines {
			lines[i] = trim(g, l, r)
			hs = append(hs, lines[i].Dy())
		}
		slices.Sort(hs)
		usual := hs[(len(hs)-1)/2]
		for _, l := range lines {
			for _, l := range splitTouching(g, l, r, usual) {
				if l.Dx() >= minSide && l.Dy() >= minSide {
					// trimmed: padding here could take in a window's border
					out = append(out, block{l, 2*l.Dy() > 3*usual || l.Dy() > maxLine})
				}
			}
		}
	}
	cut(r, 0)
	return out
}

// splitTouching cuts a block of about two lines of height usual that no empty row parts (a
// descender touching the cursor's box below, most often) at its emptiest row near the expected
// line boundary, so both are still read as lines.
func splitTouching(g *gray, r, pane image.Rectangle, usual int) []image.Rectangle {
	if usual < minSide || 5*r.Dy() < 8*usual || 5*r.Dy() > 12*usual {
		return []image.Rectangle{r}
	}
	bg := g.at(r.Min.X, r.Min.Y) // trimmed blocks start at ink, but the corner is background
	best, fewest := 0, r.Dx()+1
	for y := r.Max.Y - usual*6/5; y <= r.Max.Y-usual*4/5; y++ {
		n := 0
		for _, v := range g.row(y, r.Min.X, r.Max.X) {
			if absDiff(v, bg) > uniformTol {
				n++
			}
		}
		if n < fewest {
			best, fewest = y, n
		}
	}
	if best == 0 {
		return []image.Rectangle{r}
	}
	return []image.Rectangle{trim(g, span(r, r.Min.Y, best, true), pane), trim(g, span(r, best+1, r.Max.Y, true), pane)}
}

// maxLine is the tallest single line of screen text expected (a 24 pt font); a lone taller
// block is read with block layout.
const maxLine = 32

// trim removes uniform rows and columns at r's edges, until none is left: removing a column (a
// window's border) can make the rows beside it uniform, and the other way round.
//
// Within a line, a column through the stem of an H or a D at the line's start is uniform over
// the line's height, but not a pixel above or below it, while a border runs on. So each test
// looks one pixel beyond r, as far as outer allows: pass r itself as outer where r's edges may
// be window borders, and the enclosing pane when trimming a line inside it.
func trim(g *gray, r, outer image.Rectangle) image.Rectangle {
	outer = outer.Intersect(g.Rect)
	row := func(y int) bool { return g.rowUniform(y, max(r.Min.X-1, outer.Min.X), min(r.Max.X+1, outer.Max.X)) }
	col := func(x int) bool { return g.colUniform(x, max(r.Min.Y-1, outer.Min.Y), min(r.Max.Y+1, outer.Max.Y)) }
	for {
		before := r
		for r.Min.Y < r.Max.Y && row(r.Min.Y) {
			r.Min.Y++
		}
		for r.Max.Y > r.Min.Y && row(r.Max.Y-1) {
			r.Max.Y--
		}
		for r.Min.X < r.Max.X && col(r.Min.X) {
			r.Min.X++
		}
		for r.Max.X > r.Min.X && col(r.Max.X-1) {
			r.Max.X--
		}
		if r.Empty() {
			return image.Rectangle{}
		}
		if r == before {
			return r
		}
	}
}

// split cuts a trimmed r at every uniform run of rows (byRows) or columns at least need long,
// and returns nil when there is none.
func split(g *gray, r image.Rectangle, byRows bool, need int) []image.Rectangle {
	lo, hi := r.Min.X, r.Max.X
	if byRows {
		lo, hi = r.Min.Y, r.Max.Y
	}
	uniform := func(i int) bool {
		if byRows {
			return g.rowUniform(i, r.Min.X, r.Max.X)
		}
		return g.colUniform(i, r.Min.Y, r.Max.Y)
	}
	var parts []image.Rectangle
	start, run := lo, 0
	for i := lo; i < hi; i++ {
		if uniform(i) {
			run++
			continue
		}
		if run >= need && i-run > start {
			parts = append(parts, span(r, start, i-run, byRows))
			start = i
		}
		run = 0
	}
	if parts == nil {
		return nil
	}
	return append(parts, span(r, start, hi, byRows))
}

func span(r image.Rectangle, a, b int, byRows bool) image.Rectangle {
	if byRows {
		r.Min.Y, r.Max.Y = a, b
	} else {
		r.Min.X, r.Max.X = a, b
	}
	return r
}

// row returns the luminance of row y within [x0,x1).
func (g *gray) row(y, x0, x1 int) []byte {
	i := (y-g.Rect.Min.Y)*g.Rect.Dx() - g.Rect.Min.X
	return g.Pix[i+x0 : i+x1 : i+x1]
}
