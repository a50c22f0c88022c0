package file

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/seed18fc72c3/vigil/storage"
)

const (
	dirPerm  = 0o700
	filePerm = 0o600
	// tempSuffix ends every temporary name. "~" is not a key byte, so no key can name a temporary
	// file and List, which lists only valid keys, never shows one.
	tempSuffix = ".tmp~"
)

var (
	errSymlink  = errors.New("symlink in path refused")
	errConflict = errors.New("a directory of other objects is in the way")
	errNotDir   = errors.New("an object is in the way of the directory")
)

// Backend stores objects as files under a root directory. It is safe for concurrent use, also by
// several processes sharing the root.
type Backend struct {
	root *os.Root
}

var _ storage.Backend = (*Backend)(nil)

// New opens the file store at root, creating it (mode 0700) and its parents if missing.
func New(root string) (*Backend, error) {
	if root == "" {
		return nil, errors.New("file: new: empty root")
	}
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return nil, fmt.Errorf("file: new: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("file: new: %w", err)
	}
	return &Backend{root: r}, nil
}

// Close releases the root directory. Methods called after Close fail.
func (b *Backend) Close() error {
	return b.root.Close()
}

// Put implements storage.Backend. Cancellation is noticed between reads of r: a Read that blocks
// holds Put until it returns.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := b.put(ctx, key, r, size); err != nil {
		return fmt.Errorf("file: put %s: %w", key, err)
	}
	return nil
}

func (b *Backend) put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	dir := path.Dir(key)
	created, err := b.walkDirs(dir, true)
	if err != nil {
		return err
	}
	// Refuse early rather than copy megabytes only for Link to refuse; Link still decides races.
	if fi, err := b.root.Lstat(key); err == nil {
		if fi.IsDir() {
			return errConflict
		}
		return storage.ErrExist
	}

	tmp := path.Join(dir, "."+randomHex()+tempSuffix)
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return fmt.Errorf("create temp: %w", err)
	}
	// Whatever fails from here on, the temporary file goes.
	defer func() {
		if f != nil {
			f.Close()
		}
		// After a successful Link the object is in place, and a stray temporary name is invisible
		// to List: not worth failing the Put for, so the error is dropped.
		_ = b.root.Remove(tmp)
	}()
	if err := copyCtx(ctx, f, r, size); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return fmt.Errorf("close: %w", cerr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.root.Link(tmp, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return storage.ErrExist
		}
		return fmt.Errorf("link: %w", err)
	}
	// The new name must survive a crash before Put may report success; if it cannot be made
	// durable, take it back so that failure still leaves nothing behind.
	if err := b.syncDirs(dir, created); err != nil {
		_ = b.root.Remove(key)
		return err
	}
	return nil
}

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := b.get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("file: get %s: %w", key, err)
	}
	return &reader{ctx: ctx, key: key, f: f}, nil
}

func (b *Backend) get(ctx context.Context, key string) (*os.File, error) {
	fi, err := b.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	f, err := b.root.Open(key)
	if err != nil {
		return nil, notExist(err)
	}
	// os.Root follows a symlink swapped in since lookup (within the root); opening the same file
	// that lookup saw as regular rules that out.
	st, err := f.Stat()
	if err != nil || !os.SameFile(fi, st) {
		f.Close()
		return nil, errSymlink
	}
	return f, nil
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	fi, err := b.lookup(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file: stat %s: %w", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements storage.Backend. Emptied directories stay: removing them would race with a
// Put creating a file in them.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := b.delete(ctx, key); err != nil {
		return fmt.Errorf("file: delete %s: %w", key, err)
	}
	return nil
}

func (b *Backend) delete(ctx context.Context, key string) error {
	if _, err := b.lookup(ctx, key); err != nil {
		return err
	}
	// Remove never follows a symlink, so a swap since lookup cannot reach past the link itself.
	if err := b.root.Remove(key); err != nil {
		return notExist(err)
	}
	return b.syncDirs(path.Dir(key), nil)
}

// lookup checks ctx and key and returns the Lstat of key's file, which is a regular file reached
// through real directories, or fs.ErrNotExist.
func (b *Backend) lookup(ctx context.Context, key string) (fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidateKey(key); err != nil {
		return nil, err
	}
	if _, err := b.walkDirs(path.Dir(key), false); err != nil {
		return nil, err
	}
	fi, err := b.root.Lstat(key)
	switch {
	case err != nil:
		return nil, notExist(err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, errSymlink
	case !fi.Mode().IsRegular():
		return nil, fs.ErrNotExist
	}
	return fi, nil
}

// notExist maps the errors that mean "no such object" to fs.ErrNotExist, keeping the rest.
// ENOTDIR means a path component is an object, so the key cannot be one either.
func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fs.ErrNotExist
	}
	return err
}

func randomHex() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
