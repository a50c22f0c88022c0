package ocr

import (
	"image"
	"image/color"
	"image/draw"
	"slices"
	"testing"
)

// page draws "text" as boxes on white: each glyph a dark block split by a white bar.
func page(w, h int, glyphs ...image.Rectangle) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for _, g := range glyphs {
		draw.Draw(img, g, image.NewUniform(color.Black), image.Point{}, draw.Src)
		// A bar of paper through the middle, as real glyphs have: a solid box would be
		// uniform in every column and row.
		mid := g.Min.Y + g.Dy()/2
		draw.Draw(img, image.Rect(g.Min.X+1, mid, g.Max.X-1, mid+1), image.NewUniform(color.White), image.Point{}, draw.Src)
	}
	return img
}

// word returns n glyph boxes starting at x on text line row.
func word(x, row, n int) []image.Rectangle {
	var out []image.Rectangle
	for i := range n {
		out = append(out, image.Rect(x+i*8, 4+row*14, x+i*8+6, 14+row*14))
	}
	return out
}

func TestGrow(t *testing.T) {
	var glyphs []image.Rectangle
	glyphs = append(glyphs, word(10, 0, 5)...)  // line 0: x 10..48
	glyphs = append(glyphs, word(60, 0, 5)...)  // same line after a 12 px space: x 60..98
	glyphs = append(glyphs, word(200, 0, 3)...) // same line after a 102 px gap
	glyphs = append(glyphs, word(10, 2, 4)...)  // line 2, after an empty line
	img := page(400, 60, glyphs...)
	g := toGray(img, img.Bounds())
	tests := []struct {
		name   string
		damage image.Rectangle
		want   image.Rectangle
	}{
		{"one glyph grows to its line's words", image.Rect(26, 6, 30, 8), image.Rect(10-padding, 4-padding, 98+padding, 14+padding)},
		{"far words stay out", image.Rect(62, 4, 64, 14), image.Rect(10-padding, 4-padding, 98+padding, 14+padding)},
		{"the far word alone", image.Rect(201, 5, 202, 6), image.Rect(200-padding, 4-padding, 222+padding, 14+padding)},
		{"damage in a blank area has nothing to read", image.Rect(300, 40, 310, 50), image.Rectangle{}},
		{"outside the screen", image.Rect(500, 0, 510, 10), image.Rectangle{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := grow(g, tt.damage); got != tt.want {
				t.Errorf("grow(%v) = %v, want %v", tt.damage, got, tt.want)
			}
		})
	}
}

func TestBlocks(t *testing.T) {
	var glyphs []image.Rectangle
	for row := range 3 {
		glyphs = append(glyphs, word(10, row, 6)...)
		glyphs = append(glyphs, word(200, row, 4)...) // a second pane 150 px to the right
	}
	img := page(300, 60, glyphs...)
	// A window border: a uniform grey column between the panes must not join them.
	draw.Draw(img, image.Rect(150, 0, 151, 60), image.NewUniform(color.Gray{0x80}), image.Point{}, draw.Src)
	g := toGray(img, img.Bounds())
	got := blocks(g, img.Bounds())
	var rects []image.Rectangle
	for _, b := range got {
		if b.multi {
			t.Errorf("block %v marked multi-line", b.Rectangle)
		}
		rects = append(rects, b.Rectangle)
	}
	var want []image.Rectangle
	for row := range 3 {
		want = append(want, image.Rect(10, 4+row*14, 56, 14+row*14))
	}
	for row := range 3 {
		want = append(want, image.Rect(200, 4+row*14, 230, 14+row*14))
	}
	if !slices.Equal(rects, want) {
		t.Errorf("blocks = %v\nwant %v", rects, want)
	}
}

func TestMergeRects(t *testing.T) {
	tests := []struct {
		name string
		in   []image.Rectangle
		want []image.Rectangle
	}{
		{"empty", nil, nil},
		{"apart", []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(30, 0, 40, 10)}, []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(30, 0, 40, 10)}},
		{"within slack", []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(12, 0, 20, 10)}, []image.Rectangle{image.Rect(0, 0, 20, 10)}},
		{"chain", []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(40, 0, 50, 10), image.Rect(8, 0, 42, 10)}, []image.Rectangle{image.Rect(0, 0, 50, 10)}},
		{"empty rects dropped", []image.Rectangle{{}, image.Rect(5, 5, 6, 6)}, []image.Rectangle{image.Rect(5, 5, 6, 6)}},
		{"sorted top to bottom", []image.Rectangle{image.Rect(0, 50, 1, 51), image.Rect(0, 0, 1, 1)}, []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(0, 50, 1, 51)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeRects(tt.in, 3); !slices.Equal(got, tt.want) {
				t.Errorf("mergeRects = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPrepareInk checks the colour-distance conversion: dark panes come out as dark ink on
// white, and so does yellow text on white, which plain grey would nearly lose.
func TestPrepareInk(t *testing.T) {
	tests := []struct {
		name   string
		bg, fg color.RGBA
	}{
		{"dark terminal", color.RGBA{0, 0, 0, 255}, color.RGBA{230, 230, 230, 255}},
		{"light terminal", color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}},
		{"yellow on white", color.RGBA{255, 255, 255, 255}, color.RGBA{205, 205, 0, 255}},
		{"white on blue", color.RGBA{0, 0, 170, 255}, color.RGBA{255, 255, 255, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, 20, 10))
			draw.Draw(img, img.Bounds(), image.NewUniform(tt.bg), image.Point{}, draw.Src)
			draw.Draw(img, image.Rect(5, 2, 8, 8), image.NewUniform(tt.fg), image.Point{}, draw.Src)
			pgm := prepare(nil, img, img.Bounds(), 2)
			hdr := "P5\n56 36\n255\n" // 20x10 at 2x plus a 4 px margin at 2x on each side
			if string(pgm[:len(hdr)]) != hdr {
				t.Fatalf("header %q, want %q", pgm[:len(hdr)], hdr)
			}
			px := func(x, y int) byte { return pgm[len(hdr)+y*56+x] }
			if v := px(8+2, 8+2); v != 255 { // background, inside the image
				t.Errorf("background %d, want 255", v)
			}
			if v := px(8+13, 8+6); v != 0 { // the middle of the glyph
				t.Errorf("ink %d, want 0", v)
			}
		})
	}
}

func TestFixDigits(t *testing.T) {
	for in, want := range map[string]string{
		"dbO1": "db01", "1O.0.4.17": "10.0.4.17", "webo2": "web02", "O": "O", "Running": "Running",
		"root": "root", "2O26": "2026", "OK1": "OK1", "1.O.2": "1.O.2",
	} {
		if got := fixDigits(in); got != want {
			t.Errorf("fixDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		truth, got   string
		found, total int
	}{
		{"DROP TABLE customers;", "drop table customers", 3, 3},
		{"deploy_user", "deploy user", 2, 2},
		{"the the the", "the", 1, 3},
		{"alice@example.com", "alice example com", 3, 3},
		{"db01 web01", "dbO1 web01", 1, 2},
		{"", "anything", 0, 0},
	}
	for _, tt := range tests {
		if f, n := Score(tt.truth, tt.got); f != tt.found || n != tt.total {
			t.Errorf("Score(%q, %q) = %d/%d, want %d/%d", tt.truth, tt.got, f, n, tt.found, tt.total)
		}
	}
}

func TestSeen(t *testing.T) {
	line := func(y int, s string) Text { return Text{Rect: image.Rect(0, y, 200, y+14), Text: s} }
	all := []image.Rectangle{image.Rect(0, 0, 400, 400)}
	var s seen
	steps := []struct {
		name    string
		texts   []Text
		regions []image.Rectangle
		want    []string
	}{
		{"first read", []Text{line(0, "a"), line(20, "b")}, all, []string{"a", "b"}},
		{"same again", []Text{line(1, "a"), line(20, "b")}, all, nil},
		{"one line changed", []Text{line(0, "a"), line(20, "c")}, all, []string{"c"}},
		{"same text elsewhere", []Text{line(100, "a")}, []image.Rectangle{image.Rect(0, 90, 400, 130)}, []string{"a"}},
		{"b comes back", []Text{line(0, "a"), line(20, "b")}, []image.Rectangle{image.Rect(0, 0, 400, 40)}, []string{"b"}},
		{"region read outside a line keeps it", []Text{line(100, "a")}, []image.Rectangle{image.Rect(0, 90, 400, 130)}, nil},
	}
	for _, st := range steps {
		var got []string
		for _, t := range s.fresh(st.texts, st.regions) {
			got = append(got, t.Text)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: fresh = %q, want %q", st.name, got, st.want)
		}
	}
}

// FuzzSegment feeds arbitrary screens and damage to the segmentation and preparation: whatever
// the pixels, blocks stay inside the screen and prepare's image has the size its header says.
func FuzzSegment(f *testing.F) {
	f.Add([]byte{0, 255, 0, 255, 17, 200}, uint8(16), uint8(3), uint8(2), uint8(5), uint8(5))
	f.Add(make([]byte, 64), uint8(8), uint8(0), uint8(0), uint8(8), uint8(8))
	f.Fuzz(func(t *testing.T, pix []byte, w, x, y, dw, dh uint8) {
		if w == 0 || len(pix) == 0 {
			return
		}
		width := int(w%64) + 1
		height := min(len(pix)/width+1, 64)
		img := image.NewRGBA(image.Rect(0, 0, width, height))
		for i := range img.Pix {
			img.Pix[i] = pix[i%len(pix)] ^ byte(i/7)
		}
		g := toGray(img, img.Bounds())
		d := image.Rect(int(x), int(y), int(x)+int(dw), int(y)+int(dh))
		r := grow(g, d)
		if !r.In(img.Bounds()) && !r.Empty() {
			t.Fatalf("grow(%v) = %v outside %v", d, r, img.Bounds())
		}
		for _, b := range blocks(g, img.Bounds()) {
			if !b.In(img.Bounds()) || b.Empty() {
				t.Fatalf("block %v outside %v", b.Rectangle, img.Bounds())
			}
			pgm := prepare(nil, img, b.Rectangle, 2)
			ow, oh := b.Dx()*2+16, b.Dy()*2+16
			var hw, hh int
			if _, err := fmtSscan(pgm, &hw, &hh); err != nil || hw != ow || hh != oh {
				t.Fatalf("prepare header %dx%d (%v), want %dx%d", hw, hh, err, ow, oh)
			}
		}
	})
}
