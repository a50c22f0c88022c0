package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/seed18fc72c3/vigil/storage"
)

// walkDirs checks that every component of dir ("." for the root) is a real directory, not a
// symlink. With create it makes the missing ones and returns them, deepest last, so that their
// parents can be fsynced; without, a missing one is fs.ErrNotExist.
func (b *Backend) walkDirs(dir string, create bool) (created []string, err error) {
	if dir == "." {
		return nil, nil
	}
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		d := dir[:i]
		fi, err := b.root.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) && create {
			err = b.root.Mkdir(d, dirPerm)
			if err == nil {
				created = append(created, d)
				continue
			}
			if !errors.Is(err, fs.ErrExist) {
				return created, fmt.Errorf("mkdir: %w", err)
			}
			fi, err = b.root.Lstat(d) // made by a racing Put: check what it is
		}
		switch {
		case err != nil:
			return created, notExist(err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return created, errSymlink
		case !fi.IsDir() && create:
			return created, fmt.Errorf("%s: %w", d, errNotDir)
		case !fi.IsDir():
			return created, fs.ErrNotExist
		}
	}
	return created, nil
}

// syncDirs fsyncs dir, whose entries changed, and the parent of every directory in created, so
// that the new names survive a crash.
func (b *Backend) syncDirs(dir string, created []string) error {
	dirs := []string{dir}
	for _, d := range created {
		if p := path.Dir(d); p != dir {
			dirs = append(dirs, p)
		}
	}
	for _, d := range dirs {
		f, err := b.root.Open(d)
		if err != nil {
			return fmt.Errorf("sync dir: %w", err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync dir: %w", err)
		}
	}
	return nil
}

const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyCtx copies r to w, checking ctx before each read. If size >= 0, r must give exactly size
// bytes; one byte more is read to tell.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader, size int64) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := buf
		if size >= 0 && size+1-n < int64(len(p)) {
			p = p[:size+1-n]
		}
		m, rerr := r.Read(p)
		if m > 0 {
			if _, err := w.Write(p[:m]); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			n += int64(m)
			if size >= 0 && n > size {
				return fmt.Errorf("%w: reader gave more than %d bytes", storage.ErrSizeMismatch, size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read: %w", rerr)
		}
	}
	if size >= 0 && n != size {
		return fmt.Errorf("%w: reader gave %d of %d bytes", storage.ErrSizeMismatch, n, size)
	}
	return nil
}

// reader is an object opened by Get; it stops reading once the Get's ctx is done.
type reader struct {
	ctx context.Context
	key string
	f   *os.File
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("file: read %s: %w", r.key, err)
	}
	return r.f.Read(p)
}

func (r *reader) Close() error {
	return r.f.Close()
}

// List implements storage.Backend. It walks only the directory named by prefix up to its last
// slash, and within it only the subdirectories that can hold matching keys.
func (b *Backend) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	infos, err := b.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("file: list %s: %w", prefix, err)
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
	dir := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir = prefix[:i]
	}
	if _, err := b.walkDirs(dir, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var infos []storage.ObjectInfo
	err := fs.WalkDir(b.root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case p == dir:
			return nil
		case d.IsDir():
			// WalkDir never enters symlinks; skip directories that cannot hold a matching key or
			// whose name no key can have.
			full := p + "/"
			if storage.ValidateKey(p) != nil || !strings.HasPrefix(full, prefix) && !strings.HasPrefix(prefix, full) {
				return fs.SkipDir
			}
			return nil
		case !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) || storage.ValidateKey(p) != nil:
			return nil // symlinks, temporary files, foreign names
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walked
		}
		if err != nil {
			return err
		}
		infos = append(infos, storage.ObjectInfo{Key: p, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// WalkDir's order is per directory ("a" before "a.b", though "a.b" < "a/x"): sort whole keys.
	slices.SortFunc(infos, func(x, y storage.ObjectInfo) int { return strings.Compare(x.Key, y.Key) })
	return infos, nil
}
