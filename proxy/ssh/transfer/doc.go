// Package transfer observes file transfers inside SSH sessions: legacy scp (the rcp protocol that
// `scp -O` speaks) and SFTP version 3 (draft-ietf-secsh-filexfer-02, what OpenSSH speaks, and what
// OpenSSH 9 scp uses by default). For each file moved it reports the path, the size and the SHA-256
// of the bytes that crossed the gateway; removes, renames and directory creations are reported
// too.
//
// The SSH gateway hands every chunk of a channel to an Observer as it passes (FromClient for bytes
// the user's client sent, FromServer for bytes the target sent) before forwarding it. An Observer
// reads those bytes and never changes, holds or delays them: it copies only the fragment of a
// packet or control line split across chunks, with hard caps, and calls emit with an Event when a
// transfer or operation is complete. When the stream is not what it should be (a packet longer than
// any real implementation sends, a control line that is not scp's), the Observer emits one Event
// with Err set and stops observing; the session itself goes on untouched.
package transfer
