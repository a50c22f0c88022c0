package frame

import (
	"encoding/binary"
	"fmt"
)

// Input kinds (doc.go).
const (
	InputKey       byte = 1
	InputPointer   byte = 2
	InputClipboard byte = 3
)

// Pointer button bits (RFB's mask).
const (
	ButtonLeft       uint8 = 1
	ButtonMiddle     uint8 = 2
	ButtonRight      uint8 = 4
	ButtonWheelUp    uint8 = 8
	ButtonWheelDown  uint8 = 16
	ButtonWheelLeft  uint8 = 32
	ButtonWheelRight uint8 = 64
)

// ScancodeExtended marks an extended (E0-prefixed) scancode.
const ScancodeExtended uint16 = 0x100

// MaxClipboard bounds clipboard text carried in one event (1 MiB); front ends truncate or refuse
// longer text.
const MaxClipboard = 1 << 20

// Input is one parsed input payload. Text aliases the payload it was parsed from.
type Input struct {
	Kind     byte
	Down     bool   // Key
	Keysym   uint32 // Key: X11 keysym
	Scancode uint16 // Key: set-1 scancode, ScancodeExtended for E0 keys; 0 when unknown
	X, Y     int    // Pointer
	Buttons  uint8  // Pointer
	Text     []byte // Clipboard
}

// Append appends in's payload.
func (in Input) Append(dst []byte) []byte {
	dst = append(dst, in.Kind)
	switch in.Kind {
	case InputKey:
		d := byte(0)
		if in.Down {
			d = 1
		}
		dst = append(dst, d)
		dst = binary.BigEndian.AppendUint32(dst, in.Keysym)
		dst = binary.BigEndian.AppendUint16(dst, in.Scancode)
	case InputPointer:
		dst = binary.BigEndian.AppendUint16(dst, uint16(in.X))
		dst = binary.BigEndian.AppendUint16(dst, uint16(in.Y))
		dst = append(dst, in.Buttons)
	case InputClipboard:
		dst = append(dst, in.Text...)
	}
	return dst
}

// ParseInput decodes an input payload.
func ParseInput(p []byte) (Input, error) {
	if len(p) == 0 {
		return Input{}, fmt.Errorf("parse input: empty: %w", ErrMalformed)
	}
	in := Input{Kind: p[0]}
	body := p[1:]
	switch in.Kind {
	case InputKey:
		if len(body) != 7 || body[0] > 1 {
			return Input{}, fmt.Errorf("parse input key: %d bytes: %w", len(body), ErrMalformed)
		}
		in.Down = body[0] == 1
		in.Keysym = binary.BigEndian.Uint32(body[1:])
		in.Scancode = binary.BigEndian.Uint16(body[5:])
	case InputPointer:
		if len(body) != 5 {
			return Input{}, fmt.Errorf("parse input pointer: %d bytes: %w", len(body), ErrMalformed)
		}
		in.X = int(binary.BigEndian.Uint16(body))
		in.Y = int(binary.BigEndian.Uint16(body[2:]))
		in.Buttons = body[4]
	case InputClipboard:
		if len(body) > MaxClipboard {
			return Input{}, fmt.Errorf("parse input clipboard: %d bytes: %w", len(body), ErrMalformed)
		}
		in.Text = body
	default:
		return Input{}, fmt.Errorf("parse input: unknown kind %d: %w", in.Kind, ErrMalformed)
	}
	return in, nil
}

// Printable reports whether a key event types a character (a keysym in Latin-1's printable range or
// a Unicode keysym), which a session's policy withholds from the recording by default: those are
// the keys that can spell a password. Control keys, function keys, modifiers and Enter are not
// printable and are kept, so shortcuts and the shape of the input stay visible.
func (in Input) Printable() bool {
	if in.Kind != InputKey {
		return false
	}
	k := in.Keysym
	return (k >= 0x20 && k <= 0x7e) || (k >= 0xa0 && k <= 0xff) || (k >= 0x01000100 && k <= 0x0110ffff) ||
		(k >= 0xffaa && k <= 0xffb9) // keypad digits and operators
}
