// Package capture is the event model of a session and its ring.
//
// Every byte of a session, from the target and from the user, passes once through the session's
// Ring. Producers read from the network straight into ring memory; the forwarding write and every
// reader use slices of that memory. Readers come in two kinds: lossless (the recorder: the producer
// waits for it, bounded by a stall timeout) and lossy (live viewers: overrun readers are told to
// resync from a snapshot; the producer never waits for them).
//
// # How data enters and leaves
//
// A proxy gives each direction its own Producer and calls Producer.ReadEvent in its copy loop:
// one Read of the connection lands in the producer's arena, the event is committed, and the proxy
// writes ev.Payload to the other side. Control events (resize, markers) go in with Producer.Write.
// Keystrokes typed at a password prompt go in with Producer.ReadEventRedacted: they are forwarded
// but only their count is committed, so no reader can ever see them.
//
// Readers call Reader.Next in their own goroutine. All readers see one order (Event.Seq) across
// producers, and Event.Time is on one monotonic clock starting at Ring.Start.
//
// # Memory layout
//
// Each producer owns an arena (a circular byte buffer) that only it writes, so the network read
// needs no lock. A shared index of fixed-size records (seq, time, type, channel, producer, arena
// position, length) is appended under a short mutex. A payload never straddles the arena's end:
// when less than the reservation is left, the producer skips to the start. A producer reuses arena
// bytes and index slots only after every lossless reader has moved past the events that use them;
// past Config.StallTimeout it gives up with ErrStalled and the session must end (fail closed).
// Lossy readers copy payloads under a per-producer read lock after checking that the producer has
// not reserved those bytes since; see Reader.Next.
//
// Arenas, the producers' own-event queues and the index start small and double on demand: a
// producer grows its arena, and a commit the index, only when it would otherwise wait for lossless
// readers, and waits only once they reach Config.ArenaBytes and Config.Records. Most sessions are
// interactive and stay at the initial sizes (about 300 KiB for a four-producer session instead of
// about 19 MiB). Growth copies the bytes the old arena still holds into the new one (see
// growArenaLocked); slices readers already hold keep pointing into the old array, which is never
// written again. Lossy readers never cause growth: a live viewer of a session whose recorder keeps
// up has the initial arena (64 KiB by default) as its slack before it must resync.
//
// Steady state allocates nothing: waiters are woken through per-goroutine channels with room for
// one token, and the index holds no pointers.
//
// The producer's read is called ReadEvent, not ReadFrom: it returns an Event rather than io.ReaderFrom's
// (int64, error), and go vet (stdmethods) rightly refuses a ReadFrom of another shape.
//
// capture imports nothing else of Vigil's.
package capture
