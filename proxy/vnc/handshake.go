package vnc

import (
	"bufio"
	"crypto/des"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// RFB security types we speak.
const (
	secInvalid = 0
	secNone    = 1
	secVNCAuth = 2
)

// maxReason bounds the server-supplied strings of the handshake (failure reasons, desktop name):
// longer ones are a hostile server, not a long name.
const maxReason = 64 << 10

// PixelFormat is the RFB PIXEL_FORMAT structure.
type PixelFormat struct {
	BPP, Depth                      uint8
	BigEndian, TrueColour           bool
	RedMax, GreenMax, BlueMax       uint16
	RedShift, GreenShift, BlueShift uint8
}

// rgbaFormat is the format the client asks for: 32-bit little-endian true colour with red in the
// lowest byte, so a wire pixel is the bytes R, G, B, pad - the layout of image.RGBA but alpha.
// ZRLE's compressed pixels are then the first three bytes.
var rgbaFormat = PixelFormat{BPP: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255,
	BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}

func (pf PixelFormat) marshal(b []byte) {
	b[0], b[1] = pf.BPP, pf.Depth
	b[2], b[3] = boolByte(pf.BigEndian), boolByte(pf.TrueColour)
	binary.BigEndian.PutUint16(b[4:], pf.RedMax)
	binary.BigEndian.PutUint16(b[6:], pf.GreenMax)
	binary.BigEndian.PutUint16(b[8:], pf.BlueMax)
	b[10], b[11], b[12] = pf.RedShift, pf.GreenShift, pf.BlueShift
	b[13], b[14], b[15] = 0, 0, 0
}

func parsePixelFormat(b []byte) PixelFormat {
	return PixelFormat{BPP: b[0], Depth: b[1], BigEndian: b[2] != 0, TrueColour: b[3] != 0,
		RedMax: binary.BigEndian.Uint16(b[4:]), GreenMax: binary.BigEndian.Uint16(b[6:]),
		BlueMax: binary.BigEndian.Uint16(b[8:]), RedShift: b[10], GreenShift: b[11], BlueShift: b[12]}
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// ServerInit is what the server said about its desktop after authentication.
type ServerInit struct {
	Width, Height int
	Format        PixelFormat // the server's native format (the client asks for its own)
	Name          string
	Version       string // the protocol version spoken, "3.3", "3.7" or "3.8"
}

// handshake runs the RFB handshake up to and including ServerInit. It speaks 3.8 to servers of
// 3.8 and later, and steps down to 3.7 or 3.3 for older ones (the RFB spec: an unknown 3.x minor
// version is to be treated as 3.3).
func handshake(r *bufio.Reader, w io.Writer, password []byte, shared bool, opts *Options) (ServerInit, error) {
	var si ServerInit
	var ver [12]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return si, fmt.Errorf("vnc: read version: %w", err)
	}
	var major, minor int
	if n, err := fmt.Sscanf(string(ver[:]), "RFB %03d.%03d\n", &major, &minor); n != 2 || err != nil || ver[11] != '\n' {
		return si, fmt.Errorf("%w: greeting %q", ErrVersion, sanitize(ver[:]))
	}
	switch {
	case major < 3:
		return si, fmt.Errorf("%w: %d.%d", ErrVersion, major, minor)
	case major > 3 || minor >= 8:
		minor = 8
	case minor == 7:
	default:
		minor = 3
	}
	si.Version = fmt.Sprintf("3.%d", minor)
	if _, err := fmt.Fprintf(w, "RFB 003.%03d\n", minor); err != nil {
		return si, fmt.Errorf("vnc: write version: %w", err)
	}

	sec, err := chooseSecurity(r, w, minor, password)
	if err != nil {
		return si, err
	}
	if sec == secVNCAuth {
		if err := vncAuth(r, w, password); err != nil {
			return si, err
		}
	}
	// 3.3 and 3.7 send no SecurityResult after None.
	if sec == secVNCAuth || minor >= 8 {
		var res [4]byte
		if _, err := io.ReadFull(r, res[:]); err != nil {
			return si, fmt.Errorf("vnc: read security result: %w", err)
		}
		if binary.BigEndian.Uint32(res[:]) != 0 {
			if minor >= 8 {
				reason, err := readString(r)
				if err != nil {
					return si, fmt.Errorf("%w (reason unreadable: %w)", ErrAuthFailed, err)
				}
				return si, fmt.Errorf("%w: %s", ErrAuthFailed, reason)
			}
			return si, ErrAuthFailed
		}
	}

	if _, err := w.Write([]byte{boolByte(shared)}); err != nil {
		return si, fmt.Errorf("vnc: write client init: %w", err)
	}
	var init [24]byte
	if _, err := io.ReadFull(r, init[:]); err != nil {
		return si, fmt.Errorf("vnc: read server init: %w", err)
	}
	si.Width = int(binary.BigEndian.Uint16(init[0:]))
	si.Height = int(binary.BigEndian.Uint16(init[2:]))
	si.Format = parsePixelFormat(init[4:20])
	if si.Width > opts.MaxWidth || si.Height > opts.MaxHeight {
		return si, fmt.Errorf("%w: desktop %dx%d", ErrTooLarge, si.Width, si.Height)
	}
	nameLen := binary.BigEndian.Uint32(init[20:])
	if nameLen > maxReason {
		return si, fmt.Errorf("%w: desktop name of %d bytes", ErrTooLarge, nameLen)
	}
	name := make([]byte, nameLen)
	if _, err := io.ReadFull(r, name); err != nil {
		return si, fmt.Errorf("vnc: read desktop name: %w", err)
	}
	si.Name = sanitize(name)
	return si, nil
}

// chooseSecurity reads the server's security types and picks one: VNC Authentication when we
// hold a password, None when the server offers it.
func chooseSecurity(r *bufio.Reader, w io.Writer, minor int, password []byte) (byte, error) {
	var offered []byte
	if minor == 3 {
		var t [4]byte
		if _, err := io.ReadFull(r, t[:]); err != nil {
			return 0, fmt.Errorf("vnc: read security type: %w", err)
		}
		v := binary.BigEndian.Uint32(t[:])
		if v > 255 {
			return 0, fmt.Errorf("%w: security type %d", ErrProtocol, v)
		}
		offered = []byte{byte(v)}
	} else {
		n, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("vnc: read security types: %w", err)
		}
		if n == 0 {
			offered = []byte{secInvalid}
		} else {
			offered = make([]byte, n)
			if _, err := io.ReadFull(r, offered); err != nil {
				return 0, fmt.Errorf("vnc: read security types: %w", err)
			}
		}
	}
	if len(offered) == 1 && offered[0] == secInvalid {
		reason, err := readString(r)
		if err != nil {
			return 0, fmt.Errorf("%w (reason unreadable: %w)", ErrRefused, err)
		}
		return 0, fmt.Errorf("%w: %s", ErrRefused, reason)
	}
	var choice byte
	for _, t := range offered {
		if t == secVNCAuth && len(password) > 0 {
			choice = secVNCAuth
			break
		}
		if t == secNone {
			choice = secNone
		}
	}
	if choice == secInvalid {
		if len(password) == 0 && strings.ContainsRune(string(offered), secVNCAuth) {
			return 0, fmt.Errorf("%w: the server needs a password", ErrNoSecurityType)
		}
		return 0, fmt.Errorf("%w: server offers %v", ErrNoSecurityType, offered)
	}
	if minor >= 7 {
		if _, err := w.Write([]byte{choice}); err != nil {
			return 0, fmt.Errorf("vnc: write security type: %w", err)
		}
	}
	return choice, nil
}

// vncAuth answers the 16-byte challenge with DES. The key is the password's first 8 bytes,
// zero-padded, with the bits of each byte reversed: a quirk of the original VNC code that every
// server copies. Longer passwords are truncated, as every VNC server does.
func vncAuth(r io.Reader, w io.Writer, password []byte) error {
	var challenge [16]byte
	if _, err := io.ReadFull(r, challenge[:]); err != nil {
		return fmt.Errorf("vnc: read auth challenge: %w", err)
	}
	var key [8]byte
	defer clear(key[:])
	for i := 0; i < len(key) && i < len(password); i++ {
		key[i] = reverseBits(password[i])
	}
	block, err := des.NewCipher(key[:])
	if err != nil {
		return fmt.Errorf("vnc: auth cipher: %w", err)
	}
	var resp [16]byte
	block.Encrypt(resp[:8], challenge[:8])
	block.Encrypt(resp[8:], challenge[8:])
	if _, err := w.Write(resp[:]); err != nil {
		return fmt.Errorf("vnc: write auth response: %w", err)
	}
	return nil
}

func reverseBits(b byte) byte {
	b = b>>4 | b<<4
	b = (b&0xcc)>>2 | (b&0x33)<<2
	return (b&0xaa)>>1 | (b&0x55)<<1
}

// readString reads a u32-length-prefixed string from the server, bounded by maxReason.
func readString(r io.Reader) (string, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return "", err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > maxReason {
		return "", fmt.Errorf("%w: string of %d bytes", ErrTooLarge, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return sanitize(b), nil
}

// sanitize keeps server-supplied text printable, so it can go into logs and error messages.
func sanitize(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
}
