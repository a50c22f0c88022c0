package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"testing"
)

// hugeCursor is a Cursor payload of w x h, built by hand as a hostile back end would send it.
func hugeCursor(w, h int) []byte {
	p := []byte{KindCursor}
	for _, v := range []int{0, 0, w, h} {
		p = binary.BigEndian.AppendUint16(p, uint16(v))
	}
	return append(p, make([]byte, w*h*4)...)
}

// TestCursorBounded: a cursor beyond MaxCursor a side is refused by Parse (so by every reader, each
// of which would re-encode it) and cropped by AppendCursor, hotspot included.
func TestCursorBounded(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		ok   bool
	}{
		{MaxCursor - 1, 1, true},
		{MaxCursor, MaxCursor, true},
		{MaxCursor + 1, 1, false},
		{1, MaxCursor + 1, false},
		{2048, 2048, false},
	} {
		_, err := Parse(hugeCursor(tc.w, tc.h))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("Parse of a %dx%d cursor: %v, want ok=%v", tc.w, tc.h, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		w, h         int
		hot          image.Point
		wantW, wantH int
		wantHot      image.Point
	}{
		{32, 32, image.Pt(3, 4), 32, 32, image.Pt(3, 4)},
		{MaxCursor, MaxCursor, image.Pt(200, 255), MaxCursor, MaxCursor, image.Pt(200, 255)},
		{MaxCursor + 1, 10, image.Pt(MaxCursor, 2), MaxCursor, 10, image.Pt(MaxCursor-1, 2)},
		{1000, 1000, image.Pt(900, 10), MaxCursor, MaxCursor, image.Pt(MaxCursor-1, 10)},
	} {
		img := randomImage(tc.w, tc.h, 7)
		d, err := Parse(AppendCursor(nil, img, tc.hot))
		if err != nil {
			t.Fatalf("%dx%d cursor: %v", tc.w, tc.h, err)
		}
		if d.Rect != image.Rect(0, 0, tc.wantW, tc.wantH) || d.Src != tc.wantHot {
			t.Errorf("%dx%d cursor at %v: %v at %v, want %dx%d at %v", tc.w, tc.h, tc.hot, d.Rect, d.Src, tc.wantW, tc.wantH, tc.wantHot)
		}
		// The crop is the image's top-left corner.
		if !bytes.Equal(d.Pix[:tc.wantW*4], img.Pix[:tc.wantW*4]) {
			t.Errorf("%dx%d cursor: the first row is not the image's", tc.w, tc.h)
		}
	}
}
