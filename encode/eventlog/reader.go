package eventlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// decoder is shared: DecodeAll is safe for concurrent use, and its memory cap bounds what a
// hostile frame can make it allocate.
var decoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(MaxBlock),
		zstd.WithDecoderMaxWindow(MaxBlock))
	if err != nil {
		panic("eventlog: zstd decoder: " + err.Error()) // only on bad options, a programming error
	}
	return d
})

// Reader reads one segment. It is not safe for concurrent use.
type Reader struct {
	r       *bufio.Reader
	version int
	h       Header
	body    []byte // current chunk body
	raw     []byte // decoded records of the current block
	pos     int    // next record in raw
	left    uint64 // records not yet returned from raw
	total   uint64 // records returned
	last    time.Duration
	err     error // sticky
}

// NewReader reads the version line and header of a segment. It returns ErrVersion for a version
// newer than this package's, ErrCorrupt or ErrTruncated for a damaged start.
func NewReader(r io.Reader) (*Reader, error) {
	er := &Reader{r: bufio.NewReaderSize(r, 32<<10)}
	if err := er.readVersion(); err != nil {
		return nil, err
	}
	kind, err := er.readChunk()
	if err != nil {
		return nil, fmt.Errorf("eventlog: header: %w", err)
	}
	if kind != kindHeader {
		return nil, fmt.Errorf("eventlog: header: chunk %q first: %w", kind, ErrCorrupt)
	}
	if err := er.parseHeader(er.body); err != nil {
		return nil, fmt.Errorf("eventlog: header: %w", err)
	}
	er.last = er.h.Offset
	return er, nil
}

func (r *Reader) readVersion() error {
	line, err := r.r.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, io.EOF) && len(line) < 32 &&
			(bytes.HasPrefix([]byte(magic), line) || bytes.HasPrefix(line, []byte(magic))) {
			return fmt.Errorf("eventlog: version line: %w", ErrTruncated)
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("eventlog: version line: %w", err)
		}
	}
	if len(line) > 32 || !bytes.HasPrefix(line, []byte(magic)) || line[len(line)-1] != '\n' {
		return fmt.Errorf("eventlog: not an event log: %w", ErrCorrupt)
	}
	digits := line[len(magic) : len(line)-1]
	v, perr := strconv.Atoi(string(digits))
	if perr != nil || v < 1 || len(digits) == 0 || digits[0] == '0' {
		return fmt.Errorf("eventlog: version line %q: %w", line, ErrCorrupt)
	}
	if v > Version {
		return fmt.Errorf("eventlog: version %d, this reader knows up to %d: %w", v, Version, ErrVersion)
	}
	r.version = v
	return nil
}

// readChunk reads the next chunk into r.body, checking its length cap and CRC, and skips
// ancillary chunks. It returns ErrTruncated at end of input.
func (r *Reader) readChunk() (byte, error) {
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
			return 0, readErr(err)
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > MaxChunk {
			return 0, fmt.Errorf("chunk of %d bytes: %w", n, ErrCorrupt)
		}
		// Grow with the bytes that actually arrive, not with what the length claims.
		buf := bytes.NewBuffer(r.body[:0])
		if m, err := buf.ReadFrom(io.LimitReader(r.r, int64(n)+4)); err != nil {
			return 0, readErr(err)
		} else if m < int64(n)+4 {
			return 0, ErrTruncated
		}
		all := buf.Bytes()
		r.body = all[:n]
		crc := crc32.Update(crc32.Checksum(hdr[:], castagnoli), castagnoli, r.body)
		if binary.BigEndian.Uint32(all[n:]) != crc {
			return 0, fmt.Errorf("chunk %q: checksum: %w", hdr[0], ErrCorrupt)
		}
		switch kind := hdr[0]; {
		case kind == kindHeader || kind == kindBlock || kind == kindEnd:
			return kind, nil
		case kind >= 'a' && kind <= 'z':
			continue // ancillary: a later revision's addition that we may ignore
		default:
			return 0, fmt.Errorf("critical chunk %q: %w", kind, ErrVersion)
		}
	}
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

// Header returns the segment's header.
func (r *Reader) Header() Header { return r.h }

// Version returns the format version of the segment.
func (r *Reader) Version() int { return r.version }

// Next returns the next record; the first is the segment's keyframe. The returned Payload is
// valid until the next call. Next returns io.EOF after the end chunk, and an error wrapping
// ErrCorrupt, ErrTruncated or ErrVersion for a damaged or unknown segment; errors are sticky.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
		if err != io.EOF {
			r.err = fmt.Errorf("eventlog: record %d: %w", r.total, err)
		}
		return Record{}, r.err
	}
	return rec, nil
}

func (r *Reader) next() (Record, error) {
	for r.left == 0 {
		if r.pos != len(r.raw) {
			return Record{}, fmt.Errorf("%d stray bytes after block: %w", len(r.raw)-r.pos, ErrCorrupt)
		}
		kind, err := r.readChunk()
		if err != nil {
			return Record{}, err
		}
		switch kind {
		case kindBlock:
			if err := r.decodeBlock(); err != nil {
				return Record{}, err
			}
		case kindEnd:
			return Record{}, r.checkEnd()
		default:
			return Record{}, fmt.Errorf("chunk %q after header: %w", kind, ErrCorrupt)
		}
	}
	p := r.raw[r.pos:]
	delta, n := binary.Uvarint(p)
	if n <= 0 || len(p) < n+1 || delta > uint64(maxDuration/time.Microsecond) {
		return Record{}, fmt.Errorf("time delta: %w", ErrCorrupt)
	}
	p = p[n:]
	typ := p[0]
	p = p[1:]
	ch, n := binary.Uvarint(p)
	if n <= 0 || ch > 0xffff {
		return Record{}, fmt.Errorf("channel: %w", ErrCorrupt)
	}
	p = p[n:]
	size, n := binary.Uvarint(p)
	if n <= 0 || size > MaxRecord || size > uint64(len(p)-n) {
		return Record{}, fmt.Errorf("payload length: %w", ErrCorrupt)
	}
	p = p[n:]
	t := r.last + time.Duration(delta)*time.Microsecond
	if t < r.last {
		return Record{}, fmt.Errorf("time overflow: %w", ErrCorrupt)
	}
	if r.total == 0 && typ != TypeKeyframe {
		return Record{}, fmt.Errorf("first record is not a keyframe: %w", ErrCorrupt)
	}
	rec := Record{Time: t, Type: typ, Channel: uint16(ch), Payload: p[:size:size]}
	r.pos = len(r.raw) - len(p) + int(size)
	r.left--
	r.total++
	r.last = t
	return rec, nil
}

const maxDuration = time.Duration(1<<63 - 1)

func (r *Reader) decodeBlock() error {
	b := r.body
	if len(b) < 1 {
		return fmt.Errorf("empty block: %w", ErrCorrupt)
	}
	codec := b[0]
	b = b[1:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count == 0 {
		return fmt.Errorf("block count: %w", ErrCorrupt)
	}
	b = b[n:]
	rawLen, n := binary.Uvarint(b)
	if n <= 0 || rawLen > MaxBlock || count > rawLen {
		return fmt.Errorf("block length: %w", ErrCorrupt)
	}
	b = b[n:]
	switch codec {
	case codecStored:
		r.raw = append(r.raw[:0], b...)
	case codecZstd:
		out, err := decoder().DecodeAll(b, r.raw[:0])
		if err != nil {
			return fmt.Errorf("block: %v: %w", err, ErrCorrupt)
		}
		r.raw = out
	default:
		return fmt.Errorf("block codec %d: %w", codec, ErrVersion)
	}
	if uint64(len(r.raw)) != rawLen {
		return fmt.Errorf("block decodes to %d bytes, says %d: %w", len(r.raw), rawLen, ErrCorrupt)
	}
	r.pos, r.left = 0, count
	return nil
}

func (r *Reader) checkEnd() error {
	b := r.body
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return fmt.Errorf("end chunk: %w", ErrCorrupt)
	}
	last, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return fmt.Errorf("end chunk: %w", ErrCorrupt)
	}
	if count != r.total || last != uint64(r.last/time.Microsecond) {
		return fmt.Errorf("end chunk says %d records to %dµs, read %d to %v: %w",
			count, last, r.total, r.last, ErrCorrupt)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("bytes after end chunk: %w", ErrCorrupt)
	}
	return io.EOF
}

func (r *Reader) parseHeader(b []byte) error {
	d := decoderState{b: b}
	h := Header{}
	h.SessionID = d.str()
	h.Segment = int(d.uvarint(1 << 31))
	h.User = d.str()
	h.Target = d.str()
	h.Protocol = d.str()
	if start := int64(d.u64()); start != 0 {
		h.Start = time.Unix(0, start)
	}
	h.Offset = time.Duration(d.uvarint(uint64(maxDuration/time.Microsecond))) * time.Microsecond
	h.Cols = int(d.uvarint(1 << 16))
	h.Rows = int(d.uvarint(1 << 16))
	if n := d.uvarint(uint64(len(b))); n > 0 {
		h.Meta = make(map[string]string, min(n, 64))
		for i := uint64(0); i < n && d.err == nil; i++ {
			k := d.str()
			h.Meta[k] = d.str()
		}
	}
	if d.err != nil {
		return d.err
	}
	r.h = h
	return nil
}

// decoderState reads header fields, remembering the first error so the caller checks once.
type decoderState struct {
	b   []byte
	err error
}

func (d *decoderState) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoderState) str() string {
	n := d.uvarint(uint64(len(d.b)))
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoderState) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = ErrCorrupt
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
