package seal

import "errors"

// Sentinel errors. Every problem Verify reports wraps exactly one of them, with the object's key.
var (
	// ErrTampered means an object's bytes differ from what a signed manifest says they are, or
	// a manifest contradicts itself, its prefix or another manifest.
	ErrTampered = errors.New("tampered")
	// ErrMissingSegment means a manifest lists a segment whose object is absent.
	ErrMissingSegment = errors.New("missing segment")
	// ErrOrder means a segment object holds the bytes of another segment of the recording
	// (segments swapped or moved), or a writer was given segments out of order.
	ErrOrder = errors.New("segment out of order")
	// ErrTruncated means a segment object is shorter than the manifest says.
	ErrTruncated = errors.New("truncated")
	// ErrBadSignature means a manifest's signature is absent, malformed or does not verify.
	ErrBadSignature = errors.New("bad signature")
	// ErrUnknownSigner means a signature verifies but its key is not among the trusted keys.
	ErrUnknownSigner = errors.New("signed by an untrusted key")
	// ErrNoFinalManifest means the recording has no final manifest: it ended by a crash (or its
	// final manifest was deleted). The last valid checkpoint is then the truth.
	ErrNoFinalManifest = errors.New("no final manifest: ended by crash")
	// ErrBadManifest means a manifest does not parse or breaks the format's rules.
	ErrBadManifest = errors.New("malformed manifest")
	// ErrNoRecording means there is no manifest at all under the prefix.
	ErrNoRecording = errors.New("no sealed recording")
	// ErrClosed means the Writer was used after Finish or after a failed write.
	ErrClosed = errors.New("writer closed")
)
