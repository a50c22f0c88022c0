package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seed18fc72c3/vigil/storage"
)

const magic = "VSPOOL1\n"

// queuePrefix holds spooled objects, conflictPrefix those the remote refused because it holds a
// different object under the same key (kept for an operator, never uploaded again).
const (
	queuePrefix    = "q/"
	conflictPrefix = "conflict/"
	seqDigits      = 20
)

var errBadHeader = errors.New("bad spool header")

func localKey(seq uint64) string { return fmt.Sprintf("%s%0*d", queuePrefix, seqDigits, seq) }

// parseLocalKey returns the sequence number of a queue file's key.
func parseLocalKey(k string) (uint64, bool) {
	digits, ok := strings.CutPrefix(k, queuePrefix)
	if !ok || len(digits) != seqDigits {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

func encodeHeader(key string) []byte {
	return []byte(magic + key + "\n")
}

// decodeHeader reads a header from r and returns the key. The bufio.Reader is left at the first
// byte of the object, so it is the object's reader from there on.
func decodeHeader(r *bufio.Reader) (string, error) {
	var m [len(magic)]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return "", fmt.Errorf("%w: magic: %v", errBadHeader, err)
	}
	if string(m[:]) != magic {
		return "", fmt.Errorf("%w: magic %q", errBadHeader, m[:])
	}
	var key []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", fmt.Errorf("%w: key: %v", errBadHeader, err)
		}
		if c == '\n' {
			break
		}
		if len(key) == storage.MaxKeyLen {
			return "", fmt.Errorf("%w: key over %d bytes", errBadHeader, storage.MaxKeyLen)
		}
		key = append(key, c)
	}
	if err := storage.ValidateKey(string(key)); err != nil {
		return "", fmt.Errorf("%w: %v", errBadHeader, err)
	}
	return string(key), nil
}
