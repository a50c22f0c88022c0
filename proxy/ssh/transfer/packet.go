package transfer

import (
	"encoding/binary"
	"errors"
)

// maxPacket is the largest SFTP packet body accepted: OpenSSH's sftp-server and client refuse
// messages over 256 KiB (SFTP_MAX_MSG_LENGTH), and a little header room is allowed on top.
const maxPacket = 256*1024 + 1024

var errPacketLength = errors.New("bad packet length")

// packetReader cuts a stream into SFTP packets (uint32 length, then that many bytes). Whole
// packets inside a chunk are handed out in place; only a packet split across chunks is copied,
// into a buffer that never grows past maxPacket+4.
type packetReader struct {
	buf []byte
}

// feed calls fn with the body of every packet completed by p. The body is valid only during fn.
func (r *packetReader) feed(p []byte, fn func(body []byte)) (uint32, error) {
	for len(p) > 0 {
		if len(r.buf) == 0 {
			for len(p) >= 4 {
				n := binary.BigEndian.Uint32(p)
				if n == 0 || n > maxPacket {
					return n, errPacketLength
				}
				if uint32(len(p)-4) < n {
					break
				}
				fn(p[4 : 4+n])
				p = p[4+n:]
			}
			if len(p) == 0 {
				return 0, nil
			}
		}
		if len(r.buf) < 4 {
			k := min(4-len(r.buf), len(p))
			r.buf = append(r.buf, p[:k]...)
			p = p[k:]
			if len(r.buf) < 4 {
				return 0, nil
			}
			if n := binary.BigEndian.Uint32(r.buf); n == 0 || n > maxPacket {
				return n, errPacketLength
			}
		}
		n := int(binary.BigEndian.Uint32(r.buf))
		k := min(4+n-len(r.buf), len(p))
		r.buf = append(r.buf, p[:k]...)
		p = p[k:]
		if len(r.buf) == 4+n {
			fn(r.buf[4:])
			r.buf = r.buf[:0]
		}
	}
	return 0, nil
}

// wire reads SFTP's big-endian fields; a short read sets bad and yields zero values.
type wire struct {
	b   []byte
	bad bool
}

func (w *wire) u8() byte {
	if len(w.b) < 1 {
		w.bad = true
		return 0
	}
	v := w.b[0]
	w.b = w.b[1:]
	return v
}

func (w *wire) u32() uint32 {
	if len(w.b) < 4 {
		w.bad = true
		return 0
	}
	v := binary.BigEndian.Uint32(w.b)
	w.b = w.b[4:]
	return v
}

func (w *wire) u64() uint64 {
	if len(w.b) < 8 {
		w.bad = true
		return 0
	}
	v := binary.BigEndian.Uint64(w.b)
	w.b = w.b[8:]
	return v
}

// bytes returns a string field without copying.
func (w *wire) bytes() []byte {
	n := w.u32()
	if w.bad || uint32(len(w.b)) < n {
		w.bad = true
		return nil
	}
	v := w.b[:n]
	w.b = w.b[n:]
	return v
}
