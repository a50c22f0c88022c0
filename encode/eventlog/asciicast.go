package eventlog

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrSequence is returned by an export given segments that do not follow each other.
var ErrSequence = errors.New("eventlog: segments out of sequence")

// Asciicast exports segments as an asciicast v2 file, as read by asciinema 2.x.
type Asciicast struct {
	Input bool              // also export input events ("i"); off by default: input may hold secrets
	Env   map[string]string // the header's env; TERM defaults to xterm-256color
	Title string
}

// ExportAsciicast writes the output and resize events of segments, which must be consecutive
// segments of one session, to dst as asciicast v2. See Asciicast.Export.
func ExportAsciicast(dst io.Writer, segments ...io.Reader) error {
	return Asciicast{}.Export(dst, segments...)
}

// Export writes segments to dst as asciicast v2: a header line, then one event line per output
// ("o"), input ("i", only if a.Input) and resize ("r", "COLSxROWS") record. Times are seconds
// since the first segment's start. Keyframes are not exported, because the output stream already
// paints the screen, with one exception: when the first segment is not the session's first, its
// keyframe is the opening "o" event at time 0, so a player starting mid-recording shows the
// screen as it was. Damage and marker records are left out.
func (a Asciicast) Export(dst io.Writer, segments ...io.Reader) error {
	if len(segments) == 0 {
		return errors.New("eventlog: asciicast: no segment")
	}
	bw := bufio.NewWriterSize(dst, 64<<10)
	var (
		first   Header
		out, in []byte // an incomplete UTF-8 sequence held back for the next event of its stream
		line    []byte
	)
	for i, seg := range segments {
		r, err := NewReader(seg)
		if err != nil {
			return fmt.Errorf("eventlog: asciicast: segment %d: %w", i, err)
		}
		h := r.Header()
		if i == 0 {
			first = h
			if err := a.writeHeader(bw, h); err != nil {
				return err
			}
		} else if h.SessionID != first.SessionID || h.Segment != first.Segment+i {
			return fmt.Errorf("eventlog: asciicast: segment %d is %s/%d after %s/%d: %w",
				i, h.SessionID, h.Segment, first.SessionID, first.Segment+i-1, ErrSequence)
		}
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("eventlog: asciicast: segment %d: %w", i, err)
			}
			at := rec.Time - first.Offset
			switch {
			case rec.Type == TypeKeyframe && i == 0 && h.Segment > 0:
				line, out = appendEvent(line[:0], at, "o", out, rec.Payload)
			case rec.Type == TypeOutput:
				line, out = appendEvent(line[:0], at, "o", out, rec.Payload)
			case rec.Type == TypeInput && a.Input:
				line, in = appendEvent(line[:0], at, "i", in, rec.Payload)
			case rec.Type == TypeResize && len(rec.Payload) == 4:
				size := strconv.Itoa(int(binary.BigEndian.Uint16(rec.Payload))) + "x" +
					strconv.Itoa(int(binary.BigEndian.Uint16(rec.Payload[2:])))
				line, _ = appendEvent(line[:0], at, "r", nil, []byte(size))
			default:
				continue
			}
			if _, err := bw.Write(line); err != nil {
				return fmt.Errorf("eventlog: asciicast: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("eventlog: asciicast: %w", err)
	}
	return nil
}

func (a Asciicast) writeHeader(w io.Writer, h Header) error {
	env := map[string]string{"TERM": "xterm-256color"}
	for k, v := range a.Env {
		env[k] = v
	}
	hdr := struct {
		Version   int               `json:"version"`
		Width     int               `json:"width"`
		Height    int               `json:"height"`
		Timestamp int64             `json:"timestamp,omitempty"`
		Title     string            `json:"title,omitempty"`
		Env       map[string]string `json:"env"`
	}{2, h.Cols, h.Rows, 0, a.Title, env}
	if !h.Start.IsZero() {
		hdr.Timestamp = h.Start.Add(h.Offset).Unix()
	}
	b, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("eventlog: asciicast: header: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("eventlog: asciicast: %w", err)
	}
	return nil
}

// appendEvent appends `[time, "kind", "data"]\n` for held+p, holding back a UTF-8 sequence cut
// at the end of p (asciicast data is a JSON string; asciinema decodes its stream the same way).
// It returns the line and the new held-back bytes.
func appendEvent(b []byte, at time.Duration, kind string, held, p []byte) ([]byte, []byte) {
	data := p
	if len(held) > 0 {
		data = append(held, p...)
	}
	cut := 0
	for i := 1; i < utf8.UTFMax && i <= len(data); i++ {
		c := data[len(data)-i]
		if c < 0x80 {
			break
		}
		if c >= 0xc0 {
			if !utf8.FullRune(data[len(data)-i:]) {
				cut = i
			}
			break
		}
	}
	var rest []byte
	if cut > 0 {
		rest = append([]byte(nil), data[len(data)-cut:]...)
		data = data[:len(data)-cut]
	}
	b = append(b, '[')
	b = strconv.AppendFloat(b, at.Seconds(), 'f', 6, 64)
	b = append(b, ", \""...)
	b = append(b, kind...)
	b = append(b, "\", "...)
	b = appendJSONString(b, data)
	b = append(b, "]\n"...)
	return b, rest
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes p as a JSON string, invalid UTF-8 becoming U+FFFD as in asciinema.
func appendJSONString(b, p []byte) []byte {
	b = append(b, '"')
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		case r == utf8.RuneError && n == 1:
			b = append(b, "\ufffd"...)
		default:
			b = append(b, p[:n]...)
		}
		p = p[n:]
	}
	return append(b, '"')
}
