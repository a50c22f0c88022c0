package eventlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testHeader = Header{
	SessionID: "3f1c9a2e", Segment: 0, User: "alice", Target: "web01", Protocol: "ssh",
	Start: time.Date(2025, 3, 4, 9, 12, 1, 0, time.UTC), Cols: 80, Rows: 24,
	Meta: map[string]string{"client": "OpenSSH_9.2", "reason": "ticket 4411"},
}

// encode writes h, a keyframe and recs as one segment.
func encode(t testing.TB, h Header, keyframe []byte, recs []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h, keyframe)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(buf.Len()) {
		t.Fatalf("Size %d, wrote %d", w.Size(), buf.Len())
	}
	return buf.Bytes()
}

// decode reads a whole segment, copying payloads (they are valid only until the next Next).
func decode(b []byte) (Header, []Record, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return Header{}, nil, err
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Header(), recs, nil
		}
		if err != nil {
			return r.Header(), recs, err
		}
		rec.Payload = bytes.Clone(rec.Payload)
		recs = append(recs, rec)
	}
}

func sameRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.Time = w.Time.Truncate(time.Microsecond)
		g := got[i]
		if g.Time != w.Time || g.Type != w.Type || g.Channel != w.Channel || !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("record %d: got {%v %d %d %q}, want {%v %d %d %q}", i,
				g.Time, g.Type, g.Channel, g.Payload, w.Time, w.Type, w.Channel, w.Payload)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), blockTarget/16)
	tests := []struct {
		name string
		h    Header
		recs []Record
	}{
		{"keyframe only", testHeader, nil},
		{"empty payloads", testHeader, []Record{{Time: 0, Type: TypeOutput}, {Time: 1, Type: TypeMarker}}},
		{"later segment", Header{SessionID: "s", Segment: 7, Offset: 90 * time.Second, Cols: 132, Rows: 50},
			[]Record{{Time: 90 * time.Second, Type: TypeOutput, Payload: []byte("x")}, {Time: 95*time.Second + 1500, Type: TypeInput, Channel: 3, Payload: []byte("y")}}},
		{"block boundary n-1", testHeader, []Record{{Type: TypeOutput, Payload: big[:blockTarget-30]}, {Type: TypeOutput, Payload: []byte("a")}}},
		{"block boundary n", testHeader, []Record{{Type: TypeOutput, Payload: big[:blockTarget-24]}, {Type: TypeOutput, Payload: []byte("a")}}},
		{"block boundary n+1", testHeader, []Record{{Type: TypeOutput, Payload: big[:blockTarget]}, {Type: TypeOutput, Payload: []byte("a")}}},
		{"max record", testHeader, []Record{{Type: TypeOutput, Payload: bytes.Repeat([]byte{7}, MaxRecord)}}},
		{"unknown type passes", testHeader, []Record{{Time: time.Hour, Type: 200, Channel: 65535, Payload: []byte{0, 1, 2}}}},
		{"synthetic session", testHeader, synthSession(1, 2*time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kf := []byte("\x1bc\x1b[H\x1b[2Jkeyframe")
			h, got, err := decode(encode(t, tt.h, kf, tt.recs))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.h
			want.Offset = want.Offset.Truncate(time.Microsecond)
			if len(want.Meta) == 0 {
				want.Meta = nil
			}
			if !h.Start.Equal(want.Start) {
				t.Fatalf("start %v, want %v", h.Start, want.Start)
			}
			h.Start, want.Start = time.Time{}, time.Time{}
			if !reflect.DeepEqual(h, want) {
				t.Fatalf("header %+v, want %+v", h, want)
			}
			sameRecords(t, got, append([]Record{{Time: tt.h.Offset, Type: TypeKeyframe, Payload: kf}}, tt.recs...))
		})
	}
}

func TestWriterRejects(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Offset: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{Time: time.Second - time.Microsecond}); !errors.Is(err, ErrTimeOrder) {
		t.Errorf("record before segment offset: %v, want ErrTimeOrder", err)
	}
	if err := w.Write(Record{Time: 2 * time.Second, Payload: make([]byte, MaxRecord+1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("record over MaxRecord: %v, want ErrTooLarge", err)
	}
	// Neither rejected record spoils the segment.
	if err := w.Write(Record{Time: 2 * time.Second, Type: TypeOutput, Payload: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{Time: 3 * time.Second}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
	if _, recs, err := decode(buf.Bytes()); err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterFailsClosed(t *testing.T) {
	w, err := NewWriter(&failWriter{after: 3}, testHeader, nil) // version, header, keyframe block
	if err != nil {
		t.Fatal(err)
	}
	w.Write(Record{Type: TypeOutput, Payload: []byte("x")})
	if err := w.Flush(); err == nil {
		t.Fatal("flush to a failing writer succeeded")
	}
	if err := w.Write(Record{Type: TypeOutput}); err == nil {
		t.Fatal("write after a failed flush succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("close after a failed flush succeeded")
	}
}

// Every proper prefix of a segment must read as truncated, never as a complete segment.
func TestTruncation(t *testing.T) {
	seg := encode(t, testHeader, []byte("kf"), synthSession(2, 20*time.Second))
	for n := range len(seg) {
		_, _, err := decode(seg[:n])
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix of %d/%d bytes: %v, want ErrTruncated", n, len(seg), err)
		}
	}
}

// Any flipped bit must be detected: CRC-32C catches every single-bit error in a chunk.
func TestCorruption(t *testing.T) {
	seg := encode(t, testHeader, []byte("kf"), synthSession(3, 10*time.Second))
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		b := bytes.Clone(seg)
		i := rng.IntN(len(b))
		b[i] ^= 1 << rng.IntN(8)
		_, _, err := decode(b)
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("bit flip at %d: %v, want a format error", i, err)
		}
	}
	if _, _, err := decode(append(bytes.Clone(seg), 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("byte after end chunk: %v, want ErrCorrupt", err)
	}
}

// chunk builds a chunk with a valid CRC, for tests of what a future writer may produce.
func chunk(kind byte, body []byte) []byte {
	w := &Writer{}
	w.out = appendChunkStart(nil, kind)
	w.out = append(w.out, body...)
	var buf bytes.Buffer
	w.w = &buf
	w.emitChunk()
	return buf.Bytes()
}

func TestVersions(t *testing.T) {
	seg := encode(t, testHeader, []byte("kf"), []Record{{Type: TypeOutput, Payload: []byte("hi")}})
	first := strings.Index(string(seg), "\n") + 1
	_, _, err := decode(append([]byte("vigil-eventlog 2\n"), seg[first:]...))
	if !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v, want ErrVersion", err)
	}
	for _, line := range []string{"vigil-eventlog 01\n", "vigil-eventlog 0\n", "vigil-eventlog x\n", "VIGIL-EVENTLOG 1\n", "#!/bin/sh\n"} {
		if _, _, err := decode(append([]byte(line), seg[first:]...)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: %v, want ErrCorrupt", line, err)
		}
	}
	// An ancillary chunk (lower-case kind) from a later revision is skipped; a critical one is not.
	headerEnd := first + 5 + int(uint32(seg[first+1])<<24|uint32(seg[first+2])<<16|uint32(seg[first+3])<<8|uint32(seg[first+4])) + 4
	withChunk := func(kind byte) []byte {
		b := append(bytes.Clone(seg[:headerEnd]), chunk(kind, []byte("future"))...)
		return append(b, seg[headerEnd:]...)
	}
	if _, recs, err := decode(withChunk('x')); err != nil || len(recs) != 2 {
		t.Errorf("ancillary chunk: %d records, %v", len(recs), err)
	}
	if _, _, err := decode(withChunk('X')); !errors.Is(err, ErrVersion) {
		t.Errorf("critical chunk: %v, want ErrVersion", err)
	}
	// Header fields appended by a later revision are ignored.
	hb := appendHeader(nil, testHeader)
	longer := append([]byte("vigil-eventlog 1\n"), chunk(kindHeader, append(hb, "new field"...))...)
	longer = append(longer, seg[headerEnd:]...)
	if h, recs, err := decode(longer); err != nil || len(recs) != 2 || h.User != "alice" {
		t.Errorf("longer header: %+v, %d records, %v", h, len(recs), err)
	}
}

func TestHostileLengths(t *testing.T) {
	v := []byte("vigil-eventlog 1\n")
	cases := map[string][]byte{
		"chunk over cap":   append(bytes.Clone(v), 'H', 0xff, 0xff, 0xff, 0xff),
		"chunk claims 16M": append(bytes.Clone(v), 'H', 0x01, 0x00, 0x00, 0x00, 1, 2, 3),
		"block over cap":   append(append(bytes.Clone(v), chunk(kindHeader, appendHeader(nil, testHeader))...), chunk(kindBlock, []byte{codecStored, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})...),
		"record over block": append(append(bytes.Clone(v), chunk(kindHeader, appendHeader(nil, testHeader))...),
			chunk(kindBlock, []byte{codecStored, 1, 5, 0, TypeKeyframe, 0, 0x7f, 'x'})...),
		"zstd garbage": append(append(bytes.Clone(v), chunk(kindHeader, appendHeader(nil, testHeader))...),
			chunk(kindBlock, []byte{codecZstd, 1, 10, 0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff})...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := decode(b)
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v, want ErrCorrupt or ErrTruncated", err)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, size := range []int{1, 64, 1400} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			w, err := NewWriter(io.Discard, testHeader, nil)
			if err != nil {
				b.Fatal(err)
			}
			rec := Record{Type: TypeOutput, Payload: bytes.Repeat([]byte("ab"), size)[:size]}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				rec.Time += time.Millisecond
				if err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	seg := encode(b, testHeader, nil, synthSession(4, 10*time.Minute))
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(seg))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
