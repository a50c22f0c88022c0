package vnc

import "errors"

// Errors returned by Dial and Next, wrapped with the operation and the server's words where
// there are any; test for them with errors.Is.
var (
	// ErrAuthFailed: the server rejected the password. The wrapping error carries the server's
	// reason when it sent one: "vnc: authentication failed: <reason>".
	ErrAuthFailed = errors.New("vnc: authentication failed")
	// ErrRefused: the server refused the connection before authentication (RFB security
	// type 0, e.g. too many failed attempts), with its reason.
	ErrRefused = errors.New("vnc: server refused the connection")
	// ErrNoSecurityType: none of the server's security types is one we speak (None, VNC
	// Authentication), or it needs a password and none was given.
	ErrNoSecurityType = errors.New("vnc: no usable security type")
	// ErrVersion: the server did not greet with an RFB 3.x version string.
	ErrVersion = errors.New("vnc: unsupported protocol version")
	// ErrProtocol: the server sent something malformed; the connection cannot continue.
	ErrProtocol = errors.New("vnc: protocol violation")
	// ErrTooLarge: the server sent a size beyond the limits of Options.
	ErrTooLarge = errors.New("vnc: size limit exceeded")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("vnc: client closed")
)
