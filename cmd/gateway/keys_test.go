package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/index"
)

// keyEvent is one event of a user's scripted input (typed: a string key by key, down and up).
type keyEvent struct {
	typ     capture.Type
	payload []byte
}

func typed(s string) []keyEvent {
	var out []keyEvent
	for _, r := range s {
		ks := uint32(r)
		if r > 0xff {
			ks = 0x01000000 | uint32(r)
		}
		out = append(out, key(ks, true), key(ks, false))
	}
	return out
}

func key(ks uint32, down bool) keyEvent {
	return keyEvent{capture.TypeInput, frame.Input{Kind: frame.InputKey, Down: down, Keysym: ks}.Append(nil)}
}

func withheld(n int) []keyEvent {
	out := make([]keyEvent, n)
	for i := range out {
		out[i] = keyEvent{capture.TypeRedacted, []byte{0, 0, 0, 1}}
	}
	return out
}

func click() keyEvent {
	return keyEvent{capture.TypeInput, frame.Input{Kind: frame.InputPointer, X: 5, Y: 5, Buttons: frame.ButtonLeft}.Append(nil)}
}

func script(parts ...[]keyEvent) []keyEvent { return slices.Concat(parts...) }

func one(e keyEvent) []keyEvent { return []keyEvent{e} }

var enter = one(key(ksReturn, true))

func TestTypedLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []keyEvent
		want []string
	}{
		{"enter ends a line", script(typed("DROP TABLE customers;"), enter, typed("ls"), enter), []string{"DROP TABLE customers;", "ls"}},
		{"backspace edits", script(typed("lss"), one(key(ksBackSpace, true)), typed(" -l"), enter), []string{"ls -l"}},
		{"keypad enter and digits", script(typed("x="), one(key(0xffb4, true)), one(key(0xffab, true)), one(key(0xffb2, true)), one(key(ksKPEnter, true))), []string{"x=4+2"}},
		{"unicode keysyms", script(typed("café ☃"), enter), []string{"café ☃"}},
		{"click ends a field", script(typed("db01.example"), one(click()), typed("ok"), enter), []string{"db01.example", "ok"}},
		{"escape abandons", script(typed("rm -rf /"), one(key(ksEscape, true)), typed("echo hi"), enter), []string{"echo hi"}},
		{"control-c abandons, shortcuts are not text", script(typed("oops"), one(key(ksControlL, true)), typed("c"), one(key(ksControlL, false)), typed("ok"), enter), []string{"ok"}},
		{"blank lines are skipped", script(typed("   "), enter, enter), nil},
		{"end of session ends the line", typed("unfinished"), []string{"unfinished"}},
		{"withheld keys: the line is skipped", script(withheld(8), enter, typed("whoami"), enter), []string{"whoami"}},
		{"half withheld: skipped whole", script(typed("mysql -p"), withheld(6), enter), nil},
		{"withheld then backspaced: still skipped", script(withheld(3), one(key(ksBackSpace, true)), one(key(ksBackSpace, true)), one(key(ksBackSpace, true)), typed("x"), enter), nil},
		{"malformed input types nothing", script(one(keyEvent{capture.TypeInput, []byte{1, 2}}), typed("a"), enter), []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var offs []time.Duration
			k := newTypedLines(func(l index.Line) {
				if l.Kind != index.KindCommand {
					t.Errorf("kind %q", l.Kind)
				}
				got, offs = append(got, l.Text), append(offs, l.Offset)
			})
			for i, e := range tc.in {
				k.Event(time.Duration(i)*time.Millisecond, e.typ, e.payload)
			}
			k.End(time.Hour)
			if !slices.Equal(got, tc.want) {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
			if !slices.IsSorted(offs) {
				t.Errorf("offsets %v out of order", offs)
			}
		})
	}
}

// FuzzTypedLines: any event stream yields valid lines, none longer than the bound.
func FuzzTypedLines(f *testing.F) {
	f.Add([]byte{byte(capture.TypeInput), 1, 1, 0, 0, 0, 'a', 0, 0})
	f.Add([]byte{byte(capture.TypeRedacted), 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k := newTypedLines(func(l index.Line) {
			if n := len([]rune(l.Text)); n == 0 || n > maxTypedLine {
				t.Fatalf("line of %d runes", n)
			}
		})
		for i := 0; len(b) > 0; i++ {
			n := min(int(b[0]%12)+1, len(b)-1)
			if n < 0 {
				break
			}
			k.Event(time.Duration(i), capture.Type(b[0]%8), b[1:1+n])
			b = b[1+n:]
		}
		k.End(0)
	})
}
