// Package storagetest is the contract suite every storage.Backend must pass. A backend's own tests
// call RunBackendTests with a function that makes an empty backend; the suite then checks, through
// the Backend interface alone, what storage.Backend's documentation promises: round trips, the
// fs.ErrNotExist and ErrInvalidKey contracts, List's prefix and order semantics, write-once Puts,
// atomicity under failing readers and cancelled contexts, and concurrent use.
//
// Data enters as generated objects through Put and leaves through Get, Stat and List; nothing is
// specific to one backend, so a failure here is a broken contract, not a broken test setup.
package storagetest
