// Package desktop is the core of Vigil's graphical sessions (VNC, RDP): one Session per user
// connected to a graphical target, whatever the protocol on either side.
//
// Data enters from two sides. The target's screen arrives through a Target (proxy/vnc's adapter,
// proxy/rdp's worker), whose Run writes damage events into the session's capture ring through a
// frame.Emitter. The user's keyboard, mouse and clipboard arrive through Session.Input from the
// controlling front end (Vigil's RFB server, the web viewer); each input is written to the ring
// first and then forwarded to the target, so nothing reaches the target unrecorded. Printable
// keys are withheld from the ring by default (KeysPrintableRedacted): a capture.TypeRedacted
// event with the count goes in instead, as text sessions do for passwords.
//
// Data leaves through the ring's readers. The recorder is started by the caller (Config.Recorder)
// on a lossless reader before the first event. A screen model (a lossless reader applying damage
// to a frame.Framebuffer) remembers the Seq of the last event it applied, so Attach can hand a
// viewer a consistent snapshot and a lossy reader positioned exactly after it: a viewer applies
// what the reader returns to the snapshot and stays pixel-exact, and on capture.ErrOverrun calls
// Attach again.
//
// Every session's context is a context.WithCancelCause: the cause (the user left, the target
// went away, an auditor terminated it, the recording failed) reaches the recording, the audit log
// and the front ends. Live sessions are listed in a Registry for the live controls (pause,
// resume, terminate, shadow).
//
// desktop imports capture and capture/frame only.
package desktop
