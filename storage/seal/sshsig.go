package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSHSIG, as OpenSSH's PROTOCOL.sshsig defines it: written here (about a hundred lines) rather
// than imported, so that the one format an auditor checks without Vigil has no dependency that
// could drift from ssh-keygen's.

// Namespace is the SSHSIG namespace of recording manifests: a signature made for another purpose
// (a git commit, a file) by the same key never verifies as a manifest signature.
const Namespace = "vigil-recording"

const (
	sigMagic   = "SSHSIG"
	sigVersion = 1
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
	// maxSigLen bounds what the parser reads: an Ed25519 SSHSIG is under 300 bytes armored.
	maxSigLen = 16 << 10
)

// sigBlob is the wire form of an SSHSIG signature.
type sigBlob struct {
	Magic     [6]byte
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

// signedData is what the key actually signs.
type signedData struct {
	Magic     [6]byte
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      []byte
}

func messageHash(alg string, msg []byte) ([]byte, error) {
	switch alg {
	case "sha512":
		h := sha512.Sum512(msg)
		return h[:], nil
	case "sha256":
		h := sha256.Sum256(msg)
		return h[:], nil
	}
	return nil, fmt.Errorf("%w: hash algorithm %q", ErrBadSignature, alg)
}

// signSSHSIG returns the armored SSHSIG of msg in namespace ns with hash sha512.
func signSSHSIG(s ssh.Signer, ns string, msg []byte) ([]byte, error) {
	h, _ := messageHash("sha512", msg)
	var magic [6]byte
	copy(magic[:], sigMagic)
	data := ssh.Marshal(signedData{Magic: magic, Namespace: ns, HashAlg: "sha512", Hash: h})
	sig, err := s.Sign(rand.Reader, data)
	if err != nil {
		return nil, fmt.Errorf("sshsig: sign: %w", err)
	}
	blob := ssh.Marshal(sigBlob{
		Magic: magic, Version: sigVersion, PublicKey: s.PublicKey().Marshal(),
		Namespace: ns, HashAlg: "sha512", Signature: ssh.Marshal(sig),
	})
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.Bytes(), nil
}

// verifySSHSIG checks the armored signature sig of msg in namespace ns and returns the key that
// made it. It does not decide whether that key is trusted. Errors wrap ErrBadSignature.
func verifySSHSIG(sig []byte, ns string, msg []byte) (ssh.PublicKey, error) {
	blob, err := parseSSHSIG(sig)
	if err != nil {
		return nil, err
	}
	if blob.Namespace != ns {
		return nil, fmt.Errorf("%w: namespace %q, want %q", ErrBadSignature, blob.Namespace, ns)
	}
	pub, err := ssh.ParsePublicKey(blob.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrBadSignature, err)
	}
	h, err := messageHash(blob.HashAlg, msg)
	if err != nil {
		return nil, err
	}
	var s ssh.Signature
	if err := ssh.Unmarshal(blob.Signature, &s); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadSignature, err)
	}
	data := ssh.Marshal(signedData{Magic: blob.Magic, Namespace: ns, Reserved: blob.Reserved, HashAlg: blob.HashAlg, Hash: h})
	if err := pub.Verify(data, &s); err != nil {
		return pub, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return pub, nil
}

func parseSSHSIG(sig []byte) (*sigBlob, error) {
	if len(sig) > maxSigLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadSignature, len(sig))
	}
	text := strings.TrimSpace(string(sig))
	body, ok := strings.CutPrefix(text, armorBegin)
	if ok {
		body, ok = strings.CutSuffix(body, armorEnd)
	}
	if !ok {
		return nil, fmt.Errorf("%w: not an armored ssh signature", ErrBadSignature)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrBadSignature, err)
	}
	var blob sigBlob
	if err := ssh.Unmarshal(raw, &blob); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if string(blob.Magic[:]) != sigMagic || blob.Version != sigVersion {
		return nil, fmt.Errorf("%w: magic %q version %d", ErrBadSignature, blob.Magic[:], blob.Version)
	}
	return &blob, nil
}

var errNotEd25519 = errors.New("signing key is not ed25519")

// Sign returns the armored SSHSIG of msg by s in the recording namespace (Namespace, sha512), as
// `ssh-keygen -Y sign -n vigil-recording` makes it. Other signed files of Vigil's (an evidence
// bundle's file list) use it too, so that one allowed_signers line verifies them all.
func Sign(s ssh.Signer, msg []byte) ([]byte, error) { return signSSHSIG(s, Namespace, msg) }

// VerifySignature checks the armored SSHSIG sig of msg in the recording namespace and returns the
// key that made it; whether that key is trusted is the caller's decision. Errors wrap
// ErrBadSignature.
func VerifySignature(sig, msg []byte) (ssh.PublicKey, error) {
	return verifySSHSIG(sig, Namespace, msg)
}
