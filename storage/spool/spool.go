package spool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
)

var (
	// ErrSpoolFull means Put would take the spool over Options.MaxBytes. Nothing was stored.
	ErrSpoolFull = errors.New("spool full")
	// ErrClosed means the Spool was closed.
	ErrClosed = errors.New("spool closed")
)

// Options tune a Spool. Zero values take the defaults.
type Options struct {
	// MaxBytes caps the bytes of objects waiting in the spool (default 1 GiB).
	MaxBytes int64
	// RetryMin and RetryMax bound the backoff between failed uploads (defaults 250 ms and 30 s).
	RetryMin, RetryMax time.Duration
	// UploadTimeout bounds one upload attempt, so a hung connection cannot stall the queue
	// (default 5 minutes).
	UploadTimeout time.Duration
	// CheckTimeout bounds the remote List (once per directory) or Stat by which Put enforces
	// write-once (default 5 s).
	CheckTimeout time.Duration
	// Logger receives upload failures and recoveries (keys and errors, never object bytes).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 250 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(30*time.Second, o.RetryMin)
	}
	if o.UploadTimeout <= 0 {
		o.UploadTimeout = 5 * time.Minute
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// entry is one object reserved or waiting in the spool.
type entry struct {
	seq      uint64
	key      string
	size     int64 // of the object, without the header
	modTime  time.Time
	ready    bool   // durable in the spool and queued; before that the key is only reserved
	inflight bool   // being uploaded
	data     []byte // the object's bytes, if kept in memory for the upload (memory.go)
}

// Spool is a storage.Backend that spools Puts locally and uploads them in the background. It is
// safe for concurrent use. Close stops the uploader; objects not yet uploaded stay on disk for
// the next New.
type Spool struct {
	local, remote storage.Backend
	opts          Options
	log           *slog.Logger

	mu         sync.Mutex
	byKey      map[string]*entry // reserved and queued objects
	queue      []*entry          // ready objects in upload order
	used       int64             // bytes of queued objects
	nextSeq    uint64
	closed     bool
	remoteDown bool                  // the last upload attempt failed
	lastErr    error                 // of the last failed upload attempt
	changed    chan struct{}         // closed and replaced whenever an upload attempt ends or the queue shrinks
	dirs       map[string]*dirRecord // which keys exist, by directory (record.go)
	dirClock   uint64
	maxDirs    int
	memUsed    int64 // bytes of entries' data

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

var _ storage.Backend = (*Spool)(nil)

// New opens the spool on local (a storage/file backend on the node's disk) in front of remote,
// queues any objects local still holds from an earlier run, in their original order, and starts
// uploading. Spool files it cannot read are logged and left in place.
func New(local, remote storage.Backend, opts Options) (*Spool, error) {
	opts.setDefaults()
	s := &Spool{
		local:   local,
		remote:  remote,
		opts:    opts,
		log:     opts.Logger,
		byKey:   make(map[string]*entry),
		dirs:    make(map[string]*dirRecord),
		maxDirs: defaultMaxDirs,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if err := s.recover(context.Background()); err != nil {
		return nil, fmt.Errorf("spool: new: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.uploader(ctx)
	return s, nil
}

// recover queues the objects left in the spool, in sequence order (List sorts by key and the
// sequence numbers are fixed-width).
func (s *Spool) recover(ctx context.Context) error {
	infos, err := s.local.List(ctx, queuePrefix)
	if err != nil {
		return err
	}
	for _, info := range infos {
		seq, ok := parseLocalKey(info.Key)
		if !ok {
			continue
		}
		s.nextSeq = max(s.nextSeq, seq+1)
		key, hdrLen, err := s.readHeader(ctx, info.Key)
		if err != nil {
			s.log.Error("spool: unreadable spool file left in place", "file", info.Key, "err", err)
			continue
		}
		if _, dup := s.byKey[key]; dup {
			// Cannot happen through Put; keep the first and let an operator look at the second.
			s.log.Error("spool: second spool file for one key left in place", "key", key, "file", info.Key)
			continue
		}
		e := &entry{seq: seq, key: key, size: info.Size - hdrLen, modTime: info.ModTime, ready: true}
		s.byKey[key] = e
		s.queue = append(s.queue, e)
		s.used += e.size
		s.remember(key)
	}
	if len(s.queue) > 0 {
		s.log.Info("spool: resuming uploads left from an earlier run", "objects", len(s.queue), "bytes", s.used)
	}
	return nil
}

func (s *Spool) readHeader(ctx context.Context, lk string) (string, int64, error) {
	rc, err := s.local.Get(ctx, lk)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	key, err := decodeHeader(bufio.NewReader(rc))
	return key, int64(len(encodeHeader(key))), err
}

// Put implements storage.Backend. It returns once the object is durable in the spool (fsynced),
// not when it reaches the remote. Write-once is checked against the spool and against its record
// of the key's directory, which it fills with one remote List at the first Put into a directory
// (record.go): a recorder's Puts then cost no remote request each. While the last upload failed
// (the remote is likely down and a check would only stall the caller) an unlisted directory is
// not checked; a duplicate that slips through is caught at upload by the remote's conditional
// PUT, where the spool compares the two objects and keeps a differing one aside.
func (s *Spool) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := s.put(ctx, key, r, size); err != nil {
		return fmt.Errorf("spool: put %s: %w", key, err)
	}
	return nil
}

func (s *Spool) put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.byKey[key] != nil:
		s.mu.Unlock()
		return storage.ErrExist
	case size > s.opts.MaxBytes-s.used:
		s.mu.Unlock()
		return fmt.Errorf("%w: %d bytes do not fit in the %d left of %d", ErrSpoolFull, size, max(0, s.opts.MaxBytes-s.used), s.opts.MaxBytes)
	}
	e := &entry{seq: s.nextSeq, key: key}
	s.nextSeq++
	s.byKey[key] = e
	avail, remoteUp := s.opts.MaxBytes-s.used, !s.remoteDown
	s.mu.Unlock()

	ok := false
	defer func() {
		if !ok {
			s.mu.Lock()
			delete(s.byKey, key)
			s.mu.Unlock()
		}
	}()
	if err := s.checkRemote(ctx, key, remoteUp); err != nil {
		return err
	}

	hdr := encodeHeader(key)
	lr := &limitReader{r: r, limit: avail}
	mem := &memCopy{over: size > memObjectMax}
	if !mem.over {
		mem.buf = make([]byte, 0, max(size, 0)) // never nil: an empty object is kept too
	}
	localSize := int64(-1)
	if size >= 0 {
		localSize = size + int64(len(hdr))
	}
	if err := s.local.Put(ctx, localKey(e.seq), io.MultiReader(bytes.NewReader(hdr), io.TeeReader(lr, mem)), localSize); err != nil {
		if lr.full {
			return fmt.Errorf("%w: over %d bytes", ErrSpoolFull, s.opts.MaxBytes)
		}
		return err
	}

	s.mu.Lock()
	if s.used+lr.n > s.opts.MaxBytes {
		// Concurrent Puts each fitted alone but not together.
		s.mu.Unlock()
		if err := s.local.Delete(context.WithoutCancel(ctx), localKey(e.seq)); err != nil {
			s.log.Error("spool: cannot remove a refused spool file", "key", key, "err", err)
		}
		return fmt.Errorf("%w: over %d bytes", ErrSpoolFull, s.opts.MaxBytes)
	}
	e.size, e.modTime, e.ready = lr.n, time.Now(), true
	e.data = s.keep(mem, e.size)
	s.used += e.size
	s.queue = append(s.queue, e)
	s.remember(key)
	ok = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// limitReader fails with ErrSpoolFull once r gives more than limit bytes.
type limitReader struct {
	r     io.Reader
	limit int64
	n     int64
	full  bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.limit-l.n+1 {
		p = p[:l.limit-l.n+1]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		l.full = true
		return 0, ErrSpoolFull
	}
	return n, err
}
