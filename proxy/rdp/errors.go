package rdp

import (
	"errors"

	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

// Why a Dial failed or a session ended. Errors wrap one of these; compare with errors.Is.
var (
	// ErrAuth: the server refused the credential (NLA, or a logon failure it reported).
	ErrAuth = errors.New("rdp: logon refused")
	// ErrLogon: no logon confirmation within Options.LogonTimeout. Servers without NLA (xrdp)
	// show a wrong password as a login dialog instead of an error, so silence is all there is.
	ErrLogon = errors.New("rdp: logon failed or not confirmed")
	// ErrCertificate: the server's certificate is not the pinned one.
	ErrCertificate = errors.New("rdp: server certificate does not match the pinned fingerprint")
	// ErrSecurity: no security protocol both sides accept.
	ErrSecurity = errors.New("rdp: security negotiation failed")
	// ErrConnect: the server could not be reached.
	ErrConnect = errors.New("rdp: connect failed")
	// ErrDisconnected: the server ended the session.
	ErrDisconnected = errors.New("rdp: disconnected by the server")
	// ErrWorker: the worker process died (crash, signal, resource limit) or broke the protocol.
	ErrWorker = errors.New("rdp: worker failed")
	// ErrWorkerHung: the worker sent nothing for Options.Watchdog and was killed.
	ErrWorkerHung = errors.New("rdp: worker hung")
	// ErrClosed: the session was closed by the caller.
	ErrClosed = errors.New("rdp: session closed")
	// ErrNoScancode: a key event without a scancode; RDP sends scancodes, not keysyms.
	ErrNoScancode = errors.New("rdp: key has no scancode")
	// ErrProtocol: a worker frame broke FORMAT.md.
	ErrProtocol = wire.ErrProtocol
)

// reasonErr maps a worker Error reason to its sentinel.
func reasonErr(reason byte) error {
	switch reason {
	case wire.ReasonAuth:
		return ErrAuth
	case wire.ReasonCertificate:
		return ErrCertificate
	case wire.ReasonSecurity:
		return ErrSecurity
	case wire.ReasonConnect:
		return ErrConnect
	case wire.ReasonDisconnected:
		return ErrDisconnected
	}
	return ErrWorker
}
