package gateway

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// Sentinels of bundle verification besides seal's (ErrTampered, ErrBadSignature,
// ErrUnknownSigner, ErrMissingSegment, ErrBadManifest, ErrNoFinalManifest) and audit.ErrBroken.
var (
	// ErrNotBundle means the file is not a zip holding a bundle index Vigil knows.
	ErrNotBundle = errors.New("not a vigil evidence bundle")
	// ErrMissingFile means a file the signed list or the index names is absent from the bundle.
	ErrMissingFile = errors.New("file missing from the bundle")
)

// maxBundleFile bounds one file read from a bundle: a segment is a few MiB, a cast or player of
// a long session tens of MiB.
const maxBundleFile = 1 << 30

// EvidenceProblem is one finding, naming the file inside the bundle.
type EvidenceProblem struct {
	File string
	Err  error // wraps one sentinel
}

func (p EvidenceProblem) Error() string { return p.File + ": " + p.Err.Error() }
func (p EvidenceProblem) Unwrap() error { return p.Err }

// EvidenceSession is what was found for one session of a bundle.
type EvidenceSession struct {
	ID          string
	Final       bool   // a valid final manifest was used
	Cause       string // end cause, or seal.CrashCause
	Segments    int    // listed by the manifest
	Checkpoints int    // checkpoints whose signature and entry agreed
	Plain       int    // segments whose plaintext matched plain_sha256 (decrypted, or clear)
	AuditEvents int
}

// EvidenceReport is what VerifyEvidence found.
type EvidenceReport struct {
	Index     *BundleIndex
	Signer    ssh.PublicKey // of SHA256SUMS.sig
	Files     int           // files the signed list names that matched
	Decrypted bool          // segments were decrypted (or clear) and checked against plain_sha256
	Sessions  []EvidenceSession
	Notes     []string
	Problems  []EvidenceProblem
}

// OK reports whether nothing is wrong.
func (r *EvidenceReport) OK() bool { return len(r.Problems) == 0 }

// Err joins the problems (nil when OK); errors.Is finds each sentinel.
func (r *EvidenceReport) Err() error {
	errs := make([]error, len(r.Problems))
	for i, p := range r.Problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

func (r *EvidenceReport) problem(file string, err error) {
	r.Problems = append(r.Problems, EvidenceProblem{File: file, Err: err})
}

// EvidenceVerifyOptions are the optional inputs of VerifyEvidence.
type EvidenceVerifyOptions struct {
	// Identities decrypt re-encrypted segments so their plaintext is checked (an age identity of
	// the recipient, or age.NewScryptIdentity of the passphrase). Without, only the signed
	// list's hashes of the ciphertext are checked.
	Identities []age.Identity
	// Trusted, if set, must hold the bundle's signing key (this node's or an auditor's own list):
	// the bundle's allowed_signers alone cannot tell a re-signed bundle from a genuine one.
	Trusted []ssh.PublicKey
}

// VerifyEvidence checks the bundle read from ra: the signed file list and every file against it,
// every manifest's signature and chain, the session SHA256SUMS against its manifest, the segments'
// plaintext (clear, or with opt.Identities) and the audit lines' own hashes. The error is nil for
// an intact bundle, the joined findings (Report.Err) otherwise, or ErrNotBundle / a read error
// that stopped the check.
func VerifyEvidence(ctx context.Context, ra io.ReaderAt, size int64, opt EvidenceVerifyOptions) (*EvidenceReport, error) {
	rep := &EvidenceReport{}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if _, dup := files[f.Name]; dup {
			rep.problem(f.Name, fmt.Errorf("%w: present twice", seal.ErrTampered))
			continue
		}
		if f.UncompressedSize64 > maxBundleFile {
			rep.problem(f.Name, fmt.Errorf("%w: %d bytes", seal.ErrTampered, f.UncompressedSize64))
			continue
		}
		rc, err := f.Open()
		if err != nil {
			rep.problem(f.Name, fmt.Errorf("%w: unreadable: %v", seal.ErrTampered, err))
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxBundleFile))
		rc.Close()
		if err != nil {
			rep.problem(f.Name, fmt.Errorf("%w: unreadable: %v", seal.ErrTampered, err))
			continue
		}
		files[f.Name] = b
	}
	if _, ok := files[bundleIndex]; !ok {
		return rep, fmt.Errorf("%w: no %s", ErrNotBundle, bundleIndex)
	}
	signers, err := nodekeys.ParseAllowedSigners(files[bundleSigners], nodekeys.SignerPrincipal, seal.Namespace)
	if err != nil || len(signers) == 0 {
		rep.problem(bundleSigners, fmt.Errorf("%w: no usable key (%v)", seal.ErrUnknownSigner, err))
	}
	v := &bundleVerifier{files: files, signers: signers, rep: rep, opt: opt}
	v.fileList()
	if len(opt.Trusted) > 0 && rep.Signer != nil && !trustedKey(opt.Trusted, rep.Signer) {
		rep.problem(bundleSigners, fmt.Errorf("%w: the bundle is signed by %s, not among the trusted keys", seal.ErrUnknownSigner, ssh.FingerprintSHA256(rep.Signer)))
	}
	idx := &BundleIndex{}
	if err := json.Unmarshal(files[bundleIndex], idx); err != nil || idx.Format != BundleFormat {
		return rep, fmt.Errorf("%w: %s: format %q %v", ErrNotBundle, bundleIndex, idx.Format, err)
	}
	if idx.Version != BundleVersion {
		return rep, fmt.Errorf("%w: version %d, this reader knows %d", ErrNotBundle, idx.Version, BundleVersion)
	}
	rep.Index = idx
	if idx.Audit.Included && !idx.Audit.Intact {
		rep.problem(bundleIndex, fmt.Errorf("%w: the node's audit log did not verify at export: %s", audit.ErrBroken, idx.Audit.Error))
	}
	rep.Decrypted = idx.Segments == ProtectClear || len(opt.Identities) > 0
	if !rep.Decrypted {
		rep.Notes = append(rep.Notes, "segments not decrypted: give the recipient's identity (or the passphrase) to check their plaintext against the manifests")
	}
	for _, s := range idx.Sessions {
		rep.Sessions = append(rep.Sessions, v.session(s, idx.Segments))
	}
	return rep, rep.Err()
}

type bundleVerifier struct {
	files   map[string][]byte
	signers []ssh.PublicKey
	rep     *EvidenceReport
	opt     EvidenceVerifyOptions
}

// signed checks name's signature (name.sig) by a key of the bundle's allowed_signers.
func (v *bundleVerifier) signed(name string) bool {
	sig, ok := v.files[name+seal.SigSuffix]
	if !ok {
		v.rep.problem(name+seal.SigSuffix, fmt.Errorf("%w: %w", seal.ErrBadSignature, ErrMissingFile))
		return false
	}
	pub, err := seal.VerifySignature(sig, v.files[name])
	if err != nil {
		v.rep.problem(name, fmt.Errorf("signature %s: %w", name+seal.SigSuffix, err))
		return false
	}
	if name == bundleSums {
		v.rep.Signer = pub
	}
	if !trustedKey(v.signers, pub) {
		v.rep.problem(bundleSigners, fmt.Errorf("%w: %s is signed by %s, which allowed_signers does not list", seal.ErrUnknownSigner, name, ssh.FingerprintSHA256(pub)))
		return false
	}
	return true
}

// fileList checks SHA256SUMS's signature and every file against it.
func (v *bundleVerifier) fileList() {
	if _, ok := v.files[bundleSums]; !ok {
		v.rep.problem(bundleSums, ErrMissingFile)
		return
	}
	v.signed(bundleSums)
	listed := map[string]bool{bundleSums: true, bundleSums + seal.SigSuffix: true}
	sc := bufio.NewScanner(bytes.NewReader(v.files[bundleSums]))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			v.rep.problem(bundleSums, fmt.Errorf("%w: line %q", seal.ErrTampered, sc.Text()))
			continue
		}
		listed[name] = true
		data, ok := v.files[name]
		if !ok {
			v.rep.problem(name, ErrMissingFile)
			continue
		}
		if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
			v.rep.problem(name, fmt.Errorf("%w: its SHA-256 differs from the signed SHA256SUMS", seal.ErrTampered))
			continue
		}
		v.rep.Files++
	}
	var extra []string
	for name := range v.files {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		v.rep.problem(name, fmt.Errorf("%w: not in the signed SHA256SUMS", seal.ErrTampered))
	}
}

func (v *bundleVerifier) session(s BundleSession, protection string) EvidenceSession {
	out := EvidenceSession{ID: s.ID, Cause: seal.CrashCause}
	dir := s.Dir + "/"
	entries, final := v.manifests(dir, &out)
	out.Segments = len(entries)
	out.Final = final
	var want bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&want, "%s  %s\n", e.PlainSHA256, strings.TrimSuffix(e.Key, ".age"))
	}
	if got, ok := v.files[dir+bundleSums]; !ok {
		v.rep.problem(dir+bundleSums, ErrMissingFile)
	} else if entries != nil && !bytes.Equal(got, want.Bytes()) {
		v.rep.problem(dir+bundleSums, fmt.Errorf("%w: it does not list the manifest's plain_sha256", seal.ErrTampered))
	}
	for _, e := range entries {
		v.segment(dir, e, protection, &out)
	}
	out.AuditEvents = v.auditLines(dir+sessionAudit, s.ID)
	return out
}

// manifests verifies the session's final manifest and checkpoints and returns the entries the
// truth rests on: the final's, or after a crash the contiguous signed checkpoints'.
func (v *bundleVerifier) manifests(dir string, out *EvidenceSession) ([]seal.Entry, bool) {
	var entries []seal.Entry
	final := false
	if _, ok := v.files[dir+seal.FinalName]; !ok {
		v.rep.problem(dir+seal.FinalName, seal.ErrNoFinalManifest)
	} else if v.signed(dir + seal.FinalName) {
		m, err := seal.ParseManifest(v.files[dir+seal.FinalName])
		switch {
		case err != nil:
			v.rep.problem(dir+seal.FinalName, err)
		case m.Kind != seal.KindFinal:
			v.rep.problem(dir+seal.FinalName, fmt.Errorf("%w: manifest.json is a %s", seal.ErrTampered, m.Kind))
		case m.Session.ID+"/" != dir:
			v.rep.problem(dir+seal.FinalName, fmt.Errorf("%w: manifest of session %s", seal.ErrTampered, m.Session.ID))
		default:
			entries, final, out.Cause = m.Segments, true, m.End.Cause
		}
	}
	var crash []seal.Entry
	for n := 0; ; n++ {
		name := dir + seal.CheckpointName(n)
		if _, ok := v.files[name]; !ok {
			break
		}
		if !v.signed(name) {
			continue
		}
		m, err := seal.ParseManifest(v.files[name])
		if err != nil {
			v.rep.problem(name, err)
			continue
		}
		e := m.Segments[0]
		if m.Kind != seal.KindCheckpoint || e.Index != n || m.Session.ID+"/" != dir {
			v.rep.problem(name, fmt.Errorf("%w: not checkpoint %d of this session", seal.ErrTampered, n))
			continue
		}
		if final && (n >= len(entries) || entries[n] != e) {
			v.rep.problem(name, fmt.Errorf("%w: checkpoint disagrees with the final manifest", seal.ErrTampered))
			continue
		}
		if !final && len(crash) == n && (n == 0 || m.PrevChain == crash[n-1].Chain) {
			crash = append(crash, e)
		}
		out.Checkpoints++
	}
	if !final {
		return crash, false
	}
	return entries, true
}

func (v *bundleVerifier) segment(dir string, e seal.Entry, protection string, out *EvidenceSession) {
	plainName := dir + strings.TrimSuffix(e.Key, ".age")
	var plain []byte
	switch {
	case protection == ProtectClear:
		b, ok := v.files[plainName]
		if !ok {
			v.rep.problem(plainName, fmt.Errorf("%w: %w", seal.ErrMissingSegment, ErrMissingFile))
			return
		}
		plain = b
	default:
		sealed, ok := v.files[dir+e.Key]
		if !ok {
			v.rep.problem(dir+e.Key, fmt.Errorf("%w: %w", seal.ErrMissingSegment, ErrMissingFile))
			return
		}
		if len(v.opt.Identities) == 0 {
			return
		}
		r, err := age.Decrypt(bytes.NewReader(sealed), v.opt.Identities...)
		if err == nil {
			plain, err = io.ReadAll(io.LimitReader(r, e.PlainSize+1))
		}
		if err != nil {
			v.rep.problem(dir+e.Key, fmt.Errorf("%w: does not decrypt: %v", seal.ErrTampered, err))
			return
		}
	}
	if h := sha256.Sum256(plain); hex.EncodeToString(h[:]) != e.PlainSHA256 || int64(len(plain)) != e.PlainSize {
		v.rep.problem(plainName, fmt.Errorf("%w: plaintext differs from the manifest's plain_sha256", seal.ErrTampered))
		return
	}
	out.Plain++
}

// auditLines checks each audit line's own hash (audit's rule: SHA-256 of the event's JSON with
// hash empty), that it names the session, and that consecutive lines of the log still link.
func (v *bundleVerifier) auditLines(name, id string) int {
	data, ok := v.files[name]
	if !ok {
		v.rep.problem(name, ErrMissingFile)
		return 0
	}
	n := 0
	var prev *audit.Event
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e audit.Event
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			v.rep.problem(name, fmt.Errorf("line %d: %w: %v", i+1, audit.ErrBroken, err))
			continue
		}
		switch {
		case auditHash(e) != e.Hash:
			v.rep.problem(name, fmt.Errorf("line %d: %w: its content does not match its hash (edited)", i+1, audit.ErrBroken))
		case e.Session != id:
			v.rep.problem(name, fmt.Errorf("line %d: %w: event of session %q", i+1, seal.ErrTampered, e.Session))
		case prev != nil && e.Seq <= prev.Seq:
			v.rep.problem(name, fmt.Errorf("line %d: %w: sequence %d after %d", i+1, audit.ErrBroken, e.Seq, prev.Seq))
		case prev != nil && e.Seq == prev.Seq+1 && e.Prev != prev.Hash:
			v.rep.problem(name, fmt.Errorf("line %d: %w: does not follow line %d", i+1, audit.ErrBroken, i))
		}
		prev = &e
		n++
	}
	return n
}

// auditHash is audit's line hash (hashOf there, unexported).
func auditHash(e audit.Event) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func trustedKey(keys []ssh.PublicKey, pub ssh.PublicKey) bool {
	for _, k := range keys {
		if k != nil && pub != nil && bytes.Equal(k.Marshal(), pub.Marshal()) {
			return true
		}
	}
	return false
}
