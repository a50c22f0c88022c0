package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/seed18fc72c3/vigil/storage"
)

// FuzzCheckedReader: checkedReader passes the bytes through unchanged when the size is right or
// unknown, and reports ErrSizeMismatch, never a truncated success, when it is wrong.
func FuzzCheckedReader(f *testing.F) {
	f.Add([]byte("hello"), int64(5), false)
	f.Add([]byte("hello"), int64(4), true)
	f.Add([]byte("hello"), int64(6), false)
	f.Add([]byte{}, int64(0), true)
	f.Add([]byte("x"), int64(-1), true)
	f.Fuzz(func(t *testing.T, data []byte, size int64, oneByte bool) {
		if size < -1 {
			size = -1
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		cr := &checkedReader{ctx: context.Background(), r: r, left: size}
		got, err := io.ReadAll(cr)
		if size < 0 || size == int64(len(data)) {
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("size %d of %d bytes: got %d bytes, %v", size, len(data), len(got), err)
			}
			return
		}
		if !errors.Is(err, storage.ErrSizeMismatch) || !errors.Is(cr.err, storage.ErrSizeMismatch) {
			t.Fatalf("size %d of %d bytes: err %v, want ErrSizeMismatch", size, len(data), err)
		}
	})
}

func TestCheckedReaderContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cr := &checkedReader{ctx: ctx, r: bytes.NewReader([]byte("abc")), left: 3}
	if _, err := io.ReadAll(cr); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with ctx done = %v, want context.Canceled", err)
	}
}
