package gateway

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	kflate "github.com/klauspost/compress/flate"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// An evidence bundle is one zip a third party verifies with stock tools (README.txt inside says
// how) or with `vigil verify case.zip`. Layout (BundleFormat version 1):
//
//	README.txt               the steps, with this bundle's names filled in
//	bundle.json              what was exported, by whom, when, how segments are protected, audit check
//	allowed_signers          the node's signing keys (current and earlier), ssh-keygen format
//	SHA256SUMS               sha256sum lines of every other file (except its signature)
//	SHA256SUMS.sig           SSHSIG of SHA256SUMS by the node key, namespace vigil-recording
//	<session>/manifest.json(.sig), manifest-NNNNNNNN.json(.sig)   exactly as stored
//	<session>/seg-NNNNNNNN.vlog.age   segments re-encrypted to the recipient or passphrase
//	<session>/seg-NNNNNNNN.vlog       instead, with Clear: the plaintext segments
//	<session>/SHA256SUMS     plain_sha256 of each segment from the manifest, named as decrypted
//	<session>/audit.jsonl    the session's lines of the audit log, verbatim (each keeps its hash)
//	<session>/session.cast   asciicast v2 (text sessions)
//	<session>/player.html    offline player: xterm.js and the recording inlined, no network
//
// A graphical session will add <session>/session.mp4 (and no .cast): bundle.json names each
// session's kind and playable files, so version 1 readers need no change for it.
//
// The manifests' sha256 are of the node-sealed objects, which the recipient cannot decrypt; the
// bundle carries segments re-encrypted to the recipient instead, so the recipient checks the
// manifest's plain_sha256 after decrypting. The signed top-level SHA256SUMS covers the files the
// node's manifests do not (audit lines, player, re-encrypted segments, allowed_signers): it is
// signed with the node key because only the node's key is in allowed_signers.

// Bundle names.
const (
	BundleFormat   = "vigil-evidence-bundle"
	BundleVersion  = 1
	bundleIndex    = "bundle.json"
	bundleSums     = "SHA256SUMS"
	bundleSigners  = "allowed_signers"
	bundleReadme   = "README.txt"
	sessionAudit   = "audit.jsonl"
	sessionCast    = "session.cast"
	sessionPlayer  = "player.html"
	sessionVideo   = "session.mp4"
	plainSegSuffix = ".vlog"
)

// Protection of the segments in a bundle (BundleIndex.Segments).
const (
	ProtectRecipient  = "age-recipient"
	ProtectPassphrase = "age-passphrase"
	ProtectClear      = "clear"
)

// ErrEvidenceMode is returned when the options do not name exactly one protection.
var ErrEvidenceMode = errors.New("evidence: give exactly one of recipients, a passphrase or clear")

// EvidenceOptions says how to export. Exactly one of Recipients, Passphrase and Clear is set.
type EvidenceOptions struct {
	Recipients []age.Recipient
	Passphrase string
	// Clear ships plaintext segments. The caller decides who may ask for it and audits it.
	Clear bool
	// RecipientNames are the recipients as the user gave them, for bundle.json and the README.
	RecipientNames []string
	// AuditPath is the audit log whose lines naming each session are included; "" includes none.
	AuditPath string
	// Exporter names who exported (the audit actor).
	Exporter string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is called after each segment is written with the segments done so far
	// and the total of the export (the web UI's progress bar). It must not block for long.
	Progress func(done, total int)
}

func (o EvidenceOptions) protection() (string, error) {
	n, mode := 0, ""
	if len(o.Recipients) > 0 {
		n, mode = n+1, ProtectRecipient
	}
	if o.Passphrase != "" {
		n, mode = n+1, ProtectPassphrase
	}
	if o.Clear {
		n, mode = n+1, ProtectClear
	}
	if n != 1 {
		return "", ErrEvidenceMode
	}
	return mode, nil
}

// BundleIndex is bundle.json.
type BundleIndex struct {
	Format     string          `json:"format"`
	Version    int             `json:"version"`
	Created    time.Time       `json:"created"`
	Exporter   string          `json:"exporter"`
	Segments   string          `json:"segments"` // ProtectRecipient, ProtectPassphrase or ProtectClear
	Recipients []string        `json:"recipients,omitempty"`
	Signer     string          `json:"signer"` // SHA256 fingerprint of the key that signed SHA256SUMS
	Audit      AuditCheck      `json:"audit"`
	Sessions   []BundleSession `json:"sessions"`
}

// AuditCheck is the audit log's chain check at export time.
type AuditCheck struct {
	Included bool   `json:"included"`
	Events   int    `json:"events"`
	Intact   bool   `json:"intact"`
	Error    string `json:"error,omitempty"`
	LastHash string `json:"last_hash,omitempty"` // hash of the log's last line when checked
}

// BundleSession is one exported recording.
type BundleSession struct {
	ID          string   `json:"id"`
	Dir         string   `json:"dir"`
	Kind        string   `json:"kind"` // "text" or "graphical"
	User        string   `json:"user,omitempty"`
	Target      string   `json:"target,omitempty"`
	Start       string   `json:"start"`
	EndCause    string   `json:"end_cause"`
	Segments    int      `json:"segments"`
	AuditEvents int      `json:"audit_events"`
	Playable    []string `json:"playable"` // files inside Dir
}

// ExportEvidence writes an evidence bundle (a zip) of the recordings ids to w. Every segment is
// decrypted with the node's identities and checked against its manifest (seal.OpenSegment)
// before it is re-encrypted, so a bundle is never made of a damaged recording. The top-level
// SHA256SUMS is signed with the node's signing key. Errors: ErrEvidenceMode, ErrNoRecording, and
// the storage, seal and audit errors met on the way (wrapped with the session).
func (r *Recordings) ExportEvidence(ctx context.Context, w io.Writer, ids []string, opt EvidenceOptions) (*BundleIndex, error) {
	mode, err := opt.protection()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("evidence: no session named")
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	signer, err := ssh.NewSignerFromKey(r.keys.Sign)
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	idx := &BundleIndex{Format: BundleFormat, Version: BundleVersion, Created: now().UTC(), Exporter: opt.Exporter,
		Segments: mode, Recipients: opt.RecipientNames, Signer: ssh.FingerprintSHA256(signer.PublicKey())}
	events, check, err := readAudit(opt.AuditPath)
	if err != nil {
		return nil, err
	}
	idx.Audit = check
	b := &bundleWriter{zw: zip.NewWriter(w), sums: map[string]string{}}
	// The standard library's deflate took two thirds of an export's CPU; klauspost's at its
	// fastest level made exports 1.8x faster (BenchmarkEvidence) and any unzip reads it.
	b.zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return kflate.NewWriter(w, kflate.BestSpeed)
	})
	seen := map[string]bool{}
	var refs []Recording
	for _, id := range ids {
		ref, err := r.Find(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
		if seen[ref.ID] {
			continue
		}
		seen[ref.ID] = true
		refs = append(refs, ref)
		b.total += ref.Segments
	}
	b.progress = opt.Progress
	for _, ref := range refs {
		s, err := r.exportSession(ctx, b, ref, mode, opt, events[ref.ID])
		if err != nil {
			return nil, fmt.Errorf("evidence: session %s: %w", ref.ID, err)
		}
		idx.Sessions = append(idx.Sessions, s)
	}
	if err := b.file(bundleSigners, nodekeys.AllowedSigners(r.keys.TrustedSigners()), true); err != nil {
		return nil, err
	}
	ib, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: encode index: %w", err)
	}
	if err := b.file(bundleIndex, append(ib, '\n'), true); err != nil {
		return nil, err
	}
	if err := b.file(bundleReadme, readme(idx), true); err != nil {
		return nil, err
	}
	sums := b.sumsFile()
	sig, err := seal.Sign(signer, sums)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if err := b.file(bundleSums, sums, false); err != nil {
		return nil, err
	}
	if err := b.file(bundleSums+seal.SigSuffix, sig, false); err != nil {
		return nil, err
	}
	if err := b.zw.Close(); err != nil {
		return nil, fmt.Errorf("evidence: finish zip: %w", err)
	}
	return idx, nil
}

func (r *Recordings) exportSession(ctx context.Context, b *bundleWriter, ref Recording, mode string, opt EvidenceOptions, lines [][]byte) (BundleSession, error) {
	if ref.Err != nil {
		return BundleSession{}, ref.Err
	}
	if ref.ID == "" || strings.ContainsAny(ref.ID, `/\`) || strings.HasPrefix(ref.ID, ".") {
		return BundleSession{}, fmt.Errorf("session id %q cannot name a folder", ref.ID)
	}
	dir := ref.ID + "/"
	s := BundleSession{ID: ref.ID, Dir: ref.ID, Kind: "text", User: ref.Session.User, Target: ref.Session.Target,
		Start: ref.Session.Start.UTC().Format(time.RFC3339Nano), EndCause: seal.CrashCause, Segments: ref.Segments, AuditEvents: len(lines)}
	if ref.End != nil {
		s.EndCause = ref.End.Cause
	}
	// Manifests and signatures, byte for byte as stored.
	objs, err := r.backend.List(ctx, ref.Prefix)
	if err != nil {
		return s, fmt.Errorf("list: %w", err)
	}
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, ref.Prefix)
		if !strings.HasPrefix(name, "manifest") || strings.Contains(name, "/") {
			continue
		}
		data, err := r.get(ctx, o.Key)
		if err != nil {
			return s, err
		}
		if err := b.file(dir+name, data, true); err != nil {
			return s, err
		}
	}
	entries, err := r.Entries(ctx, ref)
	if err != nil {
		return s, err
	}
	ids := r.keys.Identities()
	var plainSums bytes.Buffer
	for _, e := range entries {
		rc, err := seal.OpenSegment(ctx, r.backend, ref.Prefix, e.Index, ids)
		if err != nil {
			return s, err
		}
		plain, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return s, fmt.Errorf("segment %d: %w", e.Index, err)
		}
		plainName := strings.TrimSuffix(e.Key, ".age")
		fmt.Fprintf(&plainSums, "%s  %s\n", e.PlainSHA256, plainName)
		if mode == ProtectClear {
			err = b.file(dir+plainName, plain, true)
		} else {
			var sealed []byte
			sealed, err = reencrypt(plain, opt)
			if err == nil {
				err = b.file(dir+e.Key, sealed, false)
			}
		}
		if err != nil {
			return s, fmt.Errorf("segment %d: %w", e.Index, err)
		}
		b.done++
		if b.progress != nil {
			b.progress(b.done, max(b.total, b.done))
		}
	}
	if err := b.file(dir+bundleSums, plainSums.Bytes(), true); err != nil {
		return s, err
	}
	var al bytes.Buffer
	for _, l := range lines {
		al.Write(l)
		al.WriteByte('\n')
	}
	if err := b.file(dir+sessionAudit, al.Bytes(), true); err != nil {
		return s, err
	}
	for _, e := range entries {
		if e.Media == seal.MediaMP4 {
			return r.exportVideo(ctx, b, ref, dir, s)
		}
	}
	segs, closeAll, err := r.OpenSegments(ctx, ref.ID)
	if err != nil {
		return s, err
	}
	var cast bytes.Buffer
	err = eventlog.Asciicast{}.Export(&cast, segs...)
	closeAll()
	if err != nil {
		return s, fmt.Errorf("asciicast: %w", err)
	}
	html, err := offlinePlayer(s, cast.Bytes())
	if err != nil {
		return s, err
	}
	if err := b.file(dir+sessionCast, cast.Bytes(), true); err != nil {
		return s, err
	}
	if err := b.file(dir+sessionPlayer, html, true); err != nil {
		return s, err
	}
	s.Playable = []string{sessionCast, sessionPlayer}
	return s, nil
}

// exportVideo adds the playable form of a graphical session: its video segments remuxed into one
// MP4 that plays in any player (the sealed segments beside it stay the evidence).
func (r *Recordings) exportVideo(ctx context.Context, b *bundleWriter, ref Recording, dir string, s BundleSession) (BundleSession, error) {
	_, readers, closeAll, err := r.OpenVideoSegments(ctx, ref)
	if err != nil {
		return s, err
	}
	defer closeAll()
	var mp4 bytes.Buffer
	if err := video.Concat(&mp4, readers); err != nil {
		return s, fmt.Errorf("mp4: %w", err)
	}
	if err := b.file(dir+sessionVideo, mp4.Bytes(), false); err != nil {
		return s, err
	}
	s.Kind = "graphical"
	s.Playable = []string{sessionVideo}
	return s, nil
}

func (r *Recordings) get(ctx context.Context, key string) ([]byte, error) {
	rc, err := r.backend.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

func reencrypt(plain []byte, opt EvidenceOptions) ([]byte, error) {
	recips := opt.Recipients
	if opt.Passphrase != "" {
		sr, err := age.NewScryptRecipient(opt.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		recips = []age.Recipient{sr}
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, recips...)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return out.Bytes(), nil
}

// readAudit returns the lines of the audit log at path grouped by session, verbatim, and the
// chain check of the whole log. A broken chain does not stop the export: the bundle says so.
func readAudit(path string) (map[string][][]byte, AuditCheck, error) {
	out := map[string][][]byte{}
	if path == "" {
		return out, AuditCheck{}, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, AuditCheck{Included: true, Intact: true}, nil
	} else if err != nil {
		return nil, AuditCheck{}, fmt.Errorf("evidence: audit log: %w", err)
	}
	check := AuditCheck{Included: true}
	n, verr := audit.Verify(bytes.NewReader(data), func(e audit.Event) error { check.LastHash = e.Hash; return nil })
	check.Events, check.Intact = n, verr == nil
	if verr != nil {
		check.Error = verr.Error()
	}
	// Lines are taken from the file itself (not re-encoded) so that each keeps the bytes its
	// hash was computed over, including lines past a break.
	for _, line := range bytes.Split(data, []byte("\n")) {
		var e struct {
			Session string `json:"session"`
		}
		if len(line) == 0 || json.Unmarshal(line, &e) != nil || e.Session == "" {
			continue
		}
		out[e.Session] = append(out[e.Session], bytes.Clone(line))
	}
	return out, check, nil
}

// bundleWriter writes zip entries and remembers each one's SHA-256 for SHA256SUMS.
type bundleWriter struct {
	zw   *zip.Writer
	sums map[string]string
	// done of total segments written, reported to progress.
	done, total int
	progress    func(done, total int)
}

// file adds name; compress is false for what deflate cannot shrink (age ciphertext).
func (b *bundleWriter) file(name string, data []byte, compress bool) error {
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	w, err := b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("evidence: add %s: %w", name, err)
	}
	h := sha256.New()
	if _, err := io.MultiWriter(w, h).Write(data); err != nil {
		return fmt.Errorf("evidence: write %s: %w", name, err)
	}
	b.sums[name] = hexSum(h)
	return nil
}

// sumsFile is SHA256SUMS: every file so far, sorted, in sha256sum's text format.
func (b *bundleWriter) sumsFile() []byte {
	names := make([]string, 0, len(b.sums))
	for n := range b.sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var out bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&out, "%s  %s\n", b.sums[n], n)
	}
	return out.Bytes()
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
