// Package proxy holds the protocol front ends and upstream clients, one sub-package per protocol:
// proxy/ssh (the SSH front end and upstream, and the browser terminal's sessions), proxy/telnet,
// proxy/vnc (an RFB client to targets and an RFB server for native viewers), proxy/rdp (FreeRDP
// in a worker process per session), proxy/desktop (the graphical session both front ends share)
// and proxy/redact (password prompts). A proxy authenticates the user, asks access policy and the
// vault for the target and its credential, dials the target, and pumps both directions of the
// session through the session's capture ring.
//
// proxy imports capture, access and vault; nothing imports proxy but cmd.
package proxy
