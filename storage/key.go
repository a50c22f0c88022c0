package storage

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	// MaxKeyLen is the longest key in bytes, as S3 allows.
	MaxKeyLen = 1024
	// MaxSegmentLen is the longest slash-separated segment of a key in bytes: the common file name
	// limit, so that every key that works in S3 also works in the file backend.
	MaxSegmentLen = 255
	// MaxSessionIDLen is the longest session id RecordingPrefix accepts.
	MaxSessionIDLen = 128
)

// ValidateKey reports whether key is a valid object key, with an error wrapping ErrInvalidKey if
// not. A key is 1 to MaxKeyLen bytes of slash-separated segments; each segment is 1 to
// MaxSegmentLen bytes of [A-Za-z0-9._-] and is neither "." nor "..". So there is no leading or
// trailing slash, no empty segment, no backslash, NUL, space or non-ASCII byte.
//
// The rules are deliberately narrower than any store needs: a valid key names the same object on
// every backend and can never climb out of a file backend's root.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, over %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := validateSegment(seg); err != nil {
			return fmt.Errorf("%w: %q: %s", ErrInvalidKey, key, err)
		}
	}
	return nil
}

// ValidatePrefix reports whether prefix may be passed to Backend.List, with an error wrapping
// ErrInvalidKey if not. The empty prefix is valid. Every segment but the last must be a valid key
// segment; the last (possibly empty) may be any run of key characters, since it is only compared
// as a string ("recordings/2025/0" and "a/." are valid prefixes).
func ValidatePrefix(prefix string) error {
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix of %d bytes, over %d", ErrInvalidKey, len(prefix), MaxKeyLen)
	}
	dir, last := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, last = prefix[:i], prefix[i+1:]
		for seg := range strings.SplitSeq(dir, "/") {
			if err := validateSegment(seg); err != nil {
				return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, err)
			}
		}
	}
	if len(last) > MaxSegmentLen {
		return fmt.Errorf("%w: prefix %q: segment over %d bytes", ErrInvalidKey, prefix, MaxSegmentLen)
	}
	if i := strings.IndexFunc(last, func(r rune) bool { return r > 0x7f || !isKeyByte(byte(r)) }); i >= 0 {
		return fmt.Errorf("%w: prefix %q: byte %q not allowed", ErrInvalidKey, prefix, last[i])
	}
	return nil
}

// validateSegment returns a short reason, without the sentinel, for its callers to wrap.
func validateSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("empty segment")
	case seg == "." || seg == "..":
		return fmt.Errorf("segment %q", seg)
	case len(seg) > MaxSegmentLen:
		return fmt.Errorf("segment over %d bytes", MaxSegmentLen)
	}
	for i := 0; i < len(seg); i++ {
		if !isKeyByte(seg[i]) {
			return fmt.Errorf("byte %q not allowed", seg[i])
		}
	}
	return nil
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// ValidateSessionID reports whether id can name a recording: one key segment of at most
// MaxSessionIDLen bytes. The error wraps ErrInvalidKey.
func ValidateSessionID(id string) error {
	if len(id) > MaxSessionIDLen {
		return fmt.Errorf("%w: session id of %d bytes, over %d", ErrInvalidKey, len(id), MaxSessionIDLen)
	}
	if err := validateSegment(id); err != nil {
		return fmt.Errorf("%w: session id %q: %s", ErrInvalidKey, id, err)
	}
	return nil
}

// RecordingPrefix returns the prefix under which a recording's segments, manifest and signature
// live: "recordings/YYYY/MM/DD/<sessionID>/", dated by start in UTC so that a node's time zone
// never moves a recording. Dating by start (not end) keeps every object of one session under one
// prefix. It fails, wrapping ErrInvalidKey, for an invalid session id or a start outside years
// 1-9999 (a zero start is rejected: it is always a bug).
func RecordingPrefix(start time.Time, sessionID string) (string, error) {
	if err := ValidateSessionID(sessionID); err != nil {
		return "", fmt.Errorf("recording prefix: %w", err)
	}
	u := start.UTC()
	if start.IsZero() || u.Year() < 1 || u.Year() > 9999 {
		return "", fmt.Errorf("recording prefix: %w: start %v out of range", ErrInvalidKey, start)
	}
	return fmt.Sprintf("recordings/%04d/%02d/%02d/%s/", u.Year(), int(u.Month()), u.Day(), sessionID), nil
}

const (
	segmentPrefix = "seg-"
	segmentSuffix = ".vlog"
	segmentDigits = 8
)

// SegmentKey returns the key of event-log segment n (n >= 0) of the recording under prefix, such as
// prefix+"seg-00000001.vlog". Eight digits keep keys in segment order when sorted (List's order)
// up to 10^8 segments, years of a session at one segment a second. It panics if n < 0: segment
// numbers come from a counter, so a negative one is a bug.
func SegmentKey(prefix string, n int) string {
	if n < 0 {
		panic("storage: negative segment number " + strconv.Itoa(n))
	}
	return fmt.Sprintf("%s%s%0*d%s", prefix, segmentPrefix, segmentDigits, n, segmentSuffix)
}

// SegmentNumber returns the segment number encoded in a key made by SegmentKey, and false if key
// is not a segment key.
func SegmentNumber(key string) (int, bool) {
	base := key[strings.LastIndexByte(key, '/')+1:]
	digits, ok := strings.CutPrefix(base, segmentPrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, segmentSuffix)
	if !ok || len(digits) < segmentDigits {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	// Only the canonical spelling counts, so that a key and its number map one to one.
	if err != nil || fmt.Sprintf("%0*d", segmentDigits, n) != digits {
		return 0, false
	}
	return n, true
}
