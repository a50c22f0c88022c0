package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// Recordings is the recording store: where the recorder's segments go, sealed (encrypted to the
// node's age key and any escrow recipients, hash-chained, signed checkpoints and a signed final
// manifest: storage/FORMAT.md), and where play, export and verify find them.
type Recordings struct {
	backend    storage.Backend
	keys       *nodekeys.Keys
	recipients []age.Recipient // in addition to the node's own
	grace      time.Duration   // a recording's failing writes are retried this long (encode.Pause)
	log        *slog.Logger
}

// SetFailureGrace makes each recording retry its failing writes for up to d (the session waits
// meanwhile) before the recording fails and its session ends; 0 fails at once.
func (r *Recordings) SetFailureGrace(d time.Duration, log *slog.Logger) { r.grace, r.log = d, log }

// NewRecordings keeps recordings in b, sealed with keys and readable with keys' identities.
func NewRecordings(b storage.Backend, keys *nodekeys.Keys, escrow []age.Recipient) *Recordings {
	return &Recordings{backend: b, keys: keys, recipients: escrow}
}

// OpenRecordings opens the store and the node keys that cfg names.
func OpenRecordings(cfg config.Config) (*Recordings, error) {
	return OpenRecordingsContext(context.Background(), cfg, nil)
}

// OpenRecordingsContext is OpenRecordings with a context and a logger for the backend.
func OpenRecordingsContext(ctx context.Context, cfg config.Config, log *slog.Logger) (*Recordings, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keys, err := nodekeys.Ensure(cfg.Path("keys"))
	if err != nil {
		return nil, err
	}
	escrow, err := cfg.Recording.EscrowRecipients()
	if err != nil {
		return nil, err
	}
	b, err := OpenBackend(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	r := NewRecordings(b, keys, escrow)
	r.SetFailureGrace(cfg.Recording.FailureGrace, log)
	return r, nil
}

// Backend is the storage the recordings live in.
func (r *Recordings) Backend() storage.Backend { return r.backend }

// Close releases the backend (the spool uploads what it still holds at the next start).
func (r *Recordings) Close() error {
	if c, ok := r.backend.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Keys are the node keys the store seals with.
func (r *Recordings) Keys() *nodekeys.Keys { return r.keys }

// Sink returns the sealing segment sink of one session.
func (r *Recordings) Sink(meta encode.SessionMeta) (encode.SegmentSink, error) {
	prefix, err := storage.RecordingPrefix(meta.Start, meta.ID)
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	if meta.Command != "" {
		attrs["command"] = meta.Command
	}
	w, err := seal.NewWriter(newGraceBackend(r.backend, r.grace, meta.ID, r.log), prefix, seal.Meta{
		ID: meta.ID, Start: meta.Start, User: meta.User, Target: meta.Target, Account: meta.Account,
		Protocol: meta.Protocol, Remote: meta.Remote, Attrs: attrs,
	}, seal.Keys{Signer: r.keys.Sign, Recipients: append([]age.Recipient{r.keys.Age.Recipient()}, r.recipients...)})
	if err != nil {
		return nil, err
	}
	return sealSink{w}, nil
}

type sealSink struct{ w *seal.Writer }

func (s sealSink) PutSegment(ctx context.Context, seg encode.SegmentInfo, data []byte) error {
	return s.w.PutSegmentMedia(ctx, seg.Index, seg.Media, seg.Start, seg.End, data)
}

// Finish signs the final manifest; the summary's figures go in its end record.
func (s sealSink) Finish(ctx context.Context, sum encode.Summary) error {
	return s.w.Finish(ctx, sum.Cause, map[string]any{
		"duration_ns": int64(sum.Duration), "output_bytes": sum.OutputBytes, "input_bytes": sum.InputBytes,
		"redactions": sum.Redactions, "screen_resyncs": sum.ScreenResyncs, "segments": len(sum.Segments),
	})
}

// Recording names one stored recording.
type Recording struct {
	Prefix   string
	ID       string
	Session  seal.Meta
	Segments int       // sealed segments the manifests list
	End      *seal.End // nil while the session runs, or if it ended in a crash
	Err      error     // the manifest could not be read
}

// ErrNoRecording is returned for a session id that names no recording.
var ErrNoRecording = errors.New("no such recording")

// List returns every stored recording, oldest first, as its manifest describes it (signatures
// are checked by Verify, not here).
func (r *Recordings) List(ctx context.Context) ([]Recording, error) {
	prefixes, err := r.prefixes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Recording, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, r.describe(ctx, p))
	}
	return out, nil
}

// prefixes lists the recordings' prefixes (recordings/YYYY/MM/DD/<session>/), sorted: one listing
// of keys, no manifest read.
func (r *Recordings) prefixes(ctx context.Context) ([]string, error) {
	objs, err := r.backend.List(ctx, "recordings/")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var prefixes []string
	for _, o := range objs {
		prefix := o.Key[:strings.LastIndexByte(o.Key, '/')+1]
		if !seen[prefix] {
			seen[prefix] = true
			prefixes = append(prefixes, prefix)
		}
	}
	sort.Strings(prefixes)
	return prefixes, nil
}

// sessionID is the last element of a recording's prefix.
func sessionID(prefix string) string {
	p := strings.TrimSuffix(prefix, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

func (r *Recordings) describe(ctx context.Context, prefix string) Recording {
	rec := Recording{Prefix: prefix, ID: sessionID(prefix)}
	m, err := seal.ReadManifest(ctx, r.backend, prefix)
	if err != nil {
		rec.Err = err
		return rec
	}
	rec.Session, rec.End = m.Session, m.End
	if m.End != nil {
		rec.Segments = len(m.Segments)
	} else if len(m.Segments) > 0 {
		// A checkpoint lists its own segment; the chain holds the ones before it.
		rec.Segments = m.Segments[len(m.Segments)-1].Index + 1
	}
	return rec
}

// Find returns the recording whose session id is id, or that starts with id when that is unique.
// Only the matching recording's manifest is read.
func (r *Recordings) Find(ctx context.Context, id string) (Recording, error) {
	prefixes, err := r.prefixes(ctx)
	if err != nil {
		return Recording{}, err
	}
	var matches []string
	for _, p := range prefixes {
		if sessionID(p) == id {
			return r.describe(ctx, p), nil
		}
		if strings.HasPrefix(sessionID(p), id) {
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 0:
		return Recording{}, fmt.Errorf("%w: %q", ErrNoRecording, id)
	case 1:
		return r.describe(ctx, matches[0]), nil
	}
	return Recording{}, fmt.Errorf("session id %q is ambiguous: %d recordings start with it", id, len(matches))
}

// OpenSegments returns readers of the plaintext segments of the recording named by arg: an
// unsealed segment file, or a session id in the store, whose segments are decrypted (with the
// node's current and earlier identities) and checked against the manifest's hashes. Each segment
// is opened on its first read and closed at its end, so a recording of thousands of segments
// holds one in memory at a time.
func (r *Recordings) OpenSegments(ctx context.Context, arg string) ([]io.Reader, func(), error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		f, err := os.Open(arg)
		if err != nil {
			return nil, nil, err
		}
		return []io.Reader{f}, func() { f.Close() }, nil
	}
	ref, err := r.Find(ctx, arg)
	if err != nil {
		return nil, nil, err
	}
	if ref.Err != nil {
		return nil, nil, fmt.Errorf("recording %s: %w", ref.ID, ref.Err)
	}
	if ref.Segments == 0 {
		return nil, nil, fmt.Errorf("recording %s has no segments yet", ref.ID)
	}
	ids := r.keys.Identities()
	// A graphical recording's video segments are not event logs: skip them.
	media, err := r.segmentMedia(ctx, ref.Prefix, ref.Segments)
	if err != nil {
		return nil, nil, err
	}
	var readers []io.Reader
	var lazies []*lazyReader
	for i := range ref.Segments {
		if media[i] == seal.MediaMP4 {
			continue
		}
		l := &lazyReader{open: func() (io.ReadCloser, error) {
			rc, err := seal.OpenSegment(ctx, r.backend, ref.Prefix, i, ids)
			if err != nil {
				return nil, fmt.Errorf("segment %d of %s: %w", i, ref.ID, err)
			}
			return rc, nil
		}}
		readers, lazies = append(readers, l), append(lazies, l)
	}
	return readers, func() {
		for _, l := range lazies {
			l.close()
		}
	}, nil
}

// lazyReader opens its object on the first Read and closes it at EOF.
type lazyReader struct {
	open func() (io.ReadCloser, error)
	rc   io.ReadCloser
	done bool
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	if l.rc == nil {
		rc, err := l.open()
		if err != nil {
			return 0, err
		}
		l.rc = rc
	}
	n, err := l.rc.Read(p)
	if err == io.EOF {
		l.close()
		l.done = true
	}
	return n, err
}

func (l *lazyReader) close() {
	if l.rc != nil {
		l.rc.Close()
		l.rc = nil
	}
}

// Figure returns a number from the end record (output_bytes, input_bytes, redactions,
// duration_ns, segments), or 0 while the session runs.
func (rec Recording) Figure(name string) int64 {
	if rec.End == nil {
		return 0
	}
	switch v := rec.End.Extra[name].(type) {
	case float64: // as JSON decodes it
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	}
	return 0
}

// Duration is the recorded length, from the end record.
func (rec Recording) Duration() time.Duration { return time.Duration(rec.Figure("duration_ns")) }
