package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// SummaryName is the object beside a recording's segments that describes it once it has ended.
const SummaryName = "session.json"

// Recordings is the recording store: where the recorder's segments go and where play and
// export find them.
type Recordings struct {
	backend storage.Backend
}

// NewRecordings keeps recordings in b.
func NewRecordings(b storage.Backend) *Recordings { return &Recordings{backend: b} }

func OpenRecordings(cfg config.Config) (*Recordings, error) {
	b, err := file.New(cfg.StoreDir())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.StoreDir(), err)
	}
	return &Recordings{backend: b}, nil
}

// Sink returns the segment sink of one session.
func (r *Recordings) Sink(meta encode.SessionMeta) (encode.SegmentSink, error) {
	prefix, err := storage.RecordingPrefix(meta.Start, meta.ID)
	if err != nil {
		return nil, err
	}
	return &storeSink{backend: r.backend, prefix: prefix}, nil
}

type storeSink struct {
	backend storage.Backend
	prefix  string
}

func (s *storeSink) PutSegment(ctx context.Context, seg encode.SegmentInfo, data []byte) error {
	return s.backend.Put(ctx, storage.SegmentKey(s.prefix, seg.Index), bytes.NewReader(data), int64(len(data)))
}

func (s *storeSink) Finish(ctx context.Context, sum encode.Summary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return s.backend.Put(ctx, s.prefix+SummaryName, bytes.NewReader(b), int64(len(b)))
}

// Recording names one stored recording.
type Recording struct {
	Prefix   string
	ID       string
	Segments []string // keys, in order
	Summary  *encode.Summary
}

var ErrNoRecording = errors.New("no such recording")

// List returns every stored recording, oldest first.
func (r *Recordings) List(ctx context.Context) ([]Recording, error) {
	objs, err := r.backend.List(ctx, "recordings/")
	if err != nil {
		return nil, err
	}
	byPrefix := map[string]*Recording{}
	var order []string
	for _, o := range objs {
		i := strings.LastIndexByte(o.Key, '/')
		prefix, base := o.Key[:i+1], o.Key[i+1:]
		ref := byPrefix[prefix]
		if ref == nil {
			parts := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
			ref = &Recording{Prefix: prefix, ID: parts[len(parts)-1]}
			byPrefix[prefix] = ref
			order = append(order, prefix)
		}
		if _, ok := storage.SegmentNumber(o.Key); ok {
			ref.Segments = append(ref.Segments, o.Key)
		} else if base == SummaryName {
			ref.Summary, _ = r.summary(ctx, o.Key)
		}
	}
	sort.Strings(order)
	out := make([]Recording, 0, len(order))
	for _, p := range order {
		out = append(out, *byPrefix[p])
	}
	return out, nil
}

func (r *Recordings) summary(ctx context.Context, key string) (*encode.Summary, error) {
	rc, err := r.backend.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var s encode.Summary
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &s, nil
}

// Find returns the recording whose session id is id, or that starts with id when that is unique.
func (r *Recordings) Find(ctx context.Context, id string) (Recording, error) {
	all, err := r.List(ctx)
	if err != nil {
		return Recording{}, err
	}
	var matches []Recording
	for _, ref := range all {
		if ref.ID == id {
			return ref, nil
		}
		if strings.HasPrefix(ref.ID, id) {
			matches = append(matches, ref)
		}
	}
	switch len(matches) {
	case 0:
		return Recording{}, fmt.Errorf("%w: %q", ErrNoRecording, id)
	case 1:
		return matches[0], nil
	}
	return Recording{}, fmt.Errorf("session id %q is ambiguous: %d recordings start with it", id, len(matches))
}

// OpenSegments returns readers of the segments of the recording named by arg: a segment file, or
// a session id in the store. Each segment is opened on its first read and closed at its end, so an
// eight-hour recording of thousands of segments holds one open at a time.
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
	if len(ref.Segments) == 0 {
		return nil, nil, fmt.Errorf("recording %s has no segments yet", ref.ID)
	}
	readers := make([]io.Reader, len(ref.Segments))
	lazies := make([]*lazyReader, len(ref.Segments))
	for i, key := range ref.Segments {
		key := key
		lazies[i] = &lazyReader{open: func() (io.ReadCloser, error) {
			rc, err := r.backend.Get(ctx, key)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("segment %s vanished: %w", key, err)
			}
			return rc, err
		}}
		readers[i] = lazies[i]
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
