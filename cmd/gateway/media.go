package gateway

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/seed18fc72c3/vigil/storage/seal"
)

// A graphical recording interleaves video segments (seal.MediaMP4) and event-log segments
// (input, redactions, markers) in one index sequence (storage/FORMAT.md). Readers of event logs
// (replay, asciicast, the indexer) skip the video; the video player and evidence bundles read it.

// segmentMedia returns the media of segments 0..n-1 under prefix, read from the objects' keys
// (seg-N.mp4.age or seg-N.vlog.age): one listing, no manifest read. A segment whose object is
// missing counts as an event log; opening it then reports the loss.
func (r *Recordings) segmentMedia(ctx context.Context, prefix string, n int) ([]string, error) {
	media := make([]string, n)
	objs, err := r.backend.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, prefix)
		stem, ok := strings.CutSuffix(name, ".mp4.age")
		if !ok {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(stem, "seg-%08d", &i); err == nil && i >= 0 && i < n {
			media[i] = seal.MediaMP4
		}
	}
	return media, nil
}

// Entries returns every segment entry of a recording: the final manifest's, or, for a recording
// still running or ended by a crash, each checkpoint's own entry.
func (r *Recordings) Entries(ctx context.Context, ref Recording) ([]seal.Entry, error) {
	if ref.Err != nil {
		return nil, ref.Err
	}
	m, err := seal.ReadManifest(ctx, r.backend, ref.Prefix)
	if err != nil {
		return nil, err
	}
	if m.Kind == seal.KindFinal {
		return m.Segments, nil
	}
	entries := make([]seal.Entry, 0, ref.Segments)
	for i := 0; i < ref.Segments; i++ {
		cp, err := r.get(ctx, ref.Prefix+seal.CheckpointName(i))
		if err != nil {
			return nil, err
		}
		cm, err := seal.ParseManifest(cp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", seal.CheckpointName(i), err)
		}
		entries = append(entries, cm.Segments[0])
	}
	return entries, nil
}

// IsGraphical reports whether the recording holds video.
func (r *Recordings) IsGraphical(ctx context.Context, ref Recording) (bool, error) {
	media, err := r.segmentMedia(ctx, ref.Prefix, ref.Segments)
	if err != nil {
		return false, err
	}
	for _, m := range media {
		if m == seal.MediaMP4 {
			return true, nil
		}
	}
	return false, nil
}

// OpenVideoSegments returns readers of the plaintext MP4 segments of a recording, in order, each
// decrypted and checked against the manifest when first read (as OpenSegments does), and the
// entries they belong to.
func (r *Recordings) OpenVideoSegments(ctx context.Context, ref Recording) ([]seal.Entry, []io.Reader, func(), error) {
	entries, err := r.Entries(ctx, ref)
	if err != nil {
		return nil, nil, nil, err
	}
	ids := r.keys.Identities()
	var video []seal.Entry
	var readers []io.Reader
	var lazies []*lazyReader
	for _, e := range entries {
		if e.Media != seal.MediaMP4 {
			continue
		}
		l := &lazyReader{open: func() (io.ReadCloser, error) {
			rc, err := seal.OpenSegment(ctx, r.backend, ref.Prefix, e.Index, ids)
			if err != nil {
				return nil, fmt.Errorf("segment %d of %s: %w", e.Index, ref.ID, err)
			}
			return rc, nil
		}}
		video, readers, lazies = append(video, e), append(readers, l), append(lazies, l)
	}
	return video, readers, func() {
		for _, l := range lazies {
			l.close()
		}
	}, nil
}
