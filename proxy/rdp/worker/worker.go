package worker

/*
#cgo pkg-config: freerdp2 freerdp-client2 winpr2
#include <stdlib.h>
#include <winpr/wtypes.h>
#include <freerdp/error.h>
#include "client.h"
*/
import "C"

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

// w is the one session of this process: FreeRDP's callbacks (exported below) reach it without a
// handle because a worker process serves exactly one session.
var w struct {
	outMu sync.Mutex
	out   *bufio.Writer
	fail  error // first write error: the gateway is gone

	pin []byte

	qMu   sync.Mutex
	queue [][]byte // frames from the gateway, drained on the loop thread
	eof   bool

	frame   []byte // scratch for outgoing frames
	stopped bool   // a protocol error from the gateway: the loop ends
}

// Main runs the worker on the process's stdin and stdout and returns the exit code.
func Main() int {
	out, err := protocolStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rdp-worker:", err)
		return 2
	}
	C.vigil_init()
	w.out = bufio.NewWriterSize(out, 256<<10)
	if !send(wire.Hello, []byte{wire.Version}) || !flush() {
		return 2
	}
	r := wire.NewReader(os.Stdin)
	t, body, err := r.Next()
	if err != nil || t != wire.Connect {
		fail(wire.ReasonProtocol, 0, fmt.Sprintf("first frame: type %#x: %v", t, err))
		return 2
	}
	p, err := wire.ParseConnect(body)
	clear(body) // the password's bytes in the reader's buffer
	if err != nil {
		fail(wire.ReasonProtocol, 0, err.Error())
		return 2
	}
	w.pin = p.Pin

	// FreeRDP's callbacks and its event loop all run on this thread.
	runtime.LockOSThread()
	cs := []*C.char{C.CString(p.Host), C.CString(p.User), C.CString(p.Domain), C.CString(p.Password)}
	rc := C.vigil_connect(cs[0], C.int(p.Port), cs[1], cs[2], cs[3], C.int(p.Security), C.int(p.W), C.int(p.H))
	for _, c := range cs {
		// Wipe the copies of the password FreeRDP did not take.
		b := unsafe.Slice((*byte)(unsafe.Pointer(c)), C.strlen(c))
		clear(b)
		C.free(unsafe.Pointer(c))
	}
	p.Password = ""
	if rc != 0 {
		reason, code := classify(int(rc), C.vigil_cert_refused() != 0)
		msg := "certificate does not match the pinned fingerprint"
		if reason != wire.ReasonCertificate {
			msg = C.GoString(C.vigil_last_error())
		}
		if code == C.FREERDP_ERROR_CONNECT_TRANSPORT_FAILED && C.vigil_selected_protocol()&(protocolHybrid|protocolHybridEx) != 0 {
			// NLA was negotiated and the server then hung up: servers that do not send a
			// CredSSP error code (freerdp-shadow, some others) refuse a credential this way.
			reason = wire.ReasonAuth
			msg = "the server closed the connection during NLA: the credential was most likely refused"
		}
		fail(reason, code, msg)
		return 1
	}
	go readInput(r)
	rc = C.vigil_loop()
	C.vigil_disconnect()
	if rc == 0 {
		flush()
		return 0
	}
	switch rc {
	case 2:
		fail(wire.ReasonInternal, 0, C.GoString(C.vigil_last_error()))
	case 0x7fffffff:
		fail(wire.ReasonDisconnected, 0, "the server ended the session")
	default:
		fail(wire.ReasonDisconnected, uint32(rc), C.GoString(C.vigil_last_error()))
	}
	return 1
}

// protocolStdout returns a private duplicate of fd 1 for the frames and points fd 1 at stderr.
func protocolStdout() (*os.File, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("dup stdout: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Dup3(2, 1, 0); err != nil {
		return nil, fmt.Errorf("redirect stdout: %w", err)
	}
	return os.NewFile(uintptr(fd), "protocol"), nil
}

// classify maps vigil_connect's result to an Error reason. FreeRDP's error codes are class<<16 |
// type (freerdp/error.h); the connect class (2) holds the logon and security failures.
func classify(rc int, certRefused bool) (byte, uint32) {
	if certRefused || rc == 1 {
		return wire.ReasonCertificate, 0
	}
	if rc == 2 {
		return wire.ReasonInternal, 0
	}
	code := uint32(rc)
	switch code {
	case C.FREERDP_ERROR_AUTHENTICATION_FAILED, C.FREERDP_ERROR_CONNECT_LOGON_FAILURE,
		C.FREERDP_ERROR_CONNECT_WRONG_PASSWORD, C.FREERDP_ERROR_CONNECT_ACCOUNT_DISABLED,
		C.FREERDP_ERROR_CONNECT_ACCOUNT_RESTRICTION, C.FREERDP_ERROR_CONNECT_ACCOUNT_LOCKED_OUT,
		C.FREERDP_ERROR_CONNECT_ACCOUNT_EXPIRED, C.FREERDP_ERROR_CONNECT_PASSWORD_EXPIRED,
		C.FREERDP_ERROR_CONNECT_PASSWORD_MUST_CHANGE, C.FREERDP_ERROR_CONNECT_NO_OR_MISSING_CREDENTIALS,
		C.FREERDP_ERROR_INSUFFICIENT_PRIVILEGES:
		return wire.ReasonAuth, code
	case C.FREERDP_ERROR_SECURITY_NEGO_CONNECT_FAILED, C.FREERDP_ERROR_CONNECT_TRANSPORT_FAILED:
		return wire.ReasonSecurity, code
	}
	return wire.ReasonConnect, code
}

// readInput queues the gateway's frames for the loop thread; FreeRDP's input calls are not safe
// from another thread.
func readInput(r *wire.Reader) {
	for {
		t, body, err := r.Next()
		w.qMu.Lock()
		if err != nil {
			w.eof = true
		} else {
			w.queue = append(w.queue, wire.Append(nil, t, body))
		}
		w.qMu.Unlock()
		C.vigil_wake()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, "rdp-worker: read:", err)
			}
			return
		}
	}
}

func send(t byte, body ...[]byte) bool {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	if w.fail != nil {
		return false
	}
	w.frame = wire.Append(w.frame[:0], t, body...)
	if _, err := w.out.Write(w.frame); err != nil {
		w.fail = err
		return false
	}
	return true
}

func flush() bool {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	if w.fail == nil {
		w.fail = w.out.Flush()
	}
	return w.fail == nil
}

func fail(reason byte, code uint32, msg string) {
	var b []byte
	b = append(b, reason)
	b = binary.BigEndian.AppendUint32(b, code)
	b = wire.AppendStr16(b, msg)
	send(wire.Error, b)
	flush()
}

func u16s(v ...int) []byte {
	b := make([]byte, 0, 2*len(v))
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, uint16(x))
	}
	return b
}

// MS-RDPBCGR selectedProtocol bits for CredSSP (NLA); FreeRDP 2 keeps its names private.
const (
	protocolHybrid   = 0x2
	protocolHybridEx = 0x8
)
