package frame

import "unicode/utf8"

// Browser keyboard events name a key twice: KeyboardEvent.code is the physical key (the same on
// every layout: "KeyA" is the key right of Caps Lock), KeyboardEvent.key is what the user's layout
// made of it ("a", "A", "q" on AZERTY, "Shift"). RDP wants the physical key as a set-1 scancode
// and lets the target apply its own layout; RFB wants the keysym the user meant. So Key events
// carry both (doc.go), and the tables below turn one browser event into both.

// scancodes maps KeyboardEvent.code to PC/AT set-1 make codes, ScancodeExtended for E0 keys.
// Modifiers are the left/right keys themselves: a generic Shift has scancode 0 in FreeRDP
// (DESIGN.md), so there is deliberately no entry for a side-less modifier.
var scancodes = map[string]uint16{
	"Escape": 0x01, "Digit1": 0x02, "Digit2": 0x03, "Digit3": 0x04, "Digit4": 0x05, "Digit5": 0x06,
	"Digit6": 0x07, "Digit7": 0x08, "Digit8": 0x09, "Digit9": 0x0a, "Digit0": 0x0b, "Minus": 0x0c,
	"Equal": 0x0d, "Backspace": 0x0e, "Tab": 0x0f,
	"KeyQ": 0x10, "KeyW": 0x11, "KeyE": 0x12, "KeyR": 0x13, "KeyT": 0x14, "KeyY": 0x15, "KeyU": 0x16,
	"KeyI": 0x17, "KeyO": 0x18, "KeyP": 0x19, "BracketLeft": 0x1a, "BracketRight": 0x1b, "Enter": 0x1c,
	"ControlLeft": 0x1d, "KeyA": 0x1e, "KeyS": 0x1f, "KeyD": 0x20, "KeyF": 0x21, "KeyG": 0x22,
	"KeyH": 0x23, "KeyJ": 0x24, "KeyK": 0x25, "KeyL": 0x26, "Semicolon": 0x27, "Quote": 0x28,
	"Backquote": 0x29, "ShiftLeft": 0x2a, "Backslash": 0x2b, "KeyZ": 0x2c, "KeyX": 0x2d, "KeyC": 0x2e,
	"KeyV": 0x2f, "KeyB": 0x30, "KeyN": 0x31, "KeyM": 0x32, "Comma": 0x33, "Period": 0x34,
	"Slash": 0x35, "ShiftRight": 0x36, "NumpadMultiply": 0x37, "AltLeft": 0x38, "Space": 0x39,
	"CapsLock": 0x3a, "F1": 0x3b, "F2": 0x3c, "F3": 0x3d, "F4": 0x3e, "F5": 0x3f, "F6": 0x40,
	"F7": 0x41, "F8": 0x42, "F9": 0x43, "F10": 0x44, "NumLock": 0x45, "ScrollLock": 0x46,
	"Numpad7": 0x47, "Numpad8": 0x48, "Numpad9": 0x49, "NumpadSubtract": 0x4a, "Numpad4": 0x4b,
	"Numpad5": 0x4c, "Numpad6": 0x4d, "NumpadAdd": 0x4e, "Numpad1": 0x4f, "Numpad2": 0x50,
	"Numpad3": 0x51, "Numpad0": 0x52, "NumpadDecimal": 0x53, "IntlBackslash": 0x56, "F11": 0x57,
	"F12": 0x58, "NumpadEqual": 0x59, "F13": 0x64, "F14": 0x65, "F15": 0x66, "F16": 0x67,
	"F17": 0x68, "F18": 0x69, "F19": 0x6a, "F20": 0x6b, "F21": 0x6c, "F22": 0x6d, "F23": 0x6e,
	"KanaMode": 0x70, "IntlRo": 0x73, "F24": 0x76, "Convert": 0x79, "NonConvert": 0x7b,
	"IntlYen": 0x7d, "NumpadComma": 0x7e,

	"NumpadEnter": 0x11c, "ControlRight": 0x11d, "NumpadDivide": 0x135, "PrintScreen": 0x137,
	"AltRight": 0x138, "Home": 0x147, "ArrowUp": 0x148, "PageUp": 0x149, "ArrowLeft": 0x14b,
	"ArrowRight": 0x14d, "End": 0x14f, "ArrowDown": 0x150, "PageDown": 0x151, "Insert": 0x152,
	"Delete": 0x153, "MetaLeft": 0x15b, "MetaRight": 0x15c, "ContextMenu": 0x15d, "Power": 0x15e,
	"Sleep": 0x15f, "WakeUp": 0x163,
	// Pause has no make code of its own (E1 1D 45); FreeRDP's RDP_SCANCODE_PAUSE is E0 46.
	"Pause":           0x146,
	"AudioVolumeMute": 0x120, "AudioVolumeDown": 0x12e, "AudioVolumeUp": 0x130,
	"MediaPlayPause": 0x122, "MediaStop": 0x124, "MediaTrackNext": 0x119, "MediaTrackPrevious": 0x110,
	"BrowserHome": 0x132, "BrowserSearch": 0x165, "BrowserFavorites": 0x166, "BrowserRefresh": 0x167,
	"BrowserStop": 0x168, "BrowserForward": 0x169, "BrowserBack": 0x16a, "LaunchMail": 0x16c,
	// Old Chromium and Firefox names of the Windows keys.
	"OSLeft": 0x15b, "OSRight": 0x15c,
}

// X11 keysyms used below (X11/keysymdef.h).
const (
	xkBackSpace   = 0xff08
	xkTab         = 0xff09
	xkReturn      = 0xff0d
	xkPause       = 0xff13
	xkScrollLock  = 0xff14
	xkEscape      = 0xff1b
	xkHome        = 0xff50
	xkLeft        = 0xff51
	xkUp          = 0xff52
	xkRight       = 0xff53
	xkDown        = 0xff54
	xkPageUp      = 0xff55
	xkPageDown    = 0xff56
	xkEnd         = 0xff57
	xkPrint       = 0xff61
	xkInsert      = 0xff63
	xkMenu        = 0xff67
	xkNumLock     = 0xff7f
	xkKPEnter     = 0xff8d
	xkKPHome      = 0xff95
	xkKPBegin     = 0xff9d
	xkKPDelete    = 0xff9f
	xkKPMultiply  = 0xffaa
	xkKPAdd       = 0xffab
	xkKPSeparator = 0xffac
	xkKPSubtract  = 0xffad
	xkKPDecimal   = 0xffae
	xkKPDivide    = 0xffaf
	xkKP0         = 0xffb0
	xkKPEqual     = 0xffbd
	xkF1          = 0xffbe
	xkShiftL      = 0xffe1
	xkShiftR      = 0xffe2
	xkControlL    = 0xffe3
	xkControlR    = 0xffe4
	xkCapsLock    = 0xffe5
	xkAltL        = 0xffe9
	xkAltR        = 0xffea
	xkSuperL      = 0xffeb
	xkSuperR      = 0xffec
	xkLevel3Shift = 0xfe03 // AltGr
	xkDelete      = 0xffff
)

// modifierKeysyms: by code, because key says only "Shift" and the side matters to the target.
var modifierKeysyms = map[string]uint32{
	"ShiftLeft": xkShiftL, "ShiftRight": xkShiftR, "ControlLeft": xkControlL, "ControlRight": xkControlR,
	"AltLeft": xkAltL, "AltRight": xkAltR, "MetaLeft": xkSuperL, "MetaRight": xkSuperR,
	"OSLeft": xkSuperL, "OSRight": xkSuperR, "CapsLock": xkCapsLock, "NumLock": xkNumLock,
	"ScrollLock": xkScrollLock,
}

// namedKeysyms maps KeyboardEvent.key values that name a key (not a character).
var namedKeysyms = map[string]uint32{
	"Backspace": xkBackSpace, "Tab": xkTab, "Enter": xkReturn, "Escape": xkEscape, "Delete": xkDelete,
	"Home": xkHome, "End": xkEnd, "PageUp": xkPageUp, "PageDown": xkPageDown, "ArrowLeft": xkLeft,
	"ArrowUp": xkUp, "ArrowRight": xkRight, "ArrowDown": xkDown, "Insert": xkInsert,
	"PrintScreen": xkPrint, "Pause": xkPause, "ContextMenu": xkMenu, "AltGraph": xkLevel3Shift,
	"CapsLock": xkCapsLock, "NumLock": xkNumLock, "ScrollLock": xkScrollLock,
	"Shift": xkShiftL, "Control": xkControlL, "Alt": xkAltL, "Meta": xkSuperL, "OS": xkSuperL,
}

// keypadKeysyms maps a keypad code to its keysym with Num Lock on (digits, operators) and off
// (navigation: the browser's key is then "Home", "ArrowUp" and so on, or "Clear" for 5).
var keypadKeysyms = map[string][2]uint32{
	"Numpad0": {xkKP0, 0xff9e}, "Numpad1": {xkKP0 + 1, 0xff9c}, "Numpad2": {xkKP0 + 2, 0xff99},
	"Numpad3": {xkKP0 + 3, 0xff9b}, "Numpad4": {xkKP0 + 4, 0xff96}, "Numpad5": {xkKP0 + 5, xkKPBegin},
	"Numpad6": {xkKP0 + 6, 0xff98}, "Numpad7": {xkKP0 + 7, xkKPHome}, "Numpad8": {xkKP0 + 8, 0xff97},
	"Numpad9": {xkKP0 + 9, 0xff9a}, "NumpadDecimal": {xkKPDecimal, xkKPDelete},
	"NumpadMultiply": {xkKPMultiply, xkKPMultiply}, "NumpadAdd": {xkKPAdd, xkKPAdd},
	"NumpadSubtract": {xkKPSubtract, xkKPSubtract}, "NumpadDivide": {xkKPDivide, xkKPDivide},
	"NumpadEnter": {xkKPEnter, xkKPEnter}, "NumpadEqual": {xkKPEqual, xkKPEqual},
	"NumpadComma": {xkKPSeparator, xkKPSeparator},
}

// usLayout is the character a code types on a US layout without Shift: the fallback when the
// browser could not name the key (a dead key, an IME, "Unidentified").
var usLayout = map[string]rune{
	"Backquote": '`', "Minus": '-', "Equal": '=', "BracketLeft": '[', "BracketRight": ']',
	"Backslash": '\\', "Semicolon": ';', "Quote": '\'', "Comma": ',', "Period": '.', "Slash": '/',
	"Space": ' ', "IntlBackslash": '\\',
}

func init() {
	for c := 'a'; c <= 'z'; c++ {
		usLayout["Key"+string(c-'a'+'A')] = c
	}
	for c := '0'; c <= '9'; c++ {
		usLayout["Digit"+string(c)] = c
	}
}

// Scancode returns the set-1 scancode of the physical key KeyboardEvent.code names, with
// ScancodeExtended for E0 keys, and false for a code the table does not know.
func Scancode(code string) (uint16, bool) {
	s, ok := scancodes[code]
	return s, ok
}

// Keysym returns the X11 keysym of a browser key event: modifiers and keypad keys by code (the
// side and the keypad matter to the target, and key does not tell them), named keys ("Enter",
// "F5") and characters by key, and a key the browser could not name ("Dead", "Unidentified") by
// code on a US layout. False when none of these applies.
func Keysym(key, code string) (uint32, bool) {
	if k, ok := modifierKeysyms[code]; ok {
		if key == "AltGraph" {
			return xkLevel3Shift, true
		}
		return k, true
	}
	if k, ok := keypadKeysyms[code]; ok {
		if r, n := utf8.DecodeRuneInString(key); n == len(key) && n > 0 && r != utf8.RuneError {
			return k[0], true // a character: Num Lock is on
		}
		return k[1], true
	}
	if k, ok := namedKeysyms[key]; ok {
		return k, true
	}
	if k, ok := functionKey(key); ok {
		return k, true
	}
	if r, n := utf8.DecodeRuneInString(key); n == len(key) && n > 0 && r != utf8.RuneError {
		return runeKeysym(r), true
	}
	if r, ok := usLayout[code]; ok {
		return runeKeysym(r), true
	}
	if k, ok := functionKey(code); ok {
		return k, true
	}
	return 0, false
}

// functionKey maps "F1".."F35" to XK_F1..XK_F35.
func functionKey(s string) (uint32, bool) {
	if len(s) < 2 || len(s) > 3 || s[0] != 'F' || s[1] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 35 {
		return 0, false
	}
	return xkF1 + uint32(n-1), true
}

// runeKeysym is the keysym that types r: Latin-1 keysyms equal their code points, every other
// character is 0x01000000 plus its code point (X11's Unicode keysyms). Control characters map to
// their function keys.
func runeKeysym(r rune) uint32 {
	switch {
	case r == '\b':
		return xkBackSpace
	case r == '\t':
		return xkTab
	case r == '\r' || r == '\n':
		return xkReturn
	case r == 0x1b:
		return xkEscape
	case r == 0x7f:
		return xkDelete
	case (r >= 0x20 && r <= 0x7e) || (r >= 0xa0 && r <= 0xff):
		return uint32(r)
	}
	return 0x01000000 | uint32(r)
}

// BrowserKey returns the Key input for a browser keydown (down) or keyup event, with both the
// keysym and the scancode the tables give; false if neither table knows the key, and the event
// should be dropped.
func BrowserKey(code, key string, down bool) (Input, bool) {
	sc, okS := Scancode(code)
	ks, okK := Keysym(key, code)
	if !okS && !okK {
		return Input{}, false
	}
	return Input{Kind: InputKey, Down: down, Keysym: ks, Scancode: sc}, true
}
