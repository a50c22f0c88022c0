package seal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/storage"
)

// Keys are what a Writer seals and signs with.
type Keys struct {
	// Signer signs manifests. It must hold an Ed25519 key (ed25519.PrivateKey does).
	Signer crypto.Signer
	// Recipients are every age recipient a segment is encrypted to: the node's own and any escrow
	// or auditor recipients. At least one is required.
	Recipients []age.Recipient
}

// Writer seals one recording's segments into a Backend. Its methods are safe for concurrent use
// but a recording is a sequence: PutSegment takes segments in index order, then Finish once.
// After any failed write the Writer refuses further calls (ErrClosed): a recording with a hole is
// never continued as if whole, the session fails closed instead.
type Writer struct {
	b      storage.Backend
	prefix string
	meta   Meta
	signer ssh.Signer
	recips []age.Recipient
	names  []string
	now    func() time.Time

	mu      sync.Mutex
	entries []Entry
	chain   [32]byte
	err     error // sticky: set by a failed write or Finish
}

// NewWriter returns a Writer of the recording of meta under prefix, which must be the prefix
// storage.RecordingPrefix gives for meta.Start and meta.ID (verifiers rebuild it from the
// manifest). It fails for a bad prefix, a non-Ed25519 signer or no recipients.
func NewWriter(b storage.Backend, prefix string, meta Meta, keys Keys) (*Writer, error) {
	want, err := storage.RecordingPrefix(meta.Start, meta.ID)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if prefix != want {
		return nil, fmt.Errorf("seal: prefix %q, the session's is %q", prefix, want)
	}
	if keys.Signer == nil {
		return nil, fmt.Errorf("seal: no signing key")
	}
	if _, ok := keys.Signer.Public().(ed25519.PublicKey); !ok {
		return nil, fmt.Errorf("seal: %w", errNotEd25519)
	}
	signer, err := ssh.NewSignerFromSigner(keys.Signer)
	if err != nil {
		return nil, fmt.Errorf("seal: signer: %w", err)
	}
	if len(keys.Recipients) == 0 {
		return nil, fmt.Errorf("seal: no age recipients")
	}
	meta.Start = meta.Start.UTC()
	w := &Writer{b: b, prefix: prefix, meta: meta, signer: signer, recips: keys.Recipients, now: time.Now}
	for _, r := range keys.Recipients {
		if s, ok := r.(fmt.Stringer); ok {
			w.names = append(w.names, s.String())
		}
	}
	w.chain = genesis(meta)
	return w, nil
}

// Prefix returns the prefix the recording is stored under.
func (w *Writer) Prefix() string { return w.prefix }

// PutSegment encrypts plaintext as segment index (start and end are its time range since the
// session's start), stores it, then stores and signs checkpoint index. It returns when all three
// objects are stored. index must be the next one (0, 1, 2, ...), else the error wraps ErrOrder.
// Any failure closes the Writer; the caller ends the session.
func (w *Writer) PutSegment(ctx context.Context, index int, start, end time.Duration, plaintext []byte) error {
	return w.PutSegmentMedia(ctx, index, MediaEventLog, start, end, plaintext)
}

// PutSegmentMedia is PutSegment for a segment of the given media (MediaEventLog or MediaMP4).
func (w *Writer) PutSegmentMedia(ctx context.Context, index int, media string, start, end time.Duration, plaintext []byte) error {
	if !validMedia(media) {
		return fmt.Errorf("seal: segment %d: unknown media %q", index, media)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return fmt.Errorf("seal: segment %d: %w", index, w.err)
	}
	if index != len(w.entries) {
		return fmt.Errorf("seal: segment %d: %w: want segment %d", index, ErrOrder, len(w.entries))
	}
	if err := w.putSegment(ctx, index, media, start, end, plaintext); err != nil {
		w.err = fmt.Errorf("%w: %v", ErrClosed, err)
		return err
	}
	return nil
}

func (w *Writer) putSegment(ctx context.Context, index int, media string, start, end time.Duration, plaintext []byte) error {
	var sealed bytes.Buffer
	// age adds a header (about 200 bytes per recipient) and 16 bytes per 64 KiB chunk.
	sealed.Grow(len(plaintext) + len(plaintext)/4096 + 256*len(w.recips) + 256)
	enc, err := age.Encrypt(&sealed, w.recips...)
	if err != nil {
		return fmt.Errorf("seal: encrypt segment %d: %w", index, err)
	}
	if _, err := enc.Write(plaintext); err != nil {
		return fmt.Errorf("seal: encrypt segment %d: %w", index, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("seal: encrypt segment %d: %w", index, err)
	}
	sum, plainSum := sha256.Sum256(sealed.Bytes()), sha256.Sum256(plaintext)
	e := Entry{
		Index: index, Key: SegmentObjectMedia(index, media), Media: media, StartNS: int64(start), EndNS: int64(end),
		Size: int64(sealed.Len()), SHA256: hex.EncodeToString(sum[:]),
		PlainSize: int64(len(plaintext)), PlainSHA256: hex.EncodeToString(plainSum[:]),
	}
	prev := w.chain
	next := chainNext(prev, &e)
	e.Chain = hex.EncodeToString(next[:])
	key := w.prefix + e.Key
	if err := w.b.Put(ctx, key, bytes.NewReader(sealed.Bytes()), int64(sealed.Len())); err != nil {
		return fmt.Errorf("seal: put %s: %w", key, err)
	}
	m := w.manifest(KindCheckpoint)
	m.PrevChain = hex.EncodeToString(prev[:])
	m.Segments = []Entry{e}
	if err := w.putSigned(ctx, CheckpointName(index), m); err != nil {
		return err
	}
	w.entries = append(w.entries, e)
	w.chain = next
	return nil
}

// Finish stores and signs the final manifest: every segment put so far, the end cause and extra
// (free-form, JSON-encodable facts such as byte counts). It may be called once; it also works
// after a failed PutSegment, so that the recording still gets a signed end naming its cause,
// listing the segments that were stored.
func (w *Writer) Finish(ctx context.Context, cause string, extra map[string]any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == errFinished {
		return fmt.Errorf("seal: finish: %w", ErrClosed)
	}
	m := w.manifest(KindFinal)
	m.Segments = w.entries
	if m.Segments == nil {
		m.Segments = []Entry{}
	}
	m.End = &End{Cause: cause, Time: w.now().UTC(), Extra: extra}
	w.err = errFinished
	return w.putSigned(ctx, FinalName, m)
}

var errFinished = fmt.Errorf("%w: finished", ErrClosed)

func (w *Writer) manifest(kind string) *Manifest {
	g := genesis(w.meta)
	return &Manifest{
		Format: FormatName, Version: FormatVersion, Kind: kind, Session: w.meta,
		Recipients: w.names, Genesis: hex.EncodeToString(g[:]),
	}
}

// putSigned stores the manifest, then its signature: a manifest without a signature (a crash
// between the two) is reported as unsigned, never trusted.
func (w *Writer) putSigned(ctx context.Context, name string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("seal: encode %s: %w", name, err)
	}
	b = append(b, '\n')
	sig, err := signSSHSIG(w.signer, Namespace, b)
	if err != nil {
		return fmt.Errorf("seal: sign %s: %w", name, err)
	}
	for _, o := range []struct {
		key  string
		data []byte
	}{{w.prefix + name, b}, {w.prefix + name + SigSuffix, sig}} {
		if err := w.b.Put(ctx, o.key, bytes.NewReader(o.data), int64(len(o.data))); err != nil {
			return fmt.Errorf("seal: put %s: %w", o.key, err)
		}
	}
	return nil
}
