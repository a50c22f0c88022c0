package vnc

import (
	"encoding/binary"
	"fmt"
	"image"
	"io"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

// RFB client-to-server message types.
const (
	msgSetPixelFormat  = 0
	msgSetEncodings    = 2
	msgUpdateRequest   = 3
	msgKeyEvent        = 4
	msgPointerEvent    = 5
	msgClientCutText   = 6
	maxClientEncodings = 1024
)

// clientMsg is one parsed message from a viewer.
type clientMsg struct {
	Type        byte
	Format      PixelFormat     // SetPixelFormat
	Encodings   []Encoding      // SetEncodings
	Incremental bool            // UpdateRequest
	Rect        image.Rectangle // UpdateRequest
	Down        bool            // KeyEvent
	Key         uint32          // KeyEvent
	Buttons     uint8           // PointerEvent
	X, Y        int             // PointerEvent
	Text        []byte          // ClientCutText, Latin-1
}

// readClientMessage reads one message from a viewer. The viewer is not trusted: an unknown type
// is ErrProtocol (its length is unknown, so the stream cannot be resynchronised), and lengths are
// bounded before anything is allocated: at most maxClientEncodings encodings and
// frame.MaxClipboard bytes of clipboard, else ErrTooLarge.
func readClientMessage(r io.Reader) (clientMsg, error) {
	var m clientMsg
	var hdr [1]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return m, err
	}
	m.Type = hdr[0]
	body := func(n int) ([]byte, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the type byte came: the message is cut short
			}
			return nil, fmt.Errorf("vnc: read client message %d: %w", m.Type, err)
		}
		return b, nil
	}
	switch m.Type {
	case msgSetPixelFormat:
		b, err := body(19)
		if err != nil {
			return m, err
		}
		m.Format = parsePixelFormat(b[3:])
	case msgSetEncodings:
		b, err := body(3)
		if err != nil {
			return m, err
		}
		n := int(binary.BigEndian.Uint16(b[1:]))
		if n > maxClientEncodings {
			return m, fmt.Errorf("%w: %d encodings", ErrTooLarge, n)
		}
		if b, err = body(4 * n); err != nil {
			return m, err
		}
		m.Encodings = make([]Encoding, n)
		for i := range m.Encodings {
			m.Encodings[i] = Encoding(int32(binary.BigEndian.Uint32(b[4*i:])))
		}
	case msgUpdateRequest:
		b, err := body(9)
		if err != nil {
			return m, err
		}
		m.Incremental = b[0] != 0
		x, y := int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
		m.Rect = image.Rect(x, y, x+int(binary.BigEndian.Uint16(b[5:])), y+int(binary.BigEndian.Uint16(b[7:])))
	case msgKeyEvent:
		b, err := body(7)
		if err != nil {
			return m, err
		}
		m.Down = b[0] != 0
		m.Key = binary.BigEndian.Uint32(b[3:])
	case msgPointerEvent:
		b, err := body(5)
		if err != nil {
			return m, err
		}
		m.Buttons = b[0]
		m.X, m.Y = int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
	case msgClientCutText:
		b, err := body(7)
		if err != nil {
			return m, err
		}
		n := binary.BigEndian.Uint32(b[3:])
		if n > frame.MaxClipboard {
			return m, fmt.Errorf("%w: clipboard of %d bytes", ErrTooLarge, n)
		}
		if m.Text, err = body(int(n)); err != nil {
			return m, err
		}
	default:
		return m, fmt.Errorf("%w: client message type %d", ErrProtocol, m.Type)
	}
	return m, nil
}

// appendClientMessage encodes m as a viewer would (tests and the fuzz round trip).
func appendClientMessage(dst []byte, m clientMsg) []byte {
	dst = append(dst, m.Type)
	switch m.Type {
	case msgSetPixelFormat:
		var pf [16]byte
		m.Format.marshal(pf[:])
		dst = append(append(dst, 0, 0, 0), pf[:]...)
	case msgSetEncodings:
		dst = binary.BigEndian.AppendUint16(append(dst, 0), uint16(len(m.Encodings)))
		for _, e := range m.Encodings {
			dst = binary.BigEndian.AppendUint32(dst, uint32(e))
		}
	case msgUpdateRequest:
		dst = append(dst, boolByte(m.Incremental))
		for _, v := range [4]int{m.Rect.Min.X, m.Rect.Min.Y, m.Rect.Dx(), m.Rect.Dy()} {
			dst = binary.BigEndian.AppendUint16(dst, uint16(v))
		}
	case msgKeyEvent:
		dst = binary.BigEndian.AppendUint32(append(dst, boolByte(m.Down), 0, 0), m.Key)
	case msgPointerEvent:
		dst = binary.BigEndian.AppendUint16(append(dst, m.Buttons), uint16(m.X))
		dst = binary.BigEndian.AppendUint16(dst, uint16(m.Y))
	case msgClientCutText:
		dst = binary.BigEndian.AppendUint32(append(dst, 0, 0, 0), uint32(len(m.Text)))
		dst = append(dst, m.Text...)
	}
	return dst
}
