package wire

import (
	"encoding/binary"
	"fmt"
)

// ConnectParams is the body of Connect. It holds the target's password: never log it.
type ConnectParams struct {
	Host     string
	Port     int
	User     string
	Domain   string
	Password string
	Security byte
	Pin      []byte // 32 bytes, or nil for trust on first use
	W, H     int
}

// String leaves the password out, so a params value that reaches a log leaks nothing.
func (p ConnectParams) String() string {
	return fmt.Sprintf("rdp://%s@%s:%d (security %d, pinned %t, %dx%d)", p.User, p.Host, p.Port, p.Security, p.Pin != nil, p.W, p.H)
}

// AppendConnect appends a Connect frame.
func AppendConnect(dst []byte, p ConnectParams) []byte {
	var b []byte
	b = AppendStr16(b, p.Host)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Port))
	b = AppendStr16(b, p.User)
	b = AppendStr16(b, p.Domain)
	b = AppendStr16(b, p.Password)
	b = append(b, p.Security)
	if len(p.Pin) == 32 {
		b = append(b, 1)
		b = append(b, p.Pin...)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(p.W))
	b = binary.BigEndian.AppendUint16(b, uint16(p.H))
	dst = Append(dst, Connect, b)
	clear(b) // the password's bytes
	return dst
}

// ParseConnect decodes a Connect body.
func ParseConnect(body []byte) (ConnectParams, error) {
	d := Dec{B: body}
	var p ConnectParams
	p.Host = d.Str16()
	p.Port = d.U16()
	p.User = d.Str16()
	p.Domain = d.Str16()
	p.Password = d.Str16()
	p.Security = d.U8()
	switch d.U8() {
	case 0:
	case 1:
		p.Pin = append([]byte(nil), d.Bytes(32)...)
	default:
		d.Err = fmt.Errorf("pin count: %w", ErrProtocol)
	}
	p.W, p.H = d.U16(), d.U16()
	if err := d.End(); err != nil {
		return ConnectParams{}, fmt.Errorf("parse connect: %w", err)
	}
	if p.Security > SecRDP {
		return ConnectParams{}, fmt.Errorf("parse connect: security %d: %w", p.Security, ErrProtocol)
	}
	return p, nil
}
