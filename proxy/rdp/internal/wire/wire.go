// Package wire is the framed protocol between the RDP gateway (proxy/rdp) and its FreeRDP worker
// process (proxy/rdp/worker), as specified in proxy/rdp/FORMAT.md. It reads and writes frames and
// encodes and decodes their bodies; it knows nothing of processes or of FreeRDP.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version a Hello carries.
const Version = 1

// MaxFrame bounds a frame's length field (type + body).
const MaxFrame = 1<<20 + 64

// MaxPixels bounds a Damage frame's pixel bytes; the worker splits larger rectangles.
const MaxPixels = 1 << 20

// MaxText bounds Clipboard text.
const MaxText = 1 << 20

// Frame types (FORMAT.md). Never renumber.
const (
	Hello       byte = 0x01
	Certificate byte = 0x02
	Connected   byte = 0x03
	Logon       byte = 0x04
	Damage      byte = 0x05
	EndPaint    byte = 0x06
	Resize      byte = 0x07
	Bell        byte = 0x08
	Clipboard   byte = 0x09
	Heartbeat   byte = 0x0a
	Error       byte = 0x0b
	Caps        byte = 0x0c

	Connect  byte = 0x81
	Key      byte = 0x82
	Pointer  byte = 0x83
	DoResize byte = 0x84
	SetClip  byte = 0x85
	Close    byte = 0x86
)

// Error reasons (FORMAT.md).
const (
	ReasonConnect      byte = 1
	ReasonAuth         byte = 2
	ReasonCertificate  byte = 3
	ReasonSecurity     byte = 4
	ReasonDisconnected byte = 5
	ReasonProtocol     byte = 6
	ReasonInternal     byte = 7
)

// Caps flags.
const (
	CapDisplayControl byte = 1
	CapClipboard      byte = 2
)

// Security modes in Connect.
const (
	SecNegotiate byte = 0
	SecNLA       byte = 1
	SecTLS       byte = 2
	SecRDP       byte = 3
)

// ErrProtocol is returned for a frame that does not follow FORMAT.md.
var ErrProtocol = errors.New("rdp wire: protocol error")

// Reader reads frames. Not safe for concurrent use.
type Reader struct {
	r   *bufio.Reader
	buf []byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next frame's type and body. The body is valid until the next call. It returns
// io.EOF at a clean end between frames, io.ErrUnexpectedEOF inside one, and ErrProtocol for a
// length out of bounds.
func (r *Reader) Next() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r.r, hdr[:4]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > MaxFrame {
		return 0, nil, fmt.Errorf("read frame: length %d: %w", n, ErrProtocol)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return b[0], b[1:], nil
}

// Append appends one frame of type t with body to dst.
func Append(dst []byte, t byte, body ...[]byte) []byte {
	n := 1
	for _, b := range body {
		n += len(b)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, t)
	for _, b := range body {
		dst = append(dst, b...)
	}
	return dst
}

// AppendStr16 appends a str16 (s is cut at 65535 bytes).
func AppendStr16(dst []byte, s string) []byte {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// Dec decodes a body field by field; the first short read sets Err and later reads return zero.
type Dec struct {
	B   []byte
	Err error
}

func (d *Dec) take(n int) []byte {
	if d.Err != nil {
		return nil
	}
	if len(d.B) < n {
		d.Err = fmt.Errorf("short body: %w", ErrProtocol)
		return nil
	}
	b := d.B[:n]
	d.B = d.B[n:]
	return b
}

// U8 reads a byte.
func (d *Dec) U8() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads a u16.
func (d *Dec) U16() int {
	if b := d.take(2); b != nil {
		return int(binary.BigEndian.Uint16(b))
	}
	return 0
}

// U32 reads a u32.
func (d *Dec) U32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// Bytes reads n bytes (aliasing the body).
func (d *Dec) Bytes(n int) []byte { return d.take(n) }

// Str16 reads a str16.
func (d *Dec) Str16() string { return string(d.take(d.U16())) }

// End sets Err if bytes remain, and returns Err.
func (d *Dec) End() error {
	if d.Err == nil && len(d.B) != 0 {
		d.Err = fmt.Errorf("%d trailing bytes: %w", len(d.B), ErrProtocol)
	}
	return d.Err
}
