package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
)

// Format names and object names of FORMAT.md.
const (
	FormatName      = "vigil-recording-manifest"
	FormatVersion   = 1
	KindCheckpoint  = "checkpoint"
	KindFinal       = "final"
	FinalName       = "manifest.json"
	SigSuffix       = ".sig"
	sealedSuffix    = ".age"
	maxManifestLen  = 64 << 20 // a final manifest of a million segments is about 400 MB; this is ~150k
	checkpointStem  = "manifest-"
	checkpointDigit = 8
)

// Meta is the session a recording belongs to. ID and Start build the prefix (RecordingPrefix).
type Meta struct {
	ID       string            `json:"id"`
	Start    time.Time         `json:"start"`
	User     string            `json:"user,omitempty"`
	Target   string            `json:"target,omitempty"`
	Account  string            `json:"account,omitempty"`
	Protocol string            `json:"protocol,omitempty"`
	Remote   string            `json:"remote,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// Entry describes one sealed segment in a manifest.
type Entry struct {
	Index       int    `json:"index"`
	Key         string `json:"key"` // relative to the recording's prefix
	StartNS     int64  `json:"start_ns"`
	EndNS       int64  `json:"end_ns"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	PlainSize   int64  `json:"plain_size"`
	PlainSHA256 string `json:"plain_sha256"`
	Chain       string `json:"chain"`
	// Media is "" for an event-log segment and MediaMP4 for a video segment (FORMAT.md); it picks
	// the key's suffix and is covered by the hash chain.
	Media string `json:"media,omitempty"`
}

// Media of a segment (Entry.Media).
const (
	MediaEventLog = ""
	MediaMP4      = "mp4"
)

func validMedia(m string) bool { return m == MediaEventLog || m == MediaMP4 }

// End is how a recording ended, in the final manifest only.
type End struct {
	Cause string         `json:"cause"`
	Time  time.Time      `json:"time"`
	Extra map[string]any `json:"extra,omitempty"`
}

// Manifest is a checkpoint or final manifest (FORMAT.md).
type Manifest struct {
	Format     string   `json:"format"`
	Version    int      `json:"version"`
	Kind       string   `json:"kind"`
	Session    Meta     `json:"session"`
	Recipients []string `json:"recipients,omitempty"`
	Genesis    string   `json:"genesis"`
	PrevChain  string   `json:"prev_chain,omitempty"`
	Segments   []Entry  `json:"segments"`
	End        *End     `json:"end,omitempty"`
}

// sessionStart is the exact spelling of the start that the genesis hashes.
func sessionStart(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func genesis(m Meta) [32]byte {
	return sha256.Sum256([]byte("vigil-recording-chain v1\n" + m.ID + "\n" + sessionStart(m.Start) + "\n"))
}

// canonical is the line an entry contributes to the hash chain.
// An event-log entry's line is unchanged from the first recordings; other media add " media=NAME".
func (e *Entry) canonical() []byte {
	b := fmt.Appendf(nil, "vigil-segment v1 index=%d start_ns=%d end_ns=%d size=%d sha256=%s plain_size=%d plain_sha256=%s",
		e.Index, e.StartNS, e.EndNS, e.Size, e.SHA256, e.PlainSize, e.PlainSHA256)
	if e.Media != MediaEventLog {
		b = fmt.Appendf(b, " media=%s", e.Media)
	}
	return append(b, '\n')
}

func chainNext(prev [32]byte, e *Entry) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(e.canonical())
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// SegmentObject returns the key, relative to the prefix, of sealed event-log segment n.
func SegmentObject(n int) string {
	return storage.SegmentKey("", n) + sealedSuffix
}

// SegmentObjectMedia returns the key, relative to the prefix, of sealed segment n holding media:
// seg-N.vlog.age for an event log, seg-N.mp4.age for video.
func SegmentObjectMedia(n int, media string) string {
	if media == MediaMP4 {
		return strings.TrimSuffix(storage.SegmentKey("", n), ".vlog") + ".mp4" + sealedSuffix
	}
	return SegmentObject(n)
}

// CheckpointName returns the key, relative to the prefix, of checkpoint n.
func CheckpointName(n int) string {
	return fmt.Sprintf("%s%0*d.json", checkpointStem, checkpointDigit, n)
}

// segmentNumber parses a relative key made by SegmentObject.
func segmentNumber(name string) (int, bool) {
	base, ok := strings.CutSuffix(name, sealedSuffix)
	if !ok {
		return 0, false
	}
	if v, ok := strings.CutSuffix(base, ".mp4"); ok {
		base = v + ".vlog"
	}
	return storage.SegmentNumber(base)
}

// checkpointNumber parses a relative key made by CheckpointName.
func checkpointNumber(name string) (int, bool) {
	d, ok := strings.CutPrefix(name, checkpointStem)
	if ok {
		d, ok = strings.CutSuffix(d, ".json")
	}
	if !ok || len(d) != checkpointDigit {
		return 0, false
	}
	n := 0
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		n = n*10 + int(d[i]-'0')
	}
	return n, true
}

// ParseManifest decodes a manifest and checks it against the format's rules that need nothing
// else: format, version, kind, session, entry keys and indexes, time ranges, hex fields and the
// hash chain. It does not check the signature, the prefix or the segments. Errors wrap
// ErrBadManifest (a broken rule of the format) or ErrTampered (a chain that does not recompute).
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifestLen {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrBadManifest, len(b), maxManifestLen)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the manifest", ErrBadManifest)
	}
	if m.Format != FormatName {
		return nil, fmt.Errorf("%w: format %q", ErrBadManifest, m.Format)
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("%w: version %d, this reader knows %d", ErrBadManifest, m.Version, FormatVersion)
	}
	if _, err := storage.RecordingPrefix(m.Session.Start, m.Session.ID); err != nil {
		return nil, fmt.Errorf("%w: session: %v", ErrBadManifest, err)
	}
	g := genesis(m.Session)
	if m.Genesis != hex.EncodeToString(g[:]) {
		return nil, fmt.Errorf("%w: genesis does not match the session", ErrTampered)
	}
	prev := g
	switch m.Kind {
	case KindCheckpoint:
		if len(m.Segments) != 1 || m.End != nil {
			return nil, fmt.Errorf("%w: checkpoint with %d entries", ErrBadManifest, len(m.Segments))
		}
		if m.Segments[0].Index == 0 {
			if m.PrevChain != "" && m.PrevChain != m.Genesis {
				return nil, fmt.Errorf("%w: checkpoint 0 prev_chain is not the genesis", ErrTampered)
			}
		} else {
			p, err := hexHash(m.PrevChain)
			if err != nil {
				return nil, fmt.Errorf("%w: prev_chain: %v", ErrBadManifest, err)
			}
			prev = p
		}
	case KindFinal:
		if m.End == nil || m.PrevChain != "" {
			return nil, fmt.Errorf("%w: final manifest without end or with prev_chain", ErrBadManifest)
		}
	default:
		return nil, fmt.Errorf("%w: kind %q", ErrBadManifest, m.Kind)
	}
	first := 0
	if m.Kind == KindCheckpoint {
		first = m.Segments[0].Index
	}
	lastEnd := map[string]int64{} // per media: a graphical recording interleaves video and events
	for i := range m.Segments {
		e := &m.Segments[i]
		if e.Index != first+i || e.Index < 0 {
			return nil, fmt.Errorf("%w: entry %d has index %d", ErrBadManifest, i, e.Index)
		}
		if !validMedia(e.Media) {
			return nil, fmt.Errorf("%w: segment %d media %q", ErrBadManifest, e.Index, e.Media)
		}
		if e.Key != SegmentObjectMedia(e.Index, e.Media) {
			return nil, fmt.Errorf("%w: segment %d key %q", ErrBadManifest, e.Index, e.Key)
		}
		if e.StartNS < 0 || e.EndNS < e.StartNS || (m.Kind == KindFinal && e.StartNS < lastEnd[e.Media]) {
			return nil, fmt.Errorf("%w: segment %d time range %d..%d", ErrBadManifest, e.Index, e.StartNS, e.EndNS)
		}
		lastEnd[e.Media] = e.EndNS
		if e.Size < 0 || e.PlainSize < 0 {
			return nil, fmt.Errorf("%w: segment %d negative size", ErrBadManifest, e.Index)
		}
		for _, h := range []string{e.SHA256, e.PlainSHA256, e.Chain} {
			if _, err := hexHash(h); err != nil {
				return nil, fmt.Errorf("%w: segment %d: %v", ErrBadManifest, e.Index, err)
			}
		}
		prev = chainNext(prev, e)
		if e.Chain != hex.EncodeToString(prev[:]) {
			return nil, fmt.Errorf("%w: segment %d: hash chain does not recompute", ErrTampered, e.Index)
		}
	}
	return &m, nil
}

// hexHash parses a lower-case hex SHA-256; only one spelling is accepted so that equal hashes are
// equal strings.
func hexHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 || strings.ToLower(s) != s {
		return h, fmt.Errorf("hash %q is not 64 lower-case hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash %q: %v", s, err)
	}
	return h, nil
}
