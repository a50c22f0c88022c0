package ocr

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkSessionHour answers issue #11: the CPU seconds of OCR per session-hour of a typical
// admin desktop. It plays a scripted quarter of an hour (about 17 minutes of session time) of a
// 1920x1080 desktop through Replay, which applies the live watcher's settle/interval/max-delay
// rule on the session clock, so no time is slept and the reads fall where a live Watch would put
// them (with nothing dropped). The figures are scaled from the simulated span to one hour, which
// the metric names say ("/h"). The first read of the whole screen, which every session pays once
// at its start whatever its length, is left out of the scaling and reported alone.
//
// The session: a light xterm of 96x40 where the admin types a command every 20-40 s (a key every
// 80-250 ms, with pauses), which prints 1-20 lines (the terminal scrolls once full, so every line
// moves and is read again, as it would be live); a pager (less) paged a few times; top refreshing
// every 3 s; an editor (vim in a second xterm) for a few minutes; a dialog; idle stretches of
// minutes; a taskbar clock that changes every minute; two static windows (psql, a table).
// Text is real rendered text: words and lines cut at blank cells from the fixture screenshots
// (light.png for the terminal, editor.png for vim), so tesseract sees the glyphs it sees live.
// Everything is drawn from one seeded generator, so every iteration replays the same session.
//
// Run it alone, with one iteration (the test binary re-execs itself with OMP_THREAD_LIMIT=1):
//
//	go test ./index/ocr -run '^$' -bench SessionHour -benchtime 1x
func BenchmarkSessionHour(b *testing.B) {
	light, _ := loadScene(b, "light")
	editor, _ := loadScene(b, "editor")
	dialog, _ := loadScene(b, "dialog")
	dark, _ := loadScene(b, "dark")
	table, _ := loadScene(b, "table")
	// Cell geometry measured on the fixtures: xterm's DejaVu Sans Mono 11 is 9x19 from (2,4);
	// vim's 8x13 font is 8x13 from (2,3). The prompt line of light.png (13) is not a word source.
	term := newTextSource(light, 2, 4, 9, 19, 13)
	vim := newTextSource(editor, 2, 3, 8, 13, 9)
	p := startPool(b, DefaultConfig())

	var sim, cpu, first time.Duration
	var reads, lines, frames int
	var phases map[string]phaseStats
	for b.Loop() {
		d := newDesktop(b, p, term, vim, dialog, dark, table)
		st0 := p.Stats()
		d.start()
		st1 := p.Stats()
		first += st1.CPU - st0.CPU
		d.script()
		d.flush()
		st2 := p.Stats()
		sim += d.t
		cpu += st2.CPU - st1.CPU
		reads += int(st2.Done - st1.Done)
		lines += d.lines
		frames += d.frames
		phases = d.phases
	}
	// Where the CPU went, in the last iteration (-v shows it).
	for _, name := range slices.Sorted(maps.Keys(phases)) {
		ph := phases[name]
		b.Logf("%-8s %5.1f min of session, %3d reads, %5.1f s OCR CPU (%6.1f s per hour of it)",
			name, ph.span.Minutes(), ph.reads, ph.cpu.Seconds(), ph.cpu.Seconds()*float64(time.Hour)/float64(ph.span))
	}
	perHour := float64(time.Hour) / float64(sim) // sim sums every iteration, as the counts do
	cpuHour := cpu.Seconds() * perHour
	b.ReportMetric(cpuHour, "ocr_cpu_s/h")
	b.ReportMetric(float64(reads)*perHour, "reads/h")
	b.ReportMetric(float64(lines)*perHour, "lines/h")
	b.ReportMetric(float64(frames)*perHour, "frames/h")
	b.ReportMetric(3600/cpuHour, "sessions/core")
	b.ReportMetric(first.Seconds()/float64(b.N), "first_screen_cpu_s")
	b.ReportMetric(sim.Minutes()/float64(b.N), "simulated_min")
}

// textSource is a fixture screenshot of a character-cell terminal, cut into cells.
type textSource struct {
	img               *image.RGBA
	x0, y0, cw, pitch int         // the top-left of cell (0,0) and the cell size
	words             [][]cellRun // per text line: runs of non-blank cells
}

// cellRun is a run of cells of one line.
type cellRun struct{ from, n int }

func newTextSource(img *image.RGBA, x0, y0, cw, pitch, lines int) *textSource {
	s := &textSource{img: img, x0: x0, y0: y0, cw: cw, pitch: pitch}
	for l := range lines {
		var ws []cellRun
		run := -1
		for c := 0; ; c++ {
			blank := s.blank(l, c)
			if !blank && run < 0 {
				run = c
			}
			if blank && run >= 0 {
				ws = append(ws, cellRun{run, c - run})
				run = -1
			}
			if x0+(c+1)*cw > img.Rect.Max.X {
				break
			}
		}
		s.words = append(s.words, ws)
	}
	return s
}

// blank reports whether cell (line, col) is background: no pixel more than 64 levels away from
// the background (a pixel near the bottom-right corner) in any channel. Faint anti-aliasing
// bleeding in from a neighbour is not a glyph.
func (s *textSource) blank(line, col int) bool {
	bg := s.img.RGBAAt(s.img.Rect.Max.X-3, s.img.Rect.Max.Y-3)
	r := image.Rect(s.x0+col*s.cw, s.y0+line*s.pitch, s.x0+(col+1)*s.cw, s.y0+(line+1)*s.pitch).Intersect(s.img.Rect)
	if r.Empty() {
		return true
	}
	far := func(a, b uint8) bool { return int(a)-int(b) > 64 || int(b)-int(a) > 64 }
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := s.img.RGBAAt(x, y)
			if far(c.R, bg.R) || far(c.G, bg.G) || far(c.B, bg.B) {
				return false
			}
		}
	}
	return true
}

// seg draws n cells of a source line, from column from, at column at of a grid row.
type seg struct{ line, from, n, at int }

// row is one row of a grid: its segments, of which the cells before upto are shown (the rest is
// still being typed).
type row struct {
	segs []seg
	upto int
}

func full(segs []seg) row { return row{segs, 1 << 20} }

// grid is a terminal window on the screen: rows of cells in one font.
type grid struct {
	screen *image.RGBA
	font   *textSource
	at     image.Point // the top-left of cell (0,0)
	cols   int
	rows   []row
	cur    int // the row the next line goes to
}

func newGrid(screen *image.RGBA, font *textSource, at image.Point, cols, rows int) *grid {
	g := &grid{screen: screen, font: font, at: at, cols: cols, rows: make([]row, rows)}
	// The window: a border of the terminal's background around the cells, framed in grey.
	win := g.bounds().Inset(-3)
	draw.Draw(screen, win.Inset(-1), image.NewUniform(color.RGBA{128, 128, 128, 255}), image.Point{}, draw.Src)
	draw.Draw(screen, win, image.NewUniform(color.White), image.Point{}, draw.Src)
	return g
}

func (g *grid) bounds() image.Rectangle {
	return image.Rect(0, 0, g.cols*g.font.cw, len(g.rows)*g.font.pitch).Add(g.at)
}

// draw paints row r.
func (g *grid) draw(r int) {
	f := g.font
	y := g.at.Y + r*f.pitch
	draw.Draw(g.screen, image.Rect(g.at.X, y, g.at.X+g.cols*f.cw, y+f.pitch), image.NewUniform(color.White), image.Point{}, draw.Src)
	for _, s := range g.rows[r].segs {
		n := min(s.n, g.rows[r].upto-s.at, g.cols-s.at)
		if n <= 0 {
			continue
		}
		dst := image.Rect(0, 0, n*f.cw, f.pitch).Add(image.Pt(g.at.X+s.at*f.cw, y))
		draw.Draw(g.screen, dst, f.img, image.Pt(f.x0+s.from*f.cw, f.y0+s.line*f.pitch), draw.Src)
	}
}

func (g *grid) drawAll() {
	for r := range g.rows {
		g.draw(r)
	}
}

// put writes a line below the last one, scrolling the grid up by a line when it is full, and
// returns the row it went to.
func (g *grid) put(l row) int {
	if g.cur == len(g.rows) {
		copy(g.rows, g.rows[1:])
		g.rows[len(g.rows)-1] = l
		g.drawAll()
		return len(g.rows) - 1
	}
	g.rows[g.cur] = l
	g.draw(g.cur)
	g.cur++
	return g.cur - 1
}

// words returns k random words of src placed one blank cell apart from column at, as many as fit
// before column cols.
func words(rng *rand.Rand, src *textSource, k, at, cols int) []seg {
	var out []seg
	for range k {
		l := rng.IntN(len(src.words))
		if len(src.words[l]) == 0 {
			continue
		}
		w := src.words[l][rng.IntN(len(src.words[l]))]
		if at+w.n > cols {
			break
		}
		out = append(out, seg{l, w.from, w.n, at})
		at += w.n + 1
	}
	return out
}

// textLine is a line of output: half the time the start of a real line (up to a word's end),
// otherwise words from anywhere.
func textLine(rng *rand.Rand, src *textSource, cols int) []seg {
	if rng.IntN(2) == 0 {
		l := rng.IntN(len(src.words))
		ws := src.words[l]
		if len(ws) > 0 {
			w := ws[rng.IntN(len(ws))]
			return []seg{{l, 0, min(w.from+w.n, cols), 0}}
		}
	}
	return words(rng, src, 3+rng.IntN(10), 0, cols)
}

func width(segs []seg) int {
	w := 0
	for _, s := range segs {
		w = max(w, s.at+s.n)
	}
	return w
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
}

// desktop is the simulated session: its screen, its clock and its replay.
type desktop struct {
	tb     testing.TB
	ctx    context.Context
	pool   *Pool
	rp     *Replay
	rng    *rand.Rand
	screen *image.RGBA
	t      time.Duration // the session clock
	lines  int           // lines reported by the replay
	frames int           // frames shown to it
	phases map[string]phaseStats

	term   *grid       // the admin's terminal
	vim    *textSource // the editor's font
	clock  *grid       // the taskbar clock
	dialog *image.RGBA
}

var wallpaper = image.NewUniform(color.RGBA{30, 60, 120, 255})

func newDesktop(tb testing.TB, p *Pool, term, vim *textSource, dialog, dark, table *image.RGBA) *desktop {
	rp, err := p.NewReplay(DefaultWatchConfig())
	if err != nil {
		tb.Fatal(err)
	}
	screen := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	draw.Draw(screen, screen.Rect, wallpaper, image.Point{}, draw.Src)
	// The taskbar, and two windows that stay as they are: read once, with the first screen.
	draw.Draw(screen, image.Rect(0, 1052, 1920, 1080), image.NewUniform(color.RGBA{200, 200, 200, 255}), image.Point{}, draw.Src)
	draw.Draw(screen, dark.Rect.Add(image.Pt(1000, 20)), dark, dark.Rect.Min, draw.Src)
	draw.Draw(screen, table.Rect.Add(image.Pt(1000, 320)), table, table.Rect.Min, draw.Src)
	d := &desktop{
		tb: tb, ctx: context.Background(), pool: p, rp: rp, phases: map[string]phaseStats{}, rng: rand.New(rand.NewPCG(11, 3600)),
		screen: screen, vim: vim, dialog: dialog,
		term:  newGrid(screen, term, image.Pt(24, 24), 96, 40),
		clock: newGrid(screen, term, image.Pt(1920-8*9-16, 1056), 8, 1),
	}
	// What the terminal showed before: half a screen of earlier commands, then a prompt.
	for range 20 {
		d.term.put(full(textLine(d.rng, term, 96)))
	}
	d.prompt()
	d.tick()
	return d
}

// start shows the first screen and reads all of it.
func (d *desktop) start() {
	d.show()
	d.flush()
	d.wait(time.Second)
}

// script is one quarter of an hour of the admin's work, in the proportions of an hour.
func (d *desktop) script() {
	d.phase("commands", func() { d.commands(4 * time.Minute) })
	d.phase("dialog", d.popup)
	d.phase("idle", func() { d.wait(between(d.rng, 2*time.Minute, 4*time.Minute)) }) // a ticket, a call
	d.phase("less", d.pager)
	d.phase("commands", func() { d.commands(2 * time.Minute) })
	d.phase("vim", func() { d.editor(between(d.rng, 2*time.Minute, 4*time.Minute)) })
	d.phase("commands", func() { d.commands(time.Minute) })
	d.phase("top", func() { d.top(between(d.rng, time.Minute, 90*time.Second)) })
	d.phase("idle", func() { d.wait(between(d.rng, 2*time.Minute, 3*time.Minute)) })
}

// phase runs one kind of activity and adds its session time, OCR CPU and reads to d.phases. Reads
// run inside Frame, so a phase is charged for what it changed, bar a read due as it began.
func (d *desktop) phase(name string, f func()) {
	t0, st0 := d.t, d.pool.Stats()
	f()
	st := d.pool.Stats()
	ph := d.phases[name]
	ph.span += d.t - t0
	ph.cpu += st.CPU - st0.CPU
	ph.reads += int(st.Done - st0.Done)
	d.phases[name] = ph
}

// phaseStats is what one kind of activity cost.
type phaseStats struct {
	span, cpu time.Duration
	reads     int
}

// show hands the screen as it is now to the replay.
func (d *desktop) show() {
	res, err := d.rp.Frame(d.ctx, d.t, d.screen)
	if err != nil {
		d.tb.Fatal(err)
	}
	d.count(res)
	d.frames++
}

func (d *desktop) flush() {
	res, err := d.rp.Flush(d.ctx)
	if err != nil {
		d.tb.Fatal(err)
	}
	d.count(res)
}

func (d *desktop) count(res []Result) {
	for _, r := range res {
		d.lines += len(r.Texts)
	}
}

// wait lets dt of session time pass; the taskbar clock changes at every minute on the way.
func (d *desktop) wait(dt time.Duration) {
	end := d.t + dt
	for m := (d.t/time.Minute + 1) * time.Minute; m <= end; m += time.Minute {
		d.t = m
		d.tick()
		d.show()
	}
	d.t = end
}

// tick shows the time: one of the three times on light.png's log lines (10-12, columns 7-14).
func (d *desktop) tick() {
	d.clock.rows[0] = full([]seg{{10 + int(d.t/time.Minute)%3, 7, 8, 0}})
	d.clock.draw(0)
}

// prompt prints "$ " on a new line.
func (d *desktop) prompt() int {
	return d.term.put(full([]seg{{13, 0, 1, 0}}))
}

// typeCommand types a command of 2-6 words at the prompt, a key every 80-250 ms with the odd
// pause to think, and presses Enter.
func (d *desktop) typeCommand() {
	g := d.term
	r := g.cur - 1 // the prompt
	g.rows[r].segs = append(g.rows[r].segs, words(d.rng, g.font, 2+d.rng.IntN(5), 2, g.cols)...)
	for k := 3; k <= width(g.rows[r].segs); k++ {
		g.rows[r].upto = k
		g.draw(r)
		d.show()
		pause := between(d.rng, 80*time.Millisecond, 250*time.Millisecond)
		if d.rng.IntN(20) == 0 {
			pause = between(d.rng, 500*time.Millisecond, 2*time.Second)
		}
		d.wait(pause)
	}
	g.rows[r].upto = 1 << 20
	d.wait(between(d.rng, 200*time.Millisecond, time.Second)) // reading it over before Enter
}

// commands runs commands for about span: each is typed, prints 1-20 lines in one to three
// bursts, and the next one starts 20-40 s after it.
func (d *desktop) commands(span time.Duration) {
	end := d.t + span
	for d.t < end {
		next := d.t + between(d.rng, 20*time.Second, 40*time.Second)
		d.typeCommand()
		n := 1 + d.rng.IntN(20)
		bursts := 1 + d.rng.IntN(3)
		for i := range n {
			d.term.put(full(textLine(d.rng, d.term.font, d.term.cols)))
			if (i+1)%((n+bursts-1)/bursts) == 0 && i < n-1 {
				d.show()
				d.wait(between(d.rng, 50*time.Millisecond, 400*time.Millisecond))
			}
		}
		d.prompt()
		d.show()
		if next > d.t {
			d.wait(next - d.t)
		}
	}
}

// fullScreen runs a full-screen program in the terminal (its alternate screen): page draws the
// i-th screen into the grid; each is shown for as long as hold says; the shell's screen comes back
// after.
func (d *desktop) fullScreen(page func(i int), screens int, hold func() time.Duration) {
	d.typeCommand()
	g := d.term
	saved, cur := append([]row(nil), g.rows...), g.cur
	for i := range screens {
		page(i)
		d.show()
		d.wait(hold())
	}
	copy(g.rows, saved)
	g.cur = cur
	g.drawAll()
	d.prompt()
	d.show()
}

// pager is less over a long file: 3-6 pages, read for 5-15 s each.
func (d *desktop) pager() {
	g := d.term
	d.fullScreen(func(int) {
		for r := range g.rows {
			g.rows[r] = full(textLine(d.rng, g.font, g.cols))
		}
		g.rows[len(g.rows)-1] = full([]seg{{13, 0, 1, 0}}) // less's prompt
		g.drawAll()
	}, 3+d.rng.IntN(4), func() time.Duration { return between(d.rng, 5*time.Second, 15*time.Second) })
}

// top refreshes every 3 s for about span: its header and a quarter of its process rows change.
func (d *desktop) top(span time.Duration) {
	g := d.term
	d.fullScreen(func(i int) {
		if i == 0 {
			for r := range g.rows {
				g.rows[r] = full(textLine(d.rng, g.font, g.cols))
			}
			g.drawAll()
			return
		}
		const header = 6       // the summary lines and the column titles; process rows follow
		changed := []int{0, 2} // the time and the load, the task counts
		for _, p := range d.rng.Perm(len(g.rows) - header)[:len(g.rows)/4] {
			changed = append(changed, header+p)
		}
		for _, r := range changed {
			g.rows[r] = full(textLine(d.rng, g.font, g.cols))
			g.draw(r)
		}
	}, int(span/(3*time.Second)), func() time.Duration { return 3 * time.Second })
}

// popup shows a dialog in the middle of the screen for 10-20 s, until the admin dismisses it.
func (d *desktop) popup() {
	at := image.Pt(960-d.dialog.Rect.Dx()/2, 540-d.dialog.Rect.Dy()/2)
	r := d.dialog.Rect.Add(at)
	under := image.NewRGBA(r)
	draw.Draw(under, r, d.screen, r.Min, draw.Src)
	draw.Draw(d.screen, r, d.dialog, d.dialog.Rect.Min, draw.Src)
	d.show()
	d.wait(between(d.rng, 10*time.Second, 20*time.Second))
	draw.Draw(d.screen, r, under, r.Min, draw.Src)
	d.show()
}

// editor is vim in a second xterm (64x40, 8x13 font) for about span: every 5-20 s the admin types
// a new line (lines below move down), deletes one (lines below move up) or pages down.
func (d *desktop) editor(span time.Duration) {
	d.typeCommand()
	g := newGrid(d.screen, d.vim, image.Pt(1000, 460), 64, 40)
	file := func(r, off int) row { // the file's lines, as in editor.png, from line off
		return full([]seg{{(r + off) % len(d.vim.words), 0, 64, 0}})
	}
	off := 0
	for r := range g.rows {
		g.rows[r] = file(r, off)
	}
	g.drawAll()
	d.show()
	end := d.t + span
	for d.t < end {
		d.wait(between(d.rng, 5*time.Second, 20*time.Second))
		r := d.rng.IntN(len(g.rows) - 1)
		switch k := d.rng.IntN(10); {
		case k < 6: // type a new line at r
			copy(g.rows[r+1:], g.rows[r:len(g.rows)-1])
			g.rows[r] = row{segs: words(d.rng, d.vim, 2+d.rng.IntN(6), 0, g.cols)}
			for i := r; i < len(g.rows); i++ {
				g.draw(i)
			}
			d.show()
			for k := 1; k <= width(g.rows[r].segs); k++ {
				g.rows[r].upto = k
				g.draw(r)
				d.show()
				d.wait(between(d.rng, 80*time.Millisecond, 250*time.Millisecond))
			}
		case k < 8: // delete line r
			copy(g.rows[r:], g.rows[r+1:])
			g.rows[len(g.rows)-1] = file(len(g.rows)-1, off)
			for i := r; i < len(g.rows); i++ {
				g.draw(i)
			}
			d.show()
		default: // page down
			off += len(g.rows) / 2
			for r := range g.rows {
				g.rows[r] = file(r, off)
			}
			g.drawAll()
			d.show()
		}
	}
	// :wq closes the window; the shell prompts again.
	draw.Draw(d.screen, g.bounds().Inset(-4), wallpaper, image.Point{}, draw.Src)
	d.prompt()
	d.show()
}
