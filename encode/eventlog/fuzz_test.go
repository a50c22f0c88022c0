package eventlog

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRoundTrip writes records derived from the input and requires them back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("\x01\x00\x05hello\x02\x10\x01x"), []byte("kf"), uint32(0))
	f.Add(bytes.Repeat([]byte{3, 0xff, 4, 0, 80, 0, 24}, 40), []byte{}, uint32(1e6))
	f.Fuzz(func(t *testing.T, script, keyframe []byte, offsetUS uint32) {
		h := testHeader
		h.Offset = time.Duration(offsetUS) * time.Microsecond
		var recs []Record
		now := h.Offset
		// Each record: type, time step (µs, varint), channel byte, payload length byte, payload.
		for len(script) >= 3 {
			typ := script[0]
			step, n := binary.Uvarint(script[1:])
			if n <= 0 {
				break
			}
			script = script[1+n:]
			if len(script) < 2 {
				break
			}
			ch, size := uint16(script[0])<<3, int(script[1])
			script = script[2:]
			size = min(size, len(script))
			now += time.Duration(step%(1<<40)) * time.Microsecond
			recs = append(recs, Record{Time: now, Type: typ, Channel: ch, Payload: script[:size]})
			script = script[size:]
		}
		_, got, err := decode(encode(t, h, keyframe, recs))
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, got, append([]Record{{Time: h.Offset, Type: TypeKeyframe, Payload: keyframe}}, recs...))
	})
}

// FuzzReader reads arbitrary bytes: it must not panic, must stay within the format's limits,
// and must end every input with io.EOF or a format error.
func FuzzReader(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(fixtureDir, "*.vel"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("vigil-eventlog 1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		for range 1 << 20 {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				return
			}
			if len(rec.Payload) > MaxRecord || len(rec.Payload) > len(in)*64 {
				t.Fatalf("payload of %d bytes from %d input bytes", len(rec.Payload), len(in))
			}
		}
		t.Fatal("reader did not end")
	})
}
