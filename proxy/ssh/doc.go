// Package ssh is Vigil's SSH gateway: the front end that users reach with a stock SSH client, and
// the upstream leg that logs in to the target with a vaulted credential.
//
// Data enters as an SSH connection accepted by Server.Serve. The user names the target in the login
// name ("alice@web01") or picks it from a menu of permitted targets. The Authenticator checks the
// user, the Policy resolves the target into an Upstream (address, credential, pinned host key), the
// Recorder starts recording from the session's capture ring, and only then do bytes flow.
//
// Data leaves in two directions: to the target and back to the user, and into the session's
// capture.Ring, which every byte of every channel passes through exactly once (target output as
// capture.TypeOutput, user input as capture.TypeInput or, while a secret prompt is active,
// capture.TypeRedacted; resizes, exec commands and file transfers as events). One SSH connection is
// one Vigil session and one ring; its channels are told apart by Event.Channel.
//
// Vigil fails closed: if the recording cannot be started or stalls, the session is refused or ended.
// The reason a session ended travels in its context (context.WithCancelCause) to the user, the audit
// log and Recording.Close.
//
// Live sessions (live.go, shadow.go): Server.Sessions lists the sessions that reached their target;
// Server.Session(id) returns a *Live to Shadow (a read-only stream: a keyframe of the screen, then
// output; fed by one lossy ring reader per session, so a viewer never slows the session and one
// that falls behind is repainted), Pause (the user's input is held, output keeps flowing), Resume
// and Terminate (the cause, a *TerminatedError, names the auditor and the reason). Each action is
// a marker in the recording and an audit event with its Actor.
//
// Other front ends (frontend.go): Server.ServeFrontend runs a session for a Frontend (the web
// UI's terminal over a websocket) whose user the caller authenticated. The Frontend is dressed as
// an SSH connection with one session channel, so the session is the same code as an SSH client's:
// the Policy's access check, the ring, the recorder, prompt redaction, live control and the audit
// events (session-start says "via web").
//
// proxy/ssh imports capture, proxy/redact and proxy/ssh/transfer; it declares the small interfaces it
// needs from access and vault (Authenticator, Policy, Recorder) and cmd wires them in.
package ssh
