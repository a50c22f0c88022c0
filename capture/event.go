package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Errors returned by the ring. Callers compare with errors.Is.
var (
	// ErrStalled means a lossless reader held arena space or index slots for longer than
	// Config.StallTimeout. The session must end with a recording-failure cause: Vigil fails closed.
	ErrStalled = errors.New("capture: lossless reader stalled")
	// ErrOverrun is returned once to a lossy reader whose position was overwritten; the reader then
	// continues from the newest event and should resync its view from a snapshot.
	ErrOverrun = errors.New("capture: lossy reader overrun")
	// ErrClosed is returned by producers after Ring.Close and by a Reader after its own Close.
	ErrClosed = errors.New("capture: closed")
	// ErrTooLarge is returned by Producer.Write for a payload longer than Config.MaxRead.
	ErrTooLarge = errors.New("capture: payload too large")
	// ErrMalformed is returned by the payload parsers (ParseResize, ParseRedacted).
	ErrMalformed = errors.New("capture: malformed payload")
)

// Type says what an event's payload is.
type Type uint8

// Event types. The numbers are part of the recording format: never renumber.
const (
	TypeOutput   Type = 1 // bytes from the target to the user
	TypeInput    Type = 2 // bytes from the user to the target
	TypeResize   Type = 3 // payload: cols uint16, rows uint16, big-endian (ResizePayload / ParseResize)
	TypeDamage   Type = 4 // frame damage (graphical sessions)
	TypeMarker   Type = 5 // payload: a small marker (e.g. JSON: redaction, exec command, file transfer, end)
	TypeRedacted Type = 6 // input withheld from readers; payload: uint32 big-endian count of withheld bytes
)

var typeNames = [...]string{
	TypeOutput:   "output",
	TypeInput:    "input",
	TypeResize:   "resize",
	TypeDamage:   "damage",
	TypeMarker:   "marker",
	TypeRedacted: "redacted",
}

// String returns a lower-case name, or "type(N)" for an unknown type.
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Event is one committed piece of a session.
type Event struct {
	Seq     uint64        // 0,1,2,... in commit order across all producers of a ring
	Time    time.Duration // since the ring's start, on one monotonic clock for the whole session
	Type    Type
	Channel uint16 // SSH channel id etc.; 0 for the main stream
	// Payload is ring memory or a reader's own buffer; how long it stays valid is documented on
	// Producer.ReadEvent, Producer.Write and Reader.Next. Copy it to keep it.
	Payload []byte
}

// ResizePayload returns the 4-byte payload of a TypeResize event.
func ResizePayload(cols, rows uint16) []byte {
	return AppendResize(make([]byte, 0, 4), cols, rows)
}

// AppendResize appends a TypeResize payload to dst; it does not allocate when dst has room.
func AppendResize(dst []byte, cols, rows uint16) []byte {
	dst = binary.BigEndian.AppendUint16(dst, cols)
	return binary.BigEndian.AppendUint16(dst, rows)
}

// ParseResize decodes a TypeResize payload. It returns ErrMalformed unless p is exactly 4 bytes.
func ParseResize(p []byte) (cols, rows uint16, err error) {
	if len(p) != 4 {
		return 0, 0, fmt.Errorf("parse resize: %d bytes: %w", len(p), ErrMalformed)
	}
	return binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]), nil
}

// ParseRedacted decodes a TypeRedacted payload: the number of withheld bytes. It returns
// ErrMalformed unless p is exactly 4 bytes.
func ParseRedacted(p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("parse redacted: %d bytes: %w", len(p), ErrMalformed)
	}
	return binary.BigEndian.Uint32(p), nil
}
