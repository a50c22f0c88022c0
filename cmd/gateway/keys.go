package gateway

import (
	"strings"
	"time"
	"unicode"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/index"
)

// Typed lines of graphical sessions. A VNC or RDP session's keyboard input is recorded as Key
// events (frame.Input) carrying the X11 keysym of the character the key typed, so the lines a
// user typed can be rebuilt and indexed as KindCommand: an auditor's search for "DROP TABLE"
// then finds the session where it was typed into a SQL tool, at the moment it was entered.
//
// The rules, kept simple because a desktop's focus and editing cannot be known from keys alone:
//   - a printable key press (frame.Input.Printable, no Control, Alt or Super held) appends its
//     character; BackSpace deletes the last one;
//   - Enter (main or keypad) ends the line, and so does a mouse click (typing into a form field,
//     then clicking its button) and the end of the session; Escape, Control+C and Control+U
//     abandon it;
//   - a line is indexed at the moment it ended.
//
// Redaction: under the default key policy printable keys are withheld and the recording holds
// only a capture.TypeRedacted count in their place. A line with any withheld key is skipped
// whole, never indexed in part: its recorded keys (BackSpace, Enter) say nothing, and what
// remains of a half-withheld line could be a fragment of a password.

// maxTypedLine bounds a line's length; a key held down or a paste by keystrokes goes no further.
const maxTypedLine = 4096

// X11 keysyms the typed-line rules look at (X11/keysymdef.h).
const (
	ksBackSpace = 0xff08
	ksReturn    = 0xff0d
	ksKPEnter   = 0xff8d
	ksEscape    = 0xff1b
	ksControlL  = 0xffe3
	ksControlR  = 0xffe4
	ksAltL      = 0xffe9
	ksAltR      = 0xffea
	ksSuperL    = 0xffeb
	ksSuperR    = 0xffec
)

// typedLines rebuilds typed lines from a session's events in time order. Not safe for concurrent
// use.
type typedLines struct {
	emit     func(index.Line)
	line     []rune
	withheld bool            // a key of the current line was withheld by the key policy
	mods     map[uint32]bool // modifiers held down
}

func newTypedLines(emit func(index.Line)) *typedLines {
	return &typedLines{emit: emit, mods: map[uint32]bool{}}
}

// Event takes one event of the session (others than input and redactions are ignored).
func (k *typedLines) Event(t time.Duration, typ capture.Type, payload []byte) {
	switch typ {
	case capture.TypeRedacted:
		k.withheld = true
		return
	case capture.TypeInput:
	default:
		return
	}
	in, err := frame.ParseInput(payload)
	if err != nil {
		return // the recorder keeps what it was given; a malformed payload types nothing
	}
	switch in.Kind {
	case frame.InputPointer:
		if in.Buttons&(frame.ButtonLeft|frame.ButtonMiddle|frame.ButtonRight) != 0 {
			k.end(t)
		}
		return
	case frame.InputKey:
	default:
		return
	}
	switch in.Keysym {
	case ksControlL, ksControlR, ksAltL, ksAltR, ksSuperL, ksSuperR:
		k.mods[in.Keysym] = in.Down
		return
	}
	if !in.Down {
		return
	}
	ctrl := k.mods[ksControlL] || k.mods[ksControlR]
	switch {
	case in.Keysym == ksReturn || in.Keysym == ksKPEnter:
		k.end(t)
	case in.Keysym == ksEscape || (ctrl && (in.Keysym == 'c' || in.Keysym == 'u' || in.Keysym == 'C' || in.Keysym == 'U')):
		k.reset()
	case in.Keysym == ksBackSpace:
		if n := len(k.line); n > 0 {
			k.line = k.line[:n-1]
		}
	case in.Printable() && !ctrl && !k.mods[ksAltL] && !k.mods[ksAltR] && !k.mods[ksSuperL] && !k.mods[ksSuperR]:
		if r := keysymRune(in.Keysym); r >= 0 && len(k.line) < maxTypedLine {
			k.line = append(k.line, r)
		}
	}
}

// End ends the session: a line typed but not entered is indexed too.
func (k *typedLines) End(t time.Duration) { k.end(t) }

func (k *typedLines) end(t time.Duration) {
	if !k.withheld {
		if s := strings.TrimSpace(string(k.line)); s != "" {
			k.emit(index.Line{Offset: t, Kind: index.KindCommand, Text: s})
		}
	}
	k.reset()
}

func (k *typedLines) reset() { k.line, k.withheld = k.line[:0], false }

// keysymRune is the character a printable keysym types, or -1.
func keysymRune(ks uint32) rune {
	switch {
	case ks >= 0x20 && ks <= 0x7e, ks >= 0xa0 && ks <= 0xff:
		return rune(ks) // Latin-1 keysyms are their code points
	case ks >= 0x01000100 && ks <= 0x0110ffff:
		if r := rune(ks - 0x01000000); unicode.IsPrint(r) {
			return r
		}
	case ks >= 0xffb0 && ks <= 0xffb9:
		return rune('0' + ks - 0xffb0) // keypad digits
	case ks >= 0xffaa && ks <= 0xffaf:
		return rune("*+,-./"[ks-0xffaa])
	}
	return -1
}
