// Package gateway wires Vigil's packages into a running gateway: the recording store over a
// storage backend, the recorder behind proxy/ssh's Recorder interface, and the access and vault
// adapters behind its Authenticator and Policy. cmd/vigil and the whole-gateway tests and
// benchmarks share it.
package gateway
