// Package capture is the event model of a session and its ring.
//
// Every byte of a session, from the target and from the user, passes once through the session's
// Ring. Producers read from the network straight into ring memory; the forwarding write and every
// reader use slices of that memory. Readers come in two kinds: lossless (the recorder: the producer
// waits for it, bounded by a stall timeout) and lossy (live viewers: overrun readers are told to
// resync from a snapshot; the producer never waits for them).
//
// capture imports nothing else of Vigil's.
package capture
