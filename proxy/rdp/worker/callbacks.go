package worker

/*
#include <winpr/wtypes.h>
#include <freerdp/error.h>
#include "client.h"
*/
import "C"

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"unicode/utf16"
	"unsafe"

	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

// The functions below are FreeRDP's callbacks (client.c), called on the loop thread. A false
// return makes FreeRDP fail the current operation, which ends the session.

//export goVerifyCert
func goVerifyCert(data unsafe.Pointer, n C.int) C.int {
	blk, _ := pem.Decode(C.GoBytes(data, n))
	if blk == nil {
		fmt.Fprintln(os.Stderr, "rdp-worker: certificate: not PEM")
		return 0
	}
	sum := sha256.Sum256(blk.Bytes)
	send(wire.Certificate, sum[:])
	flush()
	if w.pin != nil && subtle.ConstantTimeCompare(w.pin, sum[:]) != 1 {
		return 0
	}
	return 1
}

//export goConnected
func goConnected(width, height, protocol C.int) C.BOOL {
	b := binary.BigEndian.AppendUint32(u16s(int(width), int(height)), uint32(protocol))
	return cbool(send(wire.Connected, b) && flush())
}

// damage sends rectangle (x, y, rw, rh) of the GDI buffer as Damage frames of at most
// wire.MaxPixels bytes each, clamped to the desktop.
func damage(buf unsafe.Pointer, stride, x, y, rw, rh, width, height int) bool {
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+rw, width), min(y+rh, height)
	if x0 >= x1 || y0 >= y1 || buf == nil {
		return true
	}
	pix := unsafe.Slice((*byte)(buf), stride*height)
	rowBytes := (x1 - x0) * 4
	rows := max(wire.MaxPixels/rowBytes, 1)
	for by := y0; by < y1; by += rows {
		ey := min(by+rows, y1)
		w.outMu.Lock()
		if w.fail != nil {
			w.outMu.Unlock()
			return false
		}
		n := 1 + 8 + rowBytes*(ey-by)
		var hdr [13]byte
		binary.BigEndian.PutUint32(hdr[0:], uint32(n))
		hdr[4] = wire.Damage
		for i, v := range [4]int{x0, by, x1 - x0, ey - by} {
			binary.BigEndian.PutUint16(hdr[5+2*i:], uint16(v))
		}
		_, err := w.out.Write(hdr[:])
		for yy := by; yy < ey && err == nil; yy++ {
			off := yy*stride + x0*4
			_, err = w.out.Write(pix[off : off+rowBytes])
		}
		if err != nil {
			w.fail = err
		}
		w.outMu.Unlock()
		if err != nil {
			return false
		}
	}
	return true
}

//export goDamage
func goDamage(buf unsafe.Pointer, stride, x, y, rw, rh, width, height C.int) C.BOOL {
	return cbool(damage(buf, int(stride), int(x), int(y), int(rw), int(rh), int(width), int(height)))
}

//export goEndPaint
func goEndPaint() C.BOOL {
	return cbool(send(wire.EndPaint) && flush())
}

//export goResize
func goResize(buf unsafe.Pointer, stride, width, height C.int) C.BOOL {
	wd, ht := int(width), int(height)
	return cbool(send(wire.Resize, u16s(wd, ht)) && damage(buf, int(stride), 0, 0, wd, ht, wd, ht) &&
		send(wire.EndPaint) && flush())
}

//export goBell
func goBell() C.BOOL { return cbool(send(wire.Bell) && flush()) }

//export goLogon
func goLogon(typ C.uint) C.BOOL {
	return cbool(send(wire.Logon, binary.BigEndian.AppendUint32(nil, uint32(typ))) && flush())
}

//export goCaps
func goCaps(flags C.int) {
	send(wire.Caps, []byte{byte(flags)})
	flush()
}

//export goClipReady
func goClipReady() {
	goCaps(C.int(wire.CapClipboard))
}

// goClipboard forwards the server's clipboard text (UTF-16LE, NUL-terminated), cut at
// wire.MaxText bytes of UTF-8.
//
//export goClipboard
func goClipboard(data unsafe.Pointer, n C.int) {
	b := C.GoBytes(data, n)
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	text := string(utf16.Decode(u))
	if len(text) > wire.MaxText {
		text = strings.ToValidUTF8(text[:wire.MaxText], "")
	}
	send(wire.Clipboard, []byte(text))
	flush()
}

//export goHeartbeat
func goHeartbeat() C.BOOL { return cbool(send(wire.Heartbeat) && flush()) }

// goDrain applies the queued input. It returns false to stop the loop (Close, or stdin closed).
//
//export goDrain
func goDrain() C.BOOL {
	w.qMu.Lock()
	q, eof := w.queue, w.eof
	w.queue = nil
	w.qMu.Unlock()
	for _, f := range q {
		t, body := f[4], f[5:]
		d := wire.Dec{B: body}
		switch t {
		case wire.Key:
			fl, sc := d.U8(), d.U16()
			if protoErr(d.End()) {
				C.vigil_key(C.int(fl&1), C.int(sc))
			}
		case wire.Pointer:
			fl, x, y := d.U16(), d.U16(), d.U16()
			if protoErr(d.End()) {
				C.vigil_pointer(C.int(fl), C.int(x), C.int(y))
			}
		case wire.DoResize:
			wd, ht := d.U16(), d.U16()
			if protoErr(d.End()) && C.vigil_resize(C.int(wd), C.int(ht)) != 0 {
				fmt.Fprintln(os.Stderr, "rdp-worker: resize refused: no display control")
			}
		case wire.Close:
			return 0
		case wire.SetClip:
			u := utf16.Encode([]rune(string(body)))
			b := make([]byte, 0, 2*len(u)+2)
			for _, c := range u {
				b = binary.LittleEndian.AppendUint16(b, c)
			}
			b = append(b, 0, 0)
			if C.vigil_clip_set(unsafe.Pointer(&b[0]), C.int(len(b))) != 0 {
				fmt.Fprintln(os.Stderr, "rdp-worker: clipboard: no channel")
			}
		default:
			fail(wire.ReasonProtocol, 0, fmt.Sprintf("unknown frame type %#x", t))
			return 0
		}
	}
	return cbool(!eof && !w.stopped)
}

// protoErr reports whether err is nil; otherwise it reports a protocol error to the gateway,
// which ends the session.
func protoErr(err error) bool {
	if err != nil {
		fail(wire.ReasonProtocol, 0, err.Error())
		w.stopped = true
		return false
	}
	return true
}

func cbool(b bool) C.BOOL {
	if b {
		return 1
	}
	return 0
}
