package eventlog

import (
	"errors"
	"hash/crc32"
	"time"
)

// Record types. The first five are the capture.Type values, repeated here so the format's
// numbers are fixed in one place; TypeKeyframe belongs to the format (see FORMAT.md).
const (
	TypeOutput   uint8 = 1
	TypeInput    uint8 = 2
	TypeResize   uint8 = 3
	TypeDamage   uint8 = 4
	TypeMarker   uint8 = 5
	TypeKeyframe uint8 = 64
)

// Version is the format version this package writes; it reads every version up to it.
const Version = 1

// Limits that keep a Reader's memory bounded on hostile input.
const (
	MaxChunk  = 16 << 20 // body of one chunk
	MaxBlock  = 8 << 20  // decoded records of one block
	MaxRecord = 4 << 20  // payload of one record
)

// blockTarget is the decoded size at which the Writer closes a block: large enough for zstd to
// find repetition across many small records, small enough that a crash loses little.
const blockTarget = 64 << 10

const magic = "vigil-eventlog "

// Chunk kinds.
const (
	kindHeader = 'H'
	kindBlock  = 'B'
	kindEnd    = 'E'
)

// Block codecs.
const (
	codecStored = 0
	codecZstd   = 1
)

// Errors returned by Reader (wrapped with what was being read; test with errors.Is) and Writer.
var (
	ErrCorrupt   = errors.New("eventlog: corrupt")
	ErrTruncated = errors.New("eventlog: truncated")
	ErrVersion   = errors.New("eventlog: unsupported version")
	ErrTooLarge  = errors.New("eventlog: record too large")
	ErrTimeOrder = errors.New("eventlog: record time before previous record")
	ErrClosed    = errors.New("eventlog: writer closed")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is a segment's session metadata.
type Header struct {
	SessionID string
	Segment   int // index of this segment in the session, from 0
	User      string
	Target    string
	Protocol  string
	Start     time.Time     // wall time of the session start
	Offset    time.Duration // time of this segment's start since the session start
	Cols      int           // terminal size at the segment start
	Rows      int
	Meta      map[string]string
}

// Record is one event of a session.
type Record struct {
	Time    time.Duration // since the session start; microsecond resolution
	Type    uint8
	Channel uint16
	Payload []byte
}
