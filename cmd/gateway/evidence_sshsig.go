package gateway

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// SSHSIG (OpenSSH PROTOCOL.sshsig) for the evidence bundle's signed file list. storage/seal keeps
// its implementation unexported, so the ~80 lines are repeated here rather than widening seal's
// API for one caller; both are checked against stock ssh-keygen by tests.

const (
	sshsigMagic = "SSHSIG"
	sshsigBegin = "-----BEGIN SSH SIGNATURE-----"
	sshsigEnd   = "-----END SSH SIGNATURE-----"
	maxSigBytes = 16 << 10
)

type sshsigBlob struct {
	Magic     [6]byte
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

type sshsigSigned struct {
	Magic     [6]byte
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      []byte
}

// signSSHSIG returns the armored SSHSIG of msg in the recording namespace, hash sha512.
func signSSHSIG(s ssh.Signer, msg []byte) ([]byte, error) {
	h := sha512.Sum512(msg)
	var magic [6]byte
	copy(magic[:], sshsigMagic)
	sig, err := s.Sign(rand.Reader, ssh.Marshal(sshsigSigned{Magic: magic, Namespace: seal.Namespace, HashAlg: "sha512", Hash: h[:]}))
	if err != nil {
		return nil, fmt.Errorf("sshsig: sign: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(ssh.Marshal(sshsigBlob{Magic: magic, Version: 1,
		PublicKey: s.PublicKey().Marshal(), Namespace: seal.Namespace, HashAlg: "sha512", Signature: ssh.Marshal(sig)}))
	var b bytes.Buffer
	b.WriteString(sshsigBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + sshsigEnd + "\n")
	return b.Bytes(), nil
}

// verifySSHSIG checks sig over msg in the recording namespace and returns the key that made it;
// trust is the caller's decision. Errors wrap seal.ErrBadSignature.
func verifySSHSIG(sig, msg []byte) (ssh.PublicKey, error) {
	if len(sig) > maxSigBytes {
		return nil, fmt.Errorf("%w: %d bytes", seal.ErrBadSignature, len(sig))
	}
	body, ok := strings.CutPrefix(strings.TrimSpace(string(sig)), sshsigBegin)
	if ok {
		body, ok = strings.CutSuffix(body, sshsigEnd)
	}
	if !ok {
		return nil, fmt.Errorf("%w: not an armored ssh signature", seal.ErrBadSignature)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", seal.ErrBadSignature, err)
	}
	var blob sshsigBlob
	if err := ssh.Unmarshal(raw, &blob); err != nil {
		return nil, fmt.Errorf("%w: %v", seal.ErrBadSignature, err)
	}
	if string(blob.Magic[:]) != sshsigMagic || blob.Version != 1 || blob.Namespace != seal.Namespace || blob.HashAlg != "sha512" {
		return nil, fmt.Errorf("%w: version %d namespace %q hash %q", seal.ErrBadSignature, blob.Version, blob.Namespace, blob.HashAlg)
	}
	pub, err := ssh.ParsePublicKey(blob.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", seal.ErrBadSignature, err)
	}
	var s ssh.Signature
	if err := ssh.Unmarshal(blob.Signature, &s); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", seal.ErrBadSignature, err)
	}
	h := sha512.Sum512(msg)
	data := ssh.Marshal(sshsigSigned{Magic: blob.Magic, Namespace: blob.Namespace, Reserved: blob.Reserved, HashAlg: blob.HashAlg, Hash: h[:]})
	if err := pub.Verify(data, &s); err != nil {
		return pub, fmt.Errorf("%w: %v", seal.ErrBadSignature, err)
	}
	return pub, nil
}

// allowedSignersLines is the allowed_signers file of keys, as ssh-keygen -Y verify reads it.
func allowedSignersLines(keys []ssh.PublicKey) []byte {
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s namespaces=%q %s", nodekeys.SignerPrincipal, seal.Namespace, ssh.MarshalAuthorizedKey(k))
	}
	return b.Bytes()
}

// parseAllowedSigners reads the keys of an allowed_signers file that may sign recordings.
func parseAllowedSigners(b []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		principal, rest, _ := strings.Cut(line, " ")
		pub, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if principal != nodekeys.SignerPrincipal {
			continue
		}
		ok := true
		for _, o := range opts {
			if v, found := strings.CutPrefix(o, "namespaces="); found {
				ok = false
				for _, ns := range strings.Split(strings.Trim(v, `"`), ",") {
					ok = ok || ns == seal.Namespace
				}
			}
		}
		if ok {
			keys = append(keys, pub)
		}
	}
	return keys, nil
}
