package vnc

import (
	"bufio"
	"bytes"
	"errors"
	"image"
	"io"
	"testing"
)

// FuzzClientMessages feeds a stream of viewer messages to the server's parser: it must never
// panic or allocate beyond its bounds, fail only with a short read, ErrProtocol or ErrTooLarge,
// and every message it accepts must survive encode and re-parse unchanged (padding bytes are
// ignored on reading, so the round trip is checked on the parsed form, not the input bytes).
func FuzzClientMessages(f *testing.F) {
	for _, m := range []clientMsg{
		{Type: msgSetPixelFormat, Format: rgbaFormat},
		{Type: msgSetEncodings, Encodings: []Encoding{EncodingZRLE, EncodingRaw, EncodingDesktopSize}},
		{Type: msgUpdateRequest, Incremental: true, Rect: rectXYWH(1, 2, 300, 200)},
		{Type: msgKeyEvent, Down: true, Key: 0xff0d},
		{Type: msgPointerEvent, Buttons: 5, X: 1919, Y: 1079},
		{Type: msgClientCutText, Text: []byte("hello")},
	} {
		f.Add(appendClientMessage(nil, m))
	}
	f.Add([]byte{msgSetEncodings, 0, 0xff, 0xff})
	f.Add([]byte{msgClientCutText, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			m, err := readClientMessage(r)
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			again, err := readClientMessage(bytes.NewReader(appendClientMessage(nil, m)))
			if err != nil {
				t.Fatalf("re-parse of %+v: %v", m, err)
			}
			if !bytes.Equal(appendClientMessage(nil, again), appendClientMessage(nil, m)) {
				t.Fatalf("round trip: %+v vs %+v", m, again)
			}
		}
	})
}

func rectXYWH(x, y, w, h int) image.Rectangle { return image.Rect(x, y, x+w, y+h) }
