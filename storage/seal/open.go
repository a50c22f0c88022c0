package seal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"filippo.io/age"

	"github.com/seed18fc72c3/vigil/storage"
)

// maxSegmentLen bounds a sealed segment OpenSegment reads into memory. Recorders cut segments
// at a few MiB; this leaves room for any configuration.
const maxSegmentLen = 256 << 20

// ReadManifest returns the manifest that describes the recording under prefix: the final one,
// or without it the highest checkpoint. It checks the manifest's format and hash chain but not
// its signature: call Verify for that. It returns ErrNoRecording if there is neither.
func ReadManifest(ctx context.Context, b storage.Backend, prefix string) (*Manifest, error) {
	body, err := getAll(ctx, b, prefix+FinalName, maxManifestLen)
	if errors.Is(err, fs.ErrNotExist) {
		objs, lerr := b.List(ctx, prefix+checkpointStem)
		if lerr != nil {
			return nil, fmt.Errorf("seal: list %s: %w", prefix, lerr)
		}
		last := -1
		for _, o := range objs {
			if n, ok := checkpointNumber(o.Key[len(prefix):]); ok && n > last {
				last = n
			}
		}
		if last < 0 {
			return nil, fmt.Errorf("seal: %s: %w", prefix, ErrNoRecording)
		}
		body, err = getAll(ctx, b, prefix+CheckpointName(last), maxManifestLen)
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(body)
}

// OpenSegment decrypts segment index of the recording under prefix with the first of identities
// that matches (a node's current and earlier age identities, an escrow key). The sealed object's
// hash and size are checked against the manifest (ReadManifest) before decryption and the
// plaintext's after; a mismatch wraps ErrTampered (ErrTruncated for a short object), and a segment
// the manifest does not list wraps ErrMissingSegment. Without a matching identity the error wraps
// age.NoIdentityMatchError. The segment is held in memory (segments are a few MiB).
func OpenSegment(ctx context.Context, b storage.Backend, prefix string, index int, identities []age.Identity) (io.ReadCloser, error) {
	e, err := entryOf(ctx, b, prefix, index)
	if err != nil {
		return nil, err
	}
	sealed, err := getAll(ctx, b, prefix+e.Key, maxSegmentLen)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seal: segment %d: %w", index, ErrMissingSegment)
	} else if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(sealed); hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(sealed)) != e.Size {
		if int64(len(sealed)) < e.Size {
			return nil, fmt.Errorf("seal: segment %d: %w: %d of %d bytes", index, ErrTruncated, len(sealed), e.Size)
		}
		return nil, fmt.Errorf("seal: segment %d: %w: sealed hash differs from the manifest", index, ErrTampered)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), identities...)
	if err != nil {
		return nil, fmt.Errorf("seal: decrypt segment %d: %w", index, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, e.PlainSize+1))
	if err != nil {
		return nil, fmt.Errorf("seal: decrypt segment %d: %w: %v", index, ErrTampered, err)
	}
	if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != e.PlainSHA256 || int64(len(plain)) != e.PlainSize {
		return nil, fmt.Errorf("seal: segment %d: %w: plaintext hash differs from the manifest", index, ErrTampered)
	}
	return io.NopCloser(bytes.NewReader(plain)), nil
}

// entryOf returns segment index's entry from the final manifest or, without one (a crash), from
// its checkpoint.
func entryOf(ctx context.Context, b storage.Backend, prefix string, index int) (*Entry, error) {
	name := FinalName
	if _, err := b.Stat(ctx, prefix+FinalName); errors.Is(err, fs.ErrNotExist) {
		name = CheckpointName(index)
	} else if err != nil {
		return nil, fmt.Errorf("seal: stat %s: %w", prefix+FinalName, err)
	}
	body, err := getAll(ctx, b, prefix+name, maxManifestLen)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seal: segment %d: %w: no manifest lists it", index, ErrMissingSegment)
	} else if err != nil {
		return nil, err
	}
	m, err := ParseManifest(body)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", prefix+name, err)
	}
	for i := range m.Segments {
		if m.Segments[i].Index == index {
			return &m.Segments[i], nil
		}
	}
	return nil, fmt.Errorf("seal: segment %d: %w: not in the manifest", index, ErrMissingSegment)
}

func getAll(ctx context.Context, b storage.Backend, key string, limit int64) ([]byte, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("seal: get %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("seal: read %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("seal: %s: %w: over %d bytes", key, ErrTampered, limit)
	}
	return data, nil
}
