package frame

import "testing"

// TestKeysymScancodeRoundTrip: for every physical key of the tables, the keysym the browser table
// gives it (unshifted, and shifted where the US layout has a shifted character) maps back to the
// same scancode, so a VNC viewer's keys reach an RDP target as the browser's would.
func TestKeysymScancodeRoundTrip(t *testing.T) {
	checked := 0
	for code, sc := range scancodes {
		key := ""
		if r, ok := usLayout[code]; ok {
			key = string(r)
		} else if _, ok := namedKeysyms[code]; ok {
			key = code
		} else if _, ok := functionKey(code); ok {
			key = code
		} else if _, ok := modifierKeysyms[code]; ok {
			key = "Shift"
		} else if _, ok := keypadKeysyms[code]; ok {
			key = "1" // Num Lock on: a character
		} else {
			continue
		}
		if code == "IntlBackslash" || code == "OSLeft" || code == "OSRight" {
			continue // duplicates of Backslash and the Meta keys
		}
		ks, ok := Keysym(key, code)
		if !ok {
			t.Errorf("%s: no keysym", code)
			continue
		}
		got, ok := KeysymScancode(ks)
		if !ok || got != sc {
			t.Errorf("%s: keysym %#x -> scancode %#x %v, want %#x", code, ks, got, ok, sc)
		}
		checked++
	}
	if checked < 90 {
		t.Fatalf("checked %d keys; the tables shrank?", checked)
	}
	for _, tc := range []struct {
		keysym uint32
		want   uint16
	}{{'A', 0x1e}, {'!', 0x02}, {'?', 0x35}, {'~', 0x29}, {xkReturn, 0x1c}, {xkShiftL, 0x2a}, {xkKPEnter, 0x11c}, {xkF1 + 11, 0x58}} {
		if got, ok := KeysymScancode(tc.keysym); !ok || got != tc.want {
			t.Errorf("KeysymScancode(%#x) = %#x %v, want %#x", tc.keysym, got, ok, tc.want)
		}
	}
	if _, ok := KeysymScancode(0x01000416); ok { // Cyrillic Zhe: no US key types it
		t.Error("a keysym of another layout mapped to a scancode")
	}
}
