package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/seed18fc72c3/vigil/storage"
)

// partSize is the multipart part size, and the most Put buffers in memory to learn the size of
// an object given with size -1: objects up to it (every segment) go up as one conditional PUT.
const partSize = 16 << 20

// maxRetries bounds minio-go's own retries of a failed request; the spool above retries for
// longer with its own backoff, so a dead store is reported within seconds, not minutes.
const maxRetries = 3

// Backend stores objects in one bucket. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	client *minio.Client
}

var _ storage.Backend = (*Backend)(nil)

// New checks cfg, connects, and checks that the bucket exists and, when cfg.Retention sets a
// mode, that it has Object Lock enabled: a store that would silently drop retention is refused
// at start, not discovered at the first audit.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.UseTLS,
		Region:     cfg.Region,
		MaxRetries: maxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: new %s: %w", cfg.Endpoint, err)
	}
	b := &Backend{cfg: cfg, client: client}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: new: bucket %s: %w", cfg.Bucket, b.mapErr(ctx, err))
	}
	if !ok {
		return nil, fmt.Errorf("s3: new: bucket %s: %w", cfg.Bucket, fs.ErrNotExist)
	}
	if cfg.Retention.Mode != "" {
		enabled, _, _, _, err := client.GetObjectLockConfig(ctx, cfg.Bucket)
		if err != nil || enabled != "Enabled" {
			return nil, fmt.Errorf("s3: new: bucket %s has no object lock, which retention %s needs (create the bucket with object lock enabled): %v",
				cfg.Bucket, cfg.Retention.class(), err)
		}
	}
	return b, nil
}

func (b *Backend) objectName(key string) string { return b.cfg.Prefix + key }

// putOptions sets retention and tags explicitly on each object, never leaving them to the
// bucket's defaults. The legal hold is set off explicitly too, whenever object lock is in use.
func (b *Backend) putOptions(now time.Time) minio.PutObjectOptions {
	tags := map[string]string{TagRetention: b.cfg.Retention.class(), TagLegalHold: "off"}
	for k, v := range b.cfg.Tags {
		tags[k] = v
	}
	o := minio.PutObjectOptions{
		PartSize:    partSize,
		UserTags:    tags,
		ContentType: "application/octet-stream",
	}
	if r := b.cfg.Retention; r.Mode != "" {
		o.Mode = minio.RetentionMode(r.Mode)
		o.RetainUntilDate = now.Add(time.Duration(r.Days) * 24 * time.Hour).UTC()
		o.LegalHold = minio.LegalHoldDisabled
	}
	// Write-once, decided by the store: the PUT fails if any object holds the key.
	o.SetMatchETagExcept("*")
	return o
}

// Put implements storage.Backend. An object of unknown size up to 16 MiB is buffered in memory
// and sent as one PUT; a larger one goes up in 16 MiB parts.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := b.put(ctx, key, r, size); err != nil {
		return fmt.Errorf("s3: put %s: %w", key, err)
	}
	return nil
}

func (b *Backend) put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	cr := &checkedReader{ctx: ctx, r: r, left: size}
	if size == 0 {
		// minio-go does not read a body it was told is empty.
		if err := cr.checkEnd(); err != io.EOF {
			return err
		}
	}
	body, n := io.Reader(cr), size
	if size < 0 {
		buf, err := io.ReadAll(io.LimitReader(cr, partSize+1))
		if err != nil {
			return err
		}
		if len(buf) <= partSize {
			// A bytes.Reader can be rewound, so minio-go may retry the request.
			body, n = bytes.NewReader(buf), int64(len(buf))
		} else {
			body = io.MultiReader(bytes.NewReader(buf), cr)
		}
	}
	_, err := b.client.PutObject(ctx, b.cfg.Bucket, b.objectName(key), body, n, b.putOptions(time.Now()))
	if cr.err != nil {
		// The reader failed, gave the wrong size or saw ctx done: that, not the aborted
		// request, is the cause. A reader error always fails the upload.
		return cr.err
	}
	if err != nil {
		return b.mapErr(ctx, err)
	}
	return nil
}

// checkedReader passes r through, checking ctx before each read and, if left >= 0, that r gives
// exactly left bytes: at the last expected byte it reads one more to tell. It remembers the first
// error it returned, so that Put reports it rather than what the HTTP client made of it.
type checkedReader struct {
	ctx  context.Context
	r    io.Reader
	left int64 // -1: unknown
	err  error
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	if c.left == 0 {
		return 0, c.checkEnd()
	}
	if c.left > 0 && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	if c.left > 0 {
		c.left -= int64(n)
		if err == io.EOF && c.left > 0 {
			c.err = fmt.Errorf("%w: reader ended %d bytes short", storage.ErrSizeMismatch, c.left)
			return 0, c.err
		}
		if c.left == 0 && err == nil {
			// Check now: a caller that reads exactly the declared size may never call again.
			if err := c.checkEnd(); err != io.EOF {
				return 0, err
			}
			return n, nil
		}
	}
	if err != nil && err != io.EOF {
		c.err = fmt.Errorf("read: %w", err)
		return n, c.err
	}
	return n, err
}

// checkEnd reads one byte past the declared size: EOF is right, a byte is a size mismatch.
func (c *checkedReader) checkEnd() error {
	var one [1]byte
	for {
		n, err := c.r.Read(one[:])
		switch {
		case n > 0:
			c.err = fmt.Errorf("%w: reader gave more than the declared size", storage.ErrSizeMismatch)
			return c.err
		case err == io.EOF:
			return io.EOF
		case err != nil:
			c.err = fmt.Errorf("read: %w", err)
			return c.err
		}
	}
}

// Get implements storage.Backend. It makes the request before returning, so that an absent
// object is reported here and not at the first Read.
func (b *Backend) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := b.get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("s3: get %s: %w", key, err)
	}
	return rc, nil
}

func (b *Backend) get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidateKey(key); err != nil {
		return nil, err
	}
	obj, err := b.client.GetObject(ctx, b.cfg.Bucket, b.objectName(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, b.mapErr(ctx, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, b.mapErr(ctx, err)
	}
	return &reader{ctx: ctx, key: key, obj: obj}, nil
}

// reader is an object opened by Get; its errors name the key and carry ctx's error once done.
type reader struct {
	ctx context.Context
	key string
	obj *minio.Object
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("s3: read %s: %w", r.key, err)
	}
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		if cerr := r.ctx.Err(); cerr != nil {
			err = cerr
		}
		return n, fmt.Errorf("s3: read %s: %w", r.key, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.obj.Close() }

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	oi, err := b.stat(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3: stat %s: %w", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

func (b *Backend) stat(ctx context.Context, key string) (minio.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return minio.ObjectInfo{}, err
	}
	if err := storage.ValidateKey(key); err != nil {
		return minio.ObjectInfo{}, err
	}
	oi, err := b.client.StatObject(ctx, b.cfg.Bucket, b.objectName(key), minio.StatObjectOptions{})
	if err != nil {
		return minio.ObjectInfo{}, b.mapErr(ctx, err)
	}
	return oi, nil
}

// List implements storage.Backend. Objects under the prefix whose keys are not valid keys (put
// there by something else) are left out, as the file backend leaves out foreign files.
func (b *Backend) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	infos, err := b.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("s3: list %s: %w", prefix, err)
	}
	return infos, nil
}

func (b *Backend) list(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	// A cancel of our own ends minio-go's listing goroutine if we return early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var infos []storage.ObjectInfo
	for oi := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: b.objectName(prefix), Recursive: true}) {
		if oi.Err != nil {
			return nil, b.mapErr(ctx, oi.Err)
		}
		key := strings.TrimPrefix(oi.Key, b.cfg.Prefix)
		if storage.ValidateKey(key) != nil {
			continue
		}
		infos = append(infos, storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// S3 lists in UTF-8 byte order, which for key bytes is Go's string order; sorting costs
	// little and keeps the contract with stores that differ.
	slices.SortFunc(infos, func(a, b storage.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return infos, nil
}

// Delete implements storage.Backend: it removes the object's current version permanently (see
// the package doc). It fails with storage.ErrRetained while the version is under retention or a
// legal hold.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := b.delete(ctx, key); err != nil {
		return fmt.Errorf("s3: delete %s: %w", key, err)
	}
	return nil
}

func (b *Backend) delete(ctx context.Context, key string) error {
	oi, err := b.stat(ctx, key)
	if err != nil {
		return err
	}
	err = b.client.RemoveObject(ctx, b.cfg.Bucket, b.objectName(key), minio.RemoveObjectOptions{
		VersionID:        oi.VersionID,
		GovernanceBypass: b.cfg.GovernanceBypass,
	})
	if err == nil {
		return nil
	}
	err = b.mapErr(ctx, err)
	// AWS answers a locked object with a plain 403 AccessDenied, the same as a missing
	// permission, and MinIO with a 400 InvalidRequest; asking for the lock state tells a lock
	// from anything else the store refused.
	if isStoreAnswer(err) {
		if why := b.lockReason(ctx, key, oi.VersionID); why != "" {
			return fmt.Errorf("%w: %s", storage.ErrRetained, why)
		}
	}
	return err
}

// isStoreAnswer reports whether err is a refusal from the store rather than a transport error.
func isStoreAnswer(err error) bool {
	var er minio.ErrorResponse
	return errors.As(err, &er) && er.StatusCode >= 400 && er.StatusCode < 500
}

// mapErr turns the store's answers into the storage sentinels, keeping the original error in the
// chain, and puts ctx's error first when ctx is done. minio-go's errors carry no credentials.
func (b *Backend) mapErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return err
	}
	switch er.Code {
	case "NoSuchKey", "NoSuchVersion":
		return fmt.Errorf("%w: %s", fs.ErrNotExist, er.Message)
	case "PreconditionFailed":
		return fmt.Errorf("%w: %s", storage.ErrExist, er.Message)
	}
	return err
}
