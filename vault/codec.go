package vault

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The sealed plaintext of an entry is two length-prefixed byte strings: uvarint(len(password)),
// password, uvarint(len(private key)), private key. A binary form avoids the copies a text
// encoding (base64 in JSON) would leave in memory.

func encodeSecret(s Secret) []byte {
	b := make([]byte, 0, len(s.Password)+len(s.PrivateKey)+2*binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(len(s.Password)))
	b = append(b, s.Password...)
	b = binary.AppendUvarint(b, uint64(len(s.PrivateKey)))
	b = append(b, s.PrivateKey...)
	return b
}

var errCorrupt = errors.New("vault: corrupt secret encoding")

func decodeSecret(b []byte) (Secret, error) {
	var fields [2][]byte
	for i := range fields {
		n, k := binary.Uvarint(b)
		// A non-minimal varint would give one secret two encodings; refuse it.
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(b)-k) {
			return Secret{}, fmt.Errorf("field %d: %w", i, errCorrupt)
		}
		b = b[k:]
		if n > 0 {
			fields[i] = append([]byte(nil), b[:n]...)
		}
		b = b[n:]
	}
	if len(b) != 0 {
		return Secret{}, fmt.Errorf("%d trailing bytes: %w", len(b), errCorrupt)
	}
	return Secret{Password: fields[0], PrivateKey: fields[1]}, nil
}
