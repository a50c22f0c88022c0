// Package telnet is Vigil's telnet client (RFC 854/855) for telnet targets.
//
// Dial connects to a target, negotiates the few options a terminal session needs (ECHO and SGA
// from the server; NAWS and TTYPE from us; every other option refused), and logs in with the
// vaulted credential by matching the target's prompts (Prompts). The returned *Conn is a plain
// byte stream: Read yields the target's output with the protocol taken out, Write sends the
// user's input escaped, Resize sends the window size. The login dialog, and so the password,
// happens inside Dial: nothing of it reaches the caller's Read, so it never enters a capture
// ring; what the user types afterwards is the caller's to record and redact, as for SSH.
//
// Hostile targets are bounded: subnegotiations are capped (maxSubneg), negotiation answers are
// rationed (maxAnswers), and a target that never shows a prompt times out (Config.LoginTimeout).
package telnet
