package video

import (
	"encoding/binary"
	"fmt"
)

// faststart moves an MP4's moov box before its mdat, as FFmpeg's faststart does (which needs to
// reopen the output by name, impossible with in-memory IO): a player or a browser can then start
// before the whole file has arrived. Chunk offsets (stco, co64) move by the moov's size.
func faststart(b []byte) ([]byte, error) {
	boxes, err := topBoxes(b)
	if err != nil {
		return nil, err
	}
	var moov, before []byte
	var rest [][]byte
	for _, bx := range boxes {
		switch string(bx[4:8]) {
		case "moov":
			moov = append([]byte(nil), bx...)
		case "ftyp":
			before = append(before, bx...)
		default:
			rest = append(rest, bx)
		}
	}
	if moov == nil {
		return nil, fmt.Errorf("video: faststart: no moov box: %w", ErrFormat)
	}
	if err := shiftOffsets(moov[8:], int64(len(moov))); err != nil {
		return nil, err
	}
	out := append(before, moov...)
	for _, bx := range rest {
		out = append(out, bx...)
	}
	return out, nil
}

// topBoxes splits b into its boxes (32-bit sizes only: what FFmpeg writes below 4 GiB; a 64-bit
// size box is refused rather than misread).
func topBoxes(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("video: faststart: truncated box: %w", ErrFormat)
		}
		n := int(binary.BigEndian.Uint32(b))
		if n < 8 || n > len(b) {
			return nil, fmt.Errorf("video: faststart: box size %d: %w", n, ErrFormat)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

// shiftOffsets adds d to every chunk offset in the boxes of b, descending into the containers on
// the way to stbl.
func shiftOffsets(b []byte, d int64) error {
	boxes, err := topBoxes(b)
	if err != nil {
		return err
	}
	for _, bx := range boxes {
		body := bx[8:]
		switch string(bx[4:8]) {
		case "trak", "mdia", "minf", "stbl":
			if err := shiftOffsets(body, d); err != nil {
				return err
			}
		case "stco", "co64":
			if len(body) < 8 {
				return fmt.Errorf("video: faststart: short %s: %w", bx[4:8], ErrFormat)
			}
			n := int(binary.BigEndian.Uint32(body[4:]))
			size := 4
			if string(bx[4:8]) == "co64" {
				size = 8
			}
			if n < 0 || 8+n*size > len(body) {
				return fmt.Errorf("video: faststart: %s of %d entries: %w", bx[4:8], n, ErrFormat)
			}
			for i := 0; i < n; i++ {
				p := body[8+i*size:]
				if size == 4 {
					v := int64(binary.BigEndian.Uint32(p)) + d
					if v > 0xffffffff {
						return fmt.Errorf("video: faststart: offset over 4 GiB: %w", ErrFormat)
					}
					binary.BigEndian.PutUint32(p, uint32(v))
				} else {
					binary.BigEndian.PutUint64(p, binary.BigEndian.Uint64(p)+uint64(d))
				}
			}
		}
	}
	return nil
}
