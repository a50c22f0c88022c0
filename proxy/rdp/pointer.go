package rdp

import "github.com/seed18fc72c3/vigil/capture/frame"

// TS_POINTER_EVENT pointerFlags (MS-RDPBCGR 2.2.8.1.1.3.1.1.3).
const (
	ptrWheelNegative uint16 = 0x0100
	ptrWheel         uint16 = 0x0200
	ptrHWheel        uint16 = 0x0400
	ptrMove          uint16 = 0x0800
	ptrButton1       uint16 = 0x1000 // left
	ptrButton2       uint16 = 0x2000 // right
	ptrButton3       uint16 = 0x4000 // middle
	ptrDown          uint16 = 0x8000

	// One wheel notch is 120; a negative rotation is its 9-bit two's complement with the
	// negative flag.
	notchUp   uint16 = 0x0078
	notchDown uint16 = 0x0088
)

type ptrEvent struct {
	flags uint16
	x, y  int
}

// pointerEvents turns an RFB-style pointer state into RDP pointer events, given the previous
// button mask: a move when the position changed, then one event per button that changed, then one
// per wheel bit newly set (RFB presses and releases a wheel "button" per notch; the press counts).
func pointerEvents(prevButtons uint8, prevX, prevY int, in frame.Input) []ptrEvent {
	var ev []ptrEvent
	x, y := in.X, in.Y
	if x != prevX || y != prevY {
		ev = append(ev, ptrEvent{ptrMove, x, y})
	}
	for _, b := range [...]struct {
		mask uint8
		flag uint16
	}{{frame.ButtonLeft, ptrButton1}, {frame.ButtonRight, ptrButton2}, {frame.ButtonMiddle, ptrButton3}} {
		was, is := prevButtons&b.mask != 0, in.Buttons&b.mask != 0
		if was == is {
			continue
		}
		f := b.flag
		if is {
			f |= ptrDown
		}
		ev = append(ev, ptrEvent{f, x, y})
	}
	pressed := in.Buttons &^ prevButtons
	for _, b := range [...]struct {
		mask uint8
		flag uint16
	}{
		{frame.ButtonWheelUp, ptrWheel | notchUp},
		{frame.ButtonWheelDown, ptrWheel | ptrWheelNegative | notchDown},
		{frame.ButtonWheelRight, ptrHWheel | notchUp},
		{frame.ButtonWheelLeft, ptrHWheel | ptrWheelNegative | notchDown},
	} {
		if pressed&b.mask != 0 {
			ev = append(ev, ptrEvent{b.flag, x, y})
		}
	}
	return ev
}
