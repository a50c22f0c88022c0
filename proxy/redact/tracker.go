package redact

import "regexp"

const (
	// window is how many bytes at the end of a chunk are scanned. Only the last line matters and
	// a prompt is short, so a long chunk is entered this far before its end, in the ground state.
	// Starting there may misread the tail of an escape sequence cut by the jump as text; that text
	// sits at the start of the line, away from the end where a prompt must be.
	window = 1024
	// lineCap bounds the stripped last line that is kept; when it fills, its older half goes.
	lineCap = 256
	// stringCap bounds an OSC/DCS string: past it the string is taken as text again, so a stray
	// ESC ] in binary output cannot hide every later prompt.
	stringCap = 512
	// typedCap bounds the typed characters kept to recognise an echo.
	typedCap = 64
)

// Parser states for ECMA-48 escape sequences.
const (
	stGround   = iota
	stEsc      // after ESC
	stEscInter // ESC followed by intermediates (0x20-0x2F), waiting for the final byte
	stCSI      // ESC [ ... until a final byte 0x40-0x7E
	stString   // OSC, DCS, SOS, PM, APC: until BEL or ST (ESC \)
	stStringEsc
)

// Tracker follows one terminal session and says when the user's input is a secret. Output and
// Input must not be called concurrently; the gateway calls Secret for a chunk of input before it
// passes that chunk to Input, so the keystrokes that end the secret (the Enter) are still withheld.
type Tracker struct {
	prompt *regexp.Regexp

	line  [lineCap]byte // the stripped tail of the last output line
	n     int
	state int
	slen  int // bytes into the current escape string

	pending bool // output changed since the prompt was last checked
	secret  bool

	// Echo detection while secret: the printable keys typed since the prompt and how many of
	// them the target has printed back, in order. Wiped when the secret state ends.
	typed   [typedCap]byte
	ntyped  int
	echoed  int
	noMatch bool // the target printed something that is not the typed text: not an echo
}

// NewTracker returns a Tracker that treats the end of the last output line as a secret prompt
// when prompt matches it. A nil prompt means DefaultPrompt. The pattern is matched against the
// last line after ANSI escape sequences and trailing spaces are removed, kept to its last 256
// bytes; anchor it with $.
func NewTracker(prompt *regexp.Regexp) *Tracker {
	if prompt == nil {
		prompt = DefaultPrompt
	}
	return &Tracker{prompt: prompt}
}

// Output feeds a chunk of what the target sent, split anywhere.
func (t *Tracker) Output(p []byte) {
	if len(p) == 0 {
		return
	}
	start := 0
	if len(p) > window {
		start = len(p) - window
	}
	// Only the text after the last line break can be the last line: find it from the end.
	for i := len(p) - 1; i >= start; i-- {
		if c := p[i]; c == '\n' || c == '\r' {
			start = i + 1
			break
		}
	}
	if start > 0 {
		if t.secret {
			// Something other than the echo of a short secret went by.
			t.noMatch = true
		}
		t.n, t.state, t.slen = 0, stGround, 0
	}
	t.scan(p[start:])
	t.pending = true
	if t.secret && !t.noMatch && t.echoed > 0 {
		// The target prints the keys back: echo is on, so this was not a secret prompt.
		t.endSecret()
	}
}

// scan runs the escape-sequence parser over p, keeping the printed text of the current line.
func (t *Tracker) scan(p []byte) {
	for _, c := range p {
		switch t.state {
		case stGround:
			switch {
			case c >= 0x20 && c != 0x7f:
				t.text(c)
			case c == 0x1b:
				t.state = stEsc
			case c == '\n' || c == '\r':
				t.n = 0
			case c == '\b':
				if t.n > 0 {
					t.n--
				}
			case c == '\t':
				t.text(' ')
			}
		case stEsc:
			switch {
			case c == '[':
				t.state = stCSI
			case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
				t.state, t.slen = stString, 0
			case c >= 0x20 && c <= 0x2f:
				t.state = stEscInter
			case c == 0x1b:
				// stay: a new escape begins
			default:
				t.state = stGround
			}
		case stEscInter:
			if c >= 0x30 && c <= 0x7e {
				t.state = stGround
			} else if c == 0x1b {
				t.state = stEsc
			}
		case stCSI:
			switch {
			case c >= 0x40 && c <= 0x7e:
				t.state = stGround
			case c == 0x1b:
				t.state = stEsc
			case c == 0x18 || c == 0x1a: // CAN, SUB abort the sequence
				t.state = stGround
			}
		case stString, stStringEsc:
			t.slen++
			switch {
			case c == 0x07:
				t.state = stGround
			case t.state == stStringEsc && c == '\\':
				t.state = stGround
			case c == 0x1b:
				t.state = stStringEsc
			case t.slen > stringCap:
				t.state = stGround
			default:
				t.state = stString
			}
		}
	}
}

// text appends one printed byte to the line and, while secret, checks it against the typed keys.
func (t *Tracker) text(c byte) {
	if t.n == lineCap {
		t.n = copy(t.line[:], t.line[lineCap/2:])
	}
	t.line[t.n] = c
	t.n++
	if t.secret && !t.noMatch {
		if t.echoed < t.ntyped && t.echoed < typedCap && t.typed[t.echoed] == c {
			t.echoed++
		} else {
			t.noMatch = true
		}
	}
}

// Secret reports whether input should be withheld from the recording now.
func (t *Tracker) Secret() bool {
	t.settle()
	return t.secret
}

// settle checks the prompt against output that arrived since the last check. Output never ends
// a secret by itself (a prompt with pwfeedback prints '*' per key): only the keys, or an echo, do.
func (t *Tracker) settle() {
	if !t.pending || t.secret {
		return
	}
	t.pending = false
	end := t.n
	for end > 0 && (t.line[end-1] == ' ' || t.line[end-1] == '\t') {
		end--
	}
	if end > 0 && t.prompt.Match(t.line[:end]) {
		t.secret = true
		t.ntyped, t.echoed, t.noMatch = 0, 0, false
	}
}

// Input feeds a chunk of what the user typed. Enter (CR or LF), Ctrl-C and Ctrl-D end the secret.
func (t *Tracker) Input(p []byte) {
	t.settle()
	if !t.secret {
		return
	}
	for _, c := range p {
		switch {
		case c == '\r' || c == '\n' || c == 0x03 || c == 0x04:
			t.endSecret()
			// Output that was already on the line when the secret ended is not a new prompt.
			t.pending = false
			return
		case c >= 0x20 && c != 0x7f:
			if t.ntyped < typedCap {
				t.typed[t.ntyped] = c
			}
			t.ntyped++
		default:
			// Backspace and other editing keys make the echo unrecognisable; stay secret.
			t.noMatch = true
		}
	}
}

func (t *Tracker) endSecret() {
	t.secret = false
	t.typed = [typedCap]byte{}
	t.ntyped, t.echoed, t.noMatch = 0, 0, false
}
