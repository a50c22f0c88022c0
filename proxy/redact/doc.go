// Package redact decides when a user's keystrokes must not be recorded because the target is
// asking for a secret.
//
// A terminal that reads a password turns echo off. Over SSH the gateway cannot see the remote
// pty's termios, so a Tracker infers the no-echo state from what the target prints: when the last
// output line, stripped of ANSI escape sequences and trailing spaces, ends in a password prompt
// (DefaultPrompt), the next line of input is a secret. Data enters through Output (every chunk the
// target sends) and Input (every chunk the user sends); the decision leaves through Secret.
//
// The state ends when the user presses Enter (CR or LF) or gives up (Ctrl-C, Ctrl-D), and also when
// the target turns out to echo what the user types, since then the characters are in the output
// recording anyway and there is nothing left to protect.
//
// A Tracker sees every byte of output, so it keeps only a bounded tail of the last line, scans only
// the end of each chunk and defers the regular expression to the moment a keystroke arrives. It
// allocates nothing per call.
package redact
