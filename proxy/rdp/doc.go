// Package rdp connects Vigil to RDP targets. The RDP protocol itself is FreeRDP's (2.11, through
// cgo), and it runs in a separate worker process per session (package proxy/rdp/worker, started
// as the gateway's own binary with the hidden `rdp-worker` subcommand): FreeRDP parses what a
// possibly hostile server sends, so a crash, a hang or a memory blow-up there must end one
// session, never the gateway. This package is pure Go.
//
// Dial starts the worker, confines it (address-space and CPU-time limits applied to the child
// before it is given anything to do), sends it the vaulted credential once over its stdin, and
// waits until the server has accepted the logon. The returned *Session implements the graphical
// Target contract (proxy/desktop): Run writes the remote screen into a frame.Emitter (and the
// server's clipboard text as capture.TypeOutput events), Input sends keys (set-1 scancodes), the
// pointer and clipboard text, Resize uses the display-control channel.
//
// Logon confirmation: with NLA the server checks the credential before any desktop exists. Without
// it (TLS or standard RDP security) a server may show its own login screen instead of refusing, so
// Dial waits for a sign of a user session: the Save Session Info logon notification (Windows), or
// the clipboard channel becoming ready (xrdp, which starts it only in a logged-in session), and
// fails with ErrLogon when neither comes within Options.LogonTimeout.
//
// Data enters as the worker's frames (FORMAT.md: damage rectangles with RGBA pixels, certificate
// fingerprint, logon, heartbeats, errors), which are checked against their bounds and applied to
// a copy of the screen kept here, and leaves as capture damage events. The worker is not trusted:
// a frame that breaks the format, a rectangle outside the desktop, or silence longer than the
// watchdog interval kills it and ends the session with a cause that says so.
//
// Certificates are pinned by the SHA-256 of their DER encoding: Options.Fingerprint, or, when it
// is empty, trust on first use with Session.Fingerprint for the caller to record.
package rdp
