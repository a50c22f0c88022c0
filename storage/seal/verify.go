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
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/storage"
)

// Problem is one thing wrong with a recording.
type Problem struct {
	Key     string // object key relative to the prefix
	Segment int    // the segment concerned, or -1
	Err     error  // wraps exactly one sentinel of this package
}

func (p Problem) Error() string { return p.Key + ": " + p.Err.Error() }
func (p Problem) Unwrap() error { return p.Err }

// Report is what Verify found.
type Report struct {
	Prefix     string
	Session    Meta
	Final      bool          // a final manifest was found and used
	Cause      string        // the end cause, or "ended by crash"
	EndTime    time.Time     // from the final manifest
	Signer     ssh.PublicKey // of the manifest used, nil if none
	Segments   int           // segments the manifest used lists
	Verified   int           // of them, those whose sealed object matched
	Unverified []string      // objects no signed manifest covers (written after a crash's last checkpoint)
	Notes      []string      // oddities that are not integrity problems
	Problems   []Problem
}

// CrashCause is Report.Cause of a recording without a final manifest.
const CrashCause = "ended by crash"

// OK reports whether the recording is whole: a valid final manifest and every segment matching.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Err joins the problems into one error (nil when OK); errors.Is finds each sentinel in it.
func (r *Report) Err() error {
	errs := make([]error, len(r.Problems))
	for i, p := range r.Problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

func (r *Report) problem(key string, seg int, err error) {
	r.Problems = append(r.Problems, Problem{Key: key, Segment: seg, Err: err})
}

// Verify checks the recording under prefix: the final manifest's signature (by one of trusted),
// its consistency with the prefix, every checkpoint and every segment's hash and size. Without a
// final manifest the chain of signed checkpoints is the truth and the recording is reported ended
// by crash. It needs no private key.
//
// The error is nil when the recording is whole; otherwise it is Report.Err() (every problem,
// each wrapping a sentinel: ErrTampered, ErrMissingSegment, ErrOrder, ErrTruncated,
// ErrBadSignature, ErrUnknownSigner, ErrNoFinalManifest, ErrBadManifest), or ErrNoRecording, or
// a storage error that stopped the check (then Report is partial).
func Verify(ctx context.Context, b storage.Backend, prefix string, trusted []ssh.PublicKey) (Report, error) {
	r := Report{Prefix: prefix}
	objs, err := b.List(ctx, prefix)
	if err != nil {
		return r, fmt.Errorf("verify: list %s: %w", prefix, err)
	}
	sizes := map[string]int64{}
	var checkpoints []int
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, prefix)
		if strings.Contains(name, "/") {
			r.Notes = append(r.Notes, "object in a sub-folder: "+name)
			continue
		}
		sizes[name] = o.Size
		if n, ok := checkpointNumber(name); ok {
			checkpoints = append(checkpoints, n)
		}
	}
	sort.Ints(checkpoints)
	_, hasFinal := sizes[FinalName]
	if !hasFinal && len(checkpoints) == 0 {
		return r, fmt.Errorf("verify %s: %w", prefix, ErrNoRecording)
	}
	v := &verifier{b: b, prefix: prefix, trusted: trusted, r: &r}
	var entries []Entry
	used := false
	if hasFinal {
		m, pub, err := v.loadSigned(ctx, FinalName)
		if err != nil && !isProblem(err) {
			return r, err
		}
		if err != nil {
			r.problem(FinalName, -1, err)
		}
		if m != nil {
			r.Signer, r.Session = pub, m.Session
			if m.Kind != KindFinal {
				r.problem(FinalName, -1, fmt.Errorf("%w: manifest.json is a %s", ErrTampered, m.Kind))
			} else {
				r.Final, r.Cause, r.EndTime = true, m.End.Cause, m.End.Time
				entries, used = m.Segments, true
			}
		}
	} else {
		r.problem(FinalName, -1, ErrNoFinalManifest)
	}
	cps, err := v.checkpoints(ctx, checkpoints, entries, used)
	if err != nil {
		return r, err
	}
	if !used {
		entries = cps
		r.Cause = CrashCause
		if hasFinal {
			r.Cause = "unknown: the final manifest is invalid"
		}
	}
	r.Segments = len(entries)
	if err := v.segments(ctx, entries, sizes, used); err != nil {
		return r, err
	}
	return r, r.Err()
}

// errNoSig is a manifest without its signature object.
var errNoSig = fmt.Errorf("%w: signature absent", ErrBadSignature)

type verifier struct {
	b       storage.Backend
	prefix  string
	trusted []ssh.PublicKey
	r       *Report
}

// problemError marks errors that are findings about the recording, as opposed to a failure of
// the storage that stops the check.
type problemError struct{ error }

func (e problemError) Unwrap() error { return e.error }

func isProblem(err error) bool { var p problemError; return errors.As(err, &p) }

// loadSigned reads, authenticates and parses one manifest. A manifest is returned (with a
// problem) when it parses but its signer is untrusted, so that the segments can still be
// checked against it; any other problem returns no manifest.
func (v *verifier) loadSigned(ctx context.Context, name string) (*Manifest, ssh.PublicKey, error) {
	body, err := v.get(ctx, name, maxManifestLen)
	if err != nil {
		return nil, nil, err
	}
	sig, err := v.get(ctx, name+SigSuffix, maxSigLen)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, problemError{fmt.Errorf("%w: %s", errNoSig, name+SigSuffix)}
	} else if err != nil {
		return nil, nil, err
	}
	pub, err := verifySSHSIG(sig, Namespace, body)
	if err != nil {
		return nil, nil, problemError{err}
	}
	m, err := ParseManifest(body)
	if err != nil {
		return nil, pub, problemError{err}
	}
	if p, _ := storage.RecordingPrefix(m.Session.Start, m.Session.ID); p != v.prefix {
		return nil, pub, problemError{fmt.Errorf("%w: manifest of session %s belongs under %s", ErrTampered, m.Session.ID, p)}
	}
	if !trustedKey(v.trusted, pub) {
		return m, pub, problemError{fmt.Errorf("%w: %s", ErrUnknownSigner, ssh.FingerprintSHA256(pub))}
	}
	return m, pub, nil
}

func trustedKey(trusted []ssh.PublicKey, pub ssh.PublicKey) bool {
	for _, t := range trusted {
		if t != nil && bytes.Equal(t.Marshal(), pub.Marshal()) {
			return true
		}
	}
	return false
}

func (v *verifier) get(ctx context.Context, name string, limit int64) ([]byte, error) {
	rc, err := v.b.Get(ctx, v.prefix+name)
	if err != nil {
		return nil, fmt.Errorf("verify: get %s: %w", v.prefix+name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("verify: read %s: %w", v.prefix+name, err)
	}
	if int64(len(b)) > limit {
		return nil, problemError{fmt.Errorf("%w: %s over %d bytes", ErrBadManifest, name, limit)}
	}
	return b, nil
}

// checkpoints checks every checkpoint. With a final manifest (final true) each must agree with
// the final's entry of its index. Without one, it returns the entries of the contiguous chain of
// signed checkpoints from 0, which is then the truth.
func (v *verifier) checkpoints(ctx context.Context, nums []int, finalEntries []Entry, final bool) ([]Entry, error) {
	var chain []Entry
	prevChain := ""
	for i, n := range nums {
		name := CheckpointName(n)
		m, pub, err := v.loadSigned(ctx, name)
		if err != nil && !isProblem(err) {
			return nil, err
		}
		last := i == len(nums)-1
		if err != nil {
			// A crash between storing a checkpoint and its signature leaves the last one unsigned.
			if !final && last && errors.Is(err, errNoSig) {
				v.r.Unverified = append(v.r.Unverified, name)
				continue
			}
			v.r.problem(name, n, err)
			if m == nil {
				continue
			}
		}
		if v.r.Signer == nil {
			v.r.Signer, v.r.Session = pub, m.Session
		}
		if m.Kind != KindCheckpoint || m.Segments[0].Index != n {
			v.r.problem(name, n, fmt.Errorf("%w: %s holds a %s of segment %d", ErrTampered, name, m.Kind, m.Segments[0].Index))
			continue
		}
		if m.Session.ID != v.r.Session.ID || !m.Session.Start.Equal(v.r.Session.Start) {
			v.r.problem(name, n, fmt.Errorf("%w: checkpoint of another session", ErrTampered))
			continue
		}
		e := m.Segments[0]
		if final {
			switch {
			case n >= len(finalEntries):
				v.r.problem(name, n, fmt.Errorf("%w: checkpoint of segment %d, the final manifest lists %d", ErrTampered, n, len(finalEntries)))
			case finalEntries[n] != e || m.PrevChain != chainBefore(finalEntries, n, m.Genesis):
				v.r.problem(name, n, fmt.Errorf("%w: checkpoint disagrees with the final manifest", ErrTampered))
			}
			continue
		}
		if n != len(chain) {
			if n > len(chain) {
				v.r.problem(CheckpointName(len(chain)), len(chain), fmt.Errorf("%w: checkpoint %d absent or invalid, later ones exist", ErrTampered, len(chain)))
			}
			break
		}
		if n > 0 && m.PrevChain != prevChain {
			v.r.problem(name, n, fmt.Errorf("%w: checkpoint does not chain to checkpoint %d", ErrTampered, n-1))
			break
		}
		chain = append(chain, e)
		prevChain = e.Chain
	}
	if final && len(nums) < len(finalEntries) {
		v.r.Notes = append(v.r.Notes, fmt.Sprintf("%d of %d checkpoints absent (the final manifest covers them)", len(finalEntries)-len(nums), len(finalEntries)))
	}
	return chain, nil
}

func chainBefore(entries []Entry, n int, genesis string) string {
	if n == 0 {
		return genesis
	}
	return entries[n-1].Chain
}

// segments hashes every listed segment object and names the first thing wrong with each.
func (v *verifier) segments(ctx context.Context, entries []Entry, sizes map[string]int64, final bool) error {
	byHash := make(map[string]int, len(entries))
	for _, e := range entries {
		byHash[e.SHA256] = e.Index
	}
	for _, e := range entries {
		if _, ok := sizes[e.Key]; !ok {
			v.r.problem(e.Key, e.Index, fmt.Errorf("%w: segment %d", ErrMissingSegment, e.Index))
			continue
		}
		sum, n, err := v.hash(ctx, e.Key)
		if errors.Is(err, fs.ErrNotExist) {
			v.r.problem(e.Key, e.Index, fmt.Errorf("%w: segment %d", ErrMissingSegment, e.Index))
			continue
		} else if err != nil {
			return err
		}
		switch {
		case sum == e.SHA256 && n == e.Size:
			v.r.Verified++
		case hasHash(byHash, sum) && byHash[sum] != e.Index:
			v.r.problem(e.Key, e.Index, fmt.Errorf("%w: object of segment %d holds segment %d", ErrOrder, e.Index, byHash[sum]))
		case n < e.Size:
			v.r.problem(e.Key, e.Index, fmt.Errorf("%w: segment %d is %d bytes, the manifest says %d", ErrTruncated, e.Index, n, e.Size))
		default:
			v.r.problem(e.Key, e.Index, fmt.Errorf("%w: segment %d sha-256 %s, the manifest says %s", ErrTampered, e.Index, sum[:12], e.SHA256[:12]))
		}
	}
	names := make([]string, 0, len(sizes))
	for name := range sizes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n, ok := segmentNumber(name)
		switch {
		case ok && n >= len(entries) && final:
			v.r.problem(name, n, fmt.Errorf("%w: segment %d is not in the final manifest", ErrTampered, n))
		case ok && n >= len(entries):
			v.r.Unverified = append(v.r.Unverified, name)
		case !ok && name != FinalName && name != FinalName+SigSuffix && !isCheckpointObject(name):
			v.r.Notes = append(v.r.Notes, "object not part of the sealed format: "+name)
		}
	}
	return nil
}

func hasHash(m map[string]int, h string) bool { _, ok := m[h]; return ok }

func isCheckpointObject(name string) bool {
	_, ok := checkpointNumber(strings.TrimSuffix(name, SigSuffix))
	return ok
}

func (v *verifier) hash(ctx context.Context, name string) (string, int64, error) {
	rc, err := v.b.Get(ctx, v.prefix+name)
	if err != nil {
		return "", 0, fmt.Errorf("verify: get %s: %w", v.prefix+name, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, fmt.Errorf("verify: read %s: %w", v.prefix+name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
