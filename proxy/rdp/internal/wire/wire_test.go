package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestConnectRoundTrip(t *testing.T) {
	for _, p := range []ConnectParams{
		{Host: "127.0.0.1", Port: 3389, User: "alice", Domain: "CORP", Password: "s3cret", Security: SecNLA, Pin: bytes.Repeat([]byte{7}, 32), W: 1920, H: 1080},
		{Host: "h", Port: 1, User: "u", Security: SecNegotiate, W: 200, H: 200},
		{Host: strings.Repeat("x", 300), Port: 65535, User: "ü", Password: "", Security: SecRDP, W: 8192, H: 8192},
	} {
		f := AppendConnect(nil, p)
		r := NewReader(bytes.NewReader(f))
		typ, body, err := r.Next()
		if err != nil || typ != Connect {
			t.Fatalf("Next = %#x, %v", typ, err)
		}
		got, err := ParseConnect(body)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("round trip: got %+v, want %+v", got, p)
		}
		if strings.Contains(p.String(), "s3cret") {
			t.Error("ConnectParams.String shows the password")
		}
	}
}

func TestParseConnectRejects(t *testing.T) {
	good := AppendConnect(nil, ConnectParams{Host: "h", Port: 1, User: "u", W: 800, H: 600})[5:]
	badSec := bytes.Clone(good)
	badSec[len(badSec)-6] = 9 // security byte
	badPin := bytes.Clone(good)
	badPin[len(badPin)-5] = 2 // pin count
	for name, body := range map[string][]byte{
		"empty":    nil,
		"short":    good[:len(good)-1],
		"trailing": append(bytes.Clone(good), 0),
		"security": badSec,
		"pin":      badPin,
	} {
		if _, err := ParseConnect(body); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: ParseConnect = %v, want ErrProtocol", name, err)
		}
	}
}

// TestReaderBounds: lengths around the bounds, before anything is allocated for them.
func TestReaderBounds(t *testing.T) {
	frame := func(n uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, n)
		if n >= 1 && n <= MaxFrame+1 {
			b = append(b, make([]byte, n)...)
		}
		return b
	}
	for _, tc := range []struct {
		n    uint32
		want error
	}{{0, ErrProtocol}, {1, nil}, {2, nil}, {MaxFrame - 1, nil}, {MaxFrame, nil}, {MaxFrame + 1, ErrProtocol}, {1 << 31, ErrProtocol}} {
		_, body, err := NewReader(bytes.NewReader(frame(tc.n))).Next()
		if !errors.Is(err, tc.want) {
			t.Errorf("length %d: %v, want %v", tc.n, err, tc.want)
		}
		if err == nil && len(body) != int(tc.n)-1 {
			t.Errorf("length %d: body %d", tc.n, len(body))
		}
	}
	// Truncation: a clean EOF between frames, an unexpected one inside.
	r := NewReader(bytes.NewReader(Append(nil, Heartbeat)))
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
	f := Append(nil, Damage, make([]byte, 20))
	for cut := 1; cut < len(f); cut++ {
		if _, _, err := NewReader(bytes.NewReader(f[:cut])).Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}

func TestDec(t *testing.T) {
	b := AppendStr16([]byte{1, 0, 2, 0, 0, 0, 3}, "hi")
	d := Dec{B: b}
	if d.U8() != 1 || d.U16() != 2 || d.U32() != 3 || d.Str16() != "hi" || d.End() != nil {
		t.Fatalf("decode %x: %v", b, d.Err)
	}
	d = Dec{B: []byte{0, 5, 'a'}}
	if d.Str16(); !errors.Is(d.End(), ErrProtocol) {
		t.Error("a str16 longer than the body was accepted")
	}
}

// FuzzReader: any input gives frames or an error, never a panic or an oversized allocation,
// and frames re-encode to the bytes they came from.
func FuzzReader(f *testing.F) {
	f.Add(Append(Append(nil, Hello, []byte{Version}), Damage, make([]byte, 12)))
	f.Add(AppendConnect(nil, ConnectParams{Host: "h", Port: 1, User: "u", W: 800, H: 600}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		var out []byte
		for {
			typ, body, err := r.Next()
			if err != nil {
				break
			}
			out = Append(out, typ, body)
			if typ == Connect {
				ParseConnect(body)
			}
		}
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("frames re-encode to %x, not a prefix of the input", out)
		}
	})
}
