// Package proxy holds the protocol front ends and upstream clients: one sub-package per protocol
// (proxy/ssh first). A proxy authenticates the user, asks access policy and the vault for the target
// and its credential, dials the target, and pumps both directions of the session through the
// session's capture ring.
//
// proxy imports capture, access and vault; nothing imports proxy but cmd.
package proxy
