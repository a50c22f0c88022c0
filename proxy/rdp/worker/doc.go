// Package worker is the RDP worker process: a FreeRDP 2.11 client (cgo) that proxy/rdp runs as a
// separate process per session, so that a crash, a hang or a memory blow-up caused by a hostile
// RDP server ends one session and never the gateway (the way guacd isolates its protocol code).
//
// Data enters on stdin as the gateway's frames (proxy/rdp/FORMAT.md: Connect once, then input)
// and leaves on stdout as the worker's frames (certificate, damage with RGBA pixels, heartbeats,
// the error that ended it). Main runs it; cmd/vigil calls Main for the hidden `rdp-worker`
// subcommand, and proxy/rdp's tests call it from their TestMain.
//
// FreeRDP logs to stdout: Main moves the protocol to a duplicate of fd 1 and points fd 1 at
// stderr before FreeRDP is touched, so no log line can corrupt a frame.
package worker
