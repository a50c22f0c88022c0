package frame

import "testing"

func TestBrowserKey(t *testing.T) {
	tests := []struct {
		name, code, key string
		keysym          uint32
		scancode        uint16
	}{
		{"letter", "KeyA", "a", 'a', 0x1e},
		{"shifted letter", "KeyA", "A", 'A', 0x1e},
		{"AZERTY a on the Q key", "KeyQ", "a", 'a', 0x10},
		{"digit", "Digit1", "1", '1', 0x02},
		{"shifted digit", "Digit1", "!", '!', 0x02},
		{"zero", "Digit0", "0", '0', 0x0b},
		{"space", "Space", " ", ' ', 0x39},
		{"enter", "Enter", "Enter", 0xff0d, 0x1c},
		{"backspace", "Backspace", "Backspace", 0xff08, 0x0e},
		{"tab", "Tab", "Tab", 0xff09, 0x0f},
		{"escape", "Escape", "Escape", 0xff1b, 0x01},
		{"backquote", "Backquote", "`", '`', 0x29},
		{"slash", "Slash", "/", '/', 0x35},
		{"left shift", "ShiftLeft", "Shift", 0xffe1, 0x2a},
		{"right shift", "ShiftRight", "Shift", 0xffe2, 0x36},
		{"left control", "ControlLeft", "Control", 0xffe3, 0x1d},
		{"right control is extended", "ControlRight", "Control", 0xffe4, 0x11d},
		{"left alt", "AltLeft", "Alt", 0xffe9, 0x38},
		{"right alt", "AltRight", "Alt", 0xffea, 0x138},
		{"AltGr", "AltRight", "AltGraph", 0xfe03, 0x138},
		{"left meta", "MetaLeft", "Meta", 0xffeb, 0x15b},
		{"old OS name", "OSRight", "OS", 0xffec, 0x15c},
		{"caps lock", "CapsLock", "CapsLock", 0xffe5, 0x3a},
		{"F1", "F1", "F1", 0xffbe, 0x3b},
		{"F10", "F10", "F10", 0xffc7, 0x44},
		{"F11", "F11", "F11", 0xffc8, 0x57},
		{"F12", "F12", "F12", 0xffc9, 0x58},
		{"F13", "F13", "F13", 0xffca, 0x64},
		{"F24", "F24", "F24", 0xffd5, 0x76},
		{"arrow up", "ArrowUp", "ArrowUp", 0xff52, 0x148},
		{"arrow left", "ArrowLeft", "ArrowLeft", 0xff51, 0x14b},
		{"home", "Home", "Home", 0xff50, 0x147},
		{"end", "End", "End", 0xff57, 0x14f},
		{"page down", "PageDown", "PageDown", 0xff56, 0x151},
		{"insert", "Insert", "Insert", 0xff63, 0x152},
		{"delete", "Delete", "Delete", 0xffff, 0x153},
		{"print screen", "PrintScreen", "PrintScreen", 0xff61, 0x137},
		{"pause", "Pause", "Pause", 0xff13, 0x146},
		{"context menu", "ContextMenu", "ContextMenu", 0xff67, 0x15d},
		{"keypad 7 with num lock", "Numpad7", "7", 0xffb7, 0x47},
		{"keypad 7 without num lock", "Numpad7", "Home", 0xff95, 0x47},
		{"keypad 5 without num lock", "Numpad5", "Clear", 0xff9d, 0x4c},
		{"keypad 0 without num lock", "Numpad0", "Insert", 0xff9e, 0x52},
		{"keypad decimal", "NumpadDecimal", ".", 0xffae, 0x53},
		{"keypad delete", "NumpadDecimal", "Delete", 0xff9f, 0x53},
		{"keypad enter is extended", "NumpadEnter", "Enter", 0xff8d, 0x11c},
		{"keypad divide is extended", "NumpadDivide", "/", 0xffaf, 0x135},
		{"keypad multiply", "NumpadMultiply", "*", 0xffaa, 0x37},
		{"keypad add", "NumpadAdd", "+", 0xffab, 0x4e},
		{"keypad subtract", "NumpadSubtract", "-", 0xffad, 0x4a},
		{"num lock", "NumLock", "NumLock", 0xff7f, 0x45},
		{"latin-1 character", "Semicolon", "ö", 0xf6, 0x27},
		{"unicode character", "KeyE", "€", 0x010020ac, 0x12},
		{"dead key falls back to US", "BracketLeft", "Dead", '[', 0x1a},
		{"unidentified falls back to US", "KeyZ", "Unidentified", 'z', 0x2c},
		{"ISO key", "IntlBackslash", "<", '<', 0x56},
		{"unknown code, known key", "", "Enter", 0xff0d, 0},
		{"unknown code, character", "", "x", 'x', 0},
		{"media key: scancode only", "AudioVolumeUp", "AudioVolumeUp", 0, 0x130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, down := range []bool{true, false} {
				in, ok := BrowserKey(tt.code, tt.key, down)
				if !ok {
					t.Fatalf("BrowserKey(%q, %q) not mapped", tt.code, tt.key)
				}
				want := Input{Kind: InputKey, Down: down, Keysym: tt.keysym, Scancode: tt.scancode}
				if in.Kind != want.Kind || in.Down != want.Down || in.Keysym != want.Keysym || in.Scancode != want.Scancode {
					t.Errorf("BrowserKey(%q, %q, %v) = keysym %#x scancode %#x down %v, want %#x %#x %v",
						tt.code, tt.key, down, in.Keysym, in.Scancode, in.Down, want.Keysym, want.Scancode, want.Down)
				}
				// The payload round-trips: what the server writes to the ring is what it meant.
				back, err := ParseInput(in.Append(nil))
				if err != nil || back.Keysym != in.Keysym || back.Scancode != in.Scancode || back.Down != down {
					t.Errorf("round trip: %+v, %v", back, err)
				}
			}
		})
	}
}

func TestBrowserKeyUnmapped(t *testing.T) {
	for _, c := range []struct{ code, key string }{
		{"", ""}, {"", "Dead"}, {"", "Unidentified"}, {"Fn", "Fn"}, {"", "F0"}, {"", "F36"}, {"", "Fx"},
		{"", "ab"}, {"", "\xff"},
	} {
		if in, ok := BrowserKey(c.code, c.key, true); ok {
			t.Errorf("BrowserKey(%q, %q) = %+v, want unmapped", c.code, c.key, in)
		}
	}
}

// TestNoSidelessModifierScancode guards DESIGN.md's pitfall: a generic Shift is scancode 0 to
// FreeRDP, so only the sided keys may have scancodes.
func TestNoSidelessModifierScancode(t *testing.T) {
	for _, code := range []string{"Shift", "Control", "Alt", "Meta"} {
		if sc, ok := Scancode(code); ok {
			t.Errorf("Scancode(%q) = %#x, want none", code, sc)
		}
	}
}

// TestScancodesDistinct: two physical keys sharing a scancode would type the wrong key on RDP.
// The old names of the Windows keys are the only aliases.
func TestScancodesDistinct(t *testing.T) {
	alias := map[string]string{"OSLeft": "MetaLeft", "OSRight": "MetaRight"}
	seen := map[uint16]string{}
	for code, sc := range scancodes {
		if a, ok := alias[code]; ok {
			if scancodes[a] != sc {
				t.Errorf("%s = %#x, %s = %#x: aliases differ", code, sc, a, scancodes[a])
			}
			continue
		}
		if sc == 0 || sc&0xff == 0 || sc&^(ScancodeExtended|0xff) != 0 {
			t.Errorf("%s: bad scancode %#x", code, sc)
		}
		if other, ok := seen[sc]; ok {
			t.Errorf("%s and %s share scancode %#x", code, other, sc)
		}
		seen[sc] = code
	}
	// Every key of a full US layout has one: 104 keys less the side-less ones.
	for _, code := range []string{"Backquote", "Digit5", "KeyM", "Quote", "Backslash", "F6", "ScrollLock",
		"Numpad9", "NumpadEnter", "MetaRight", "ContextMenu"} {
		if _, ok := scancodes[code]; !ok {
			t.Errorf("no scancode for %s", code)
		}
	}
}
