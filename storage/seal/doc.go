// Package seal writes and checks sealed recordings, as specified in storage/FORMAT.md.
//
// Data enters through a Writer: the recorder hands it each finished segment's plaintext
// (PutSegment), which is encrypted with age to the recording's recipients, stored, and recorded in
// a signed checkpoint manifest; Finish stores the final manifest with the end cause. Manifests are
// signed with the node's Ed25519 key in the OpenSSH signature format (SSHSIG), so stock
// `ssh-keygen -Y verify` checks them without Vigil.
//
// Data leaves through Verify, which needs only public keys and names exactly what is wrong with a
// recording (each problem wraps one of the sentinel errors), and OpenSegment, which decrypts one
// segment with an age identity and checks its plaintext hash.
//
// seal imports only storage of Vigil's packages.
package seal
