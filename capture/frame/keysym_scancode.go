package frame

// A VNC viewer sends keysyms only (RFB has no scancodes), but RDP wants the physical key. When a
// Key input carries no scancode, KeysymScancode finds the key that types that keysym on a US
// layout. Shifted characters map to their unshifted key: the viewer has already sent Shift_L
// down before '!' or 'A', so the target sees Shift held with the key, as on the viewer's keyboard.

var keysymScancodes = map[uint32]uint16{}

// usShifted is what Shift makes of a US key's character.
var usShifted = map[rune]rune{
	'`': '~', '1': '!', '2': '@', '3': '#', '4': '$', '5': '%', '6': '^', '7': '&', '8': '*', '9': '(',
	'0': ')', '-': '_', '=': '+', '[': '{', ']': '}', '\\': '|', ';': ':', '\'': '"', ',': '<', '.': '>',
	'/': '?',
}

func init() {
	add := func(ks uint32, code string) {
		if sc, ok := scancodes[code]; ok {
			if _, dup := keysymScancodes[ks]; !dup {
				keysymScancodes[ks] = sc
			}
		}
	}
	for code, r := range usLayout {
		if code == "IntlBackslash" {
			continue // same character as Backslash; the main key wins
		}
		add(runeKeysym(r), code)
		if r >= 'a' && r <= 'z' {
			add(runeKeysym(r-'a'+'A'), code)
		}
		if s, ok := usShifted[r]; ok {
			add(runeKeysym(s), code)
		}
	}
	for code, ks := range modifierKeysyms {
		add(ks, code)
	}
	for code, ks := range keypadKeysyms {
		add(ks[0], code)
		add(ks[1], code)
	}
	for name, ks := range namedKeysyms {
		add(ks, name) // the browser's key names equal its codes for these keys
	}
	add(xkLevel3Shift, "AltRight")
	for n := 1; n <= 24; n++ {
		ks, _ := functionKey("F" + itoa(n))
		add(ks, "F"+itoa(n))
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// KeysymScancode returns the set-1 scancode of the key that types keysym on a US layout, and
// false for a keysym no key of the table types (a character of another layout).
func KeysymScancode(keysym uint32) (uint16, bool) {
	sc, ok := keysymScancodes[keysym]
	return sc, ok
}
