package index

import (
	"bytes"
	"image"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hinshun/vt10x"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// Kind says where a line of text came from.
type Kind string

// Kinds of indexed text.
const (
	KindCommand Kind = "command"    // a line the user entered, as the target echoed it back
	KindScreen  Kind = "screen"     // a line the terminal showed
	KindOCR     Kind = "screen-ocr" // a line read by OCR from a graphical session's screen
)

// kinds are the known kinds, in the order a chunker closes its open chunks.
var kinds = []Kind{KindCommand, KindScreen, KindOCR}

// Line is one line of text found in a session, at Offset since the session start.
type Line struct {
	Offset time.Duration
	Kind   Kind
	Text   string
	// Region is where on the screen the text was read (KindOCR), zero for text sessions.
	Region image.Rectangle
}

// settle is how long output must pause before the screen counts as settled and its new lines are
// taken. Half a second separates a command's burst of output from the next one without taking every
// frame of a progress bar.
const settle = 500 * time.Millisecond

// vt10x keeps its glyph attributes unexported; this bit marks a cell after which the line wrapped.
const attrWrap = 1 << 6

// Extractor turns a session's events into Lines: commands when Enter is typed and screen text when
// the screen settles or lines are about to scroll off. It runs the terminal emulator (a few MB/s),
// so it belongs off the session's path: the live feed runs it on its own goroutine.
//
// Redacted input (capture.TypeRedacted) is never read: commands come from the screen, which shows
// only what the target echoed, and a no-echo prompt echoes nothing.
type Extractor struct {
	vt         vt10x.Terminal
	cols, rows int
	emit       func(Line)

	lastOut  time.Duration // time of the last output record
	dirty    bool          // output since the last snapshot
	newlines int           // line feeds since the last snapshot
	prev     map[string]int
	now      time.Duration
	pending  []byte        // an incomplete UTF-8 sequence held back from the last output
	entered  bool          // Enter was typed; the command line is taken when its echo is complete
	enterAt  time.Duration // when Enter was typed: the command's time
}

// NewExtractor returns an extractor for a terminal of cols x rows (80x24 when unknown) that calls
// emit with each line found, in time order. Sizes are clamped to 1..term.MaxSide a side, here and
// at each resize: the emulator allocates every cell, and a recording (one made before the gateway
// bounded sizes, or a damaged one being reindexed) may carry 65535 x 65535.
func NewExtractor(cols, rows int, emit func(Line)) *Extractor {
	if cols <= 0 || rows <= 0 {
		cols, rows = 80, 24
	}
	cols, rows = term.Clamp(cols, rows)
	return &Extractor{vt: vt10x.New(vt10x.WithSize(cols, rows)), cols: cols, rows: rows, emit: emit,
		prev: map[string]int{}}
}

// Event feeds one event of the session. Records of the event log use the same type numbers, so
// the reindexer passes them as events too; keyframes are output (they repaint the screen).
func (x *Extractor) Event(t time.Duration, typ capture.Type, payload []byte) {
	if t < x.now {
		t = x.now // time never runs backwards for the emitted lines
	}
	if x.entered && t-x.enterAt >= settle {
		x.enter()
	}
	if x.dirty && t-x.lastOut >= settle {
		x.snapshot(x.lastOut)
	}
	x.now = t
	if x.entered && typ != capture.TypeOutput && typ != capture.Type(keyframeType) {
		x.enter() // no echo came: take the line as it stands
	}
	switch typ {
	case capture.TypeOutput, capture.Type(keyframeType):
		if x.entered {
			// The command line is complete when the echo reaches the end of the line: the
			// target's answer to Enter is CR LF. Typed slowly, the line is already on screen and
			// the output starts with it; pasted with its Enter, the echo comes first.
			i := bytes.IndexAny(payload, "\r\n")
			if i < 0 {
				x.output(t, payload)
				return
			}
			x.output(t, payload[:i])
			x.enter()
			payload = payload[i:]
		}
		x.output(t, payload)
	case capture.TypeInput:
		if bytes.IndexByte(payload, '\r') >= 0 || bytes.IndexByte(payload, '\n') >= 0 {
			x.entered, x.enterAt = true, t
		}
	case capture.TypeResize:
		if cols, rows, err := capture.ParseResize(payload); err == nil && cols > 0 && rows > 0 {
			x.snapshot(t)
			x.cols, x.rows = term.Clamp(int(cols), int(rows))
			x.vt.Resize(x.cols, x.rows)
		}
	}
	// TypeRedacted carries only a count of withheld bytes; there is nothing to read.
}

// keyframeType is eventlog.TypeKeyframe (index reads the format's numbers; see encode/eventlog).
const keyframeType = 64

// Flush takes the screen as it stands at t (the end of the session, or a live session gone quiet),
// cursor line included.
func (x *Extractor) Flush(t time.Duration) {
	if t < x.now {
		t = x.now
	}
	if x.entered {
		x.enter()
	}
	x.snapshotAll(t, true)
}

// Settle takes the screen's new lines now, as if output had paused long enough: a live session
// gone quiet is not waiting for its next event to be indexed.
func (x *Extractor) Settle() {
	if x.entered {
		x.enter()
	}
	if x.dirty {
		x.snapshot(x.lastOut)
	}
}

// output feeds the emulator, cutting the payload so that no more than rows-2 line feeds pass
// between snapshots: a line cannot scroll off before a snapshot has seen it.
func (x *Extractor) output(t time.Duration, p []byte) {
	x.lastOut = t
	// vt10x drops a rune cut at the end of a write: hold an incomplete one back for the next.
	if len(x.pending) > 0 {
		p = append(x.pending, p...)
		x.pending = nil
	}
	if cut := incompleteTail(p); cut > 0 {
		x.pending = append([]byte(nil), p[len(p)-cut:]...)
		p = p[:len(p)-cut]
	}
	limit := max(x.rows-2, 1)
	for len(p) > 0 {
		room := limit - x.newlines
		cut := len(p)
		for i, n := 0, 0; i < len(p); i++ {
			if p[i] == '\n' {
				n++
				if n == room {
					cut = i + 1
					break
				}
			}
		}
		chunk := p[:cut]
		p = p[cut:]
		x.vt.Write(chunk)
		x.dirty = true
		x.newlines += bytes.Count(chunk, []byte{'\n'})
		if x.newlines >= limit {
			x.snapshot(t)
		}
	}
}

// enter records the command line under the cursor: the prompt and what the target echoed of the
// user's typing, joined across wrapped rows, with the prompt cut off.
func (x *Extractor) enter() {
	t := x.enterAt
	x.entered = false
	x.vt.Lock()
	if x.vt.Mode()&vt10x.ModeAltScreen != 0 {
		x.vt.Unlock() // Enter in a full-screen program (an editor, a pager) is not a command
		return
	}
	cur := x.vt.Cursor()
	y := cur.Y
	for y > 0 && x.wrapped(y-1) {
		y--
	}
	var b strings.Builder
	for ; y <= cur.Y; y++ {
		b.WriteString(x.row(y, y < cur.Y))
	}
	x.vt.Unlock()
	if cmd := stripPrompt(strings.TrimSpace(b.String())); cmd != "" {
		x.emit(Line{Offset: t, Kind: KindCommand, Text: cmd})
	}
}

// snapshot emits the settled screen's new lines, leaving out the cursor's row (a line still being
// typed or written).
func (x *Extractor) snapshot(t time.Duration) { x.snapshotAll(t, false) }

func (x *Extractor) snapshotAll(t time.Duration, withCursor bool) {
	x.dirty, x.newlines = false, 0
	x.vt.Lock()
	cur := x.vt.Cursor()
	lines := make([]string, x.rows)
	for y := range x.rows {
		lines[y] = strings.TrimRight(x.row(y, false), " ")
	}
	x.vt.Unlock()
	next := make(map[string]int, len(x.prev))
	seen := map[string]int{}
	for y, l := range lines {
		if strings.TrimSpace(l) == "" || (y == cur.Y && !withCursor) {
			continue
		}
		next[l]++
		seen[l]++
		// A line shown as often in the previous snapshot is the same line, scrolled or redrawn.
		if seen[l] > x.prev[l] {
			x.emit(Line{Offset: t, Kind: KindScreen, Text: l})
		}
	}
	x.prev = next
}

// row returns the text of row y; full keeps trailing blanks (a wrapped row's blanks are text).
// The caller holds the emulator's lock.
func (x *Extractor) row(y int, full bool) string {
	var b strings.Builder
	for c := range x.cols {
		b.WriteRune(printable(x.vt.Cell(c, y).Char))
	}
	if full {
		return b.String()
	}
	return strings.TrimRight(b.String(), " ")
}

// wrapped reports whether row y continues on the next row. The caller holds the emulator's lock.
func (x *Extractor) wrapped(y int) bool { return x.vt.Cell(x.cols-1, y).Mode&attrWrap != 0 }

// promptRE matches the usual shell prompts: "user@host:~$ ", "[user@host dir]# ", "host% ",
// "> ". The prompt is cut off a command line so that a search for a command matches the command.
var promptRE = regexp.MustCompile(`^(?:\[[^\]]*\]|[^\s$#%>]*)\s?[$#%>](?: |$)`)

func stripPrompt(s string) string {
	if loc := promptRE.FindStringIndex(s); loc != nil {
		return strings.TrimSpace(s[loc[1]:])
	}
	return s
}

// printable maps what vt10x may leave in a cell but a terminal would not draw to a space.
func printable(c rune) rune {
	if c < ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) || c > 0x10ffff {
		return ' '
	}
	return c
}

// incompleteTail returns the length of a UTF-8 sequence cut short at the end of b, or 0.
func incompleteTail(b []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0
		}
		if c >= 0xc0 {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}
