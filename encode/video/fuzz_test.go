package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/encode"
)

// fuzzSegment is a small real segment for the seeds.
func fuzzSegment(f *testing.F) []byte {
	return encodeSegment(f, Options{}, time.Second, 2*time.Second,
		[]time.Duration{time.Second, 1500 * time.Millisecond}, []*image.RGBA{desktop(64, 48, 0), desktop(64, 48, 1)})
}

// FuzzFrameAt: whatever the bytes, FrameAt returns an image or an error, never panics; an image
// is a plausible screen.
func FuzzFrameAt(f *testing.F) {
	seg := fuzzSegment(f)
	f.Add(seg)
	f.Add(seg[:len(seg)/2])
	f.Add(seg[:200])
	bad := bytes.Clone(seg)
	bad[len(bad)/2] ^= 0xff
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := FrameAt(b, 1500*time.Millisecond)
		if err != nil {
			return
		}
		if s := img.Bounds().Size(); s.X < 1 || s.Y < 1 || s.X > frame.MaxSide || s.Y > frame.MaxSide {
			t.Fatalf("image of %v", s)
		}
	})
}

// FuzzFaststart: the box rewriter refuses malformed input with ErrFormat and otherwise keeps
// every byte count.
func FuzzFaststart(f *testing.F) {
	var out bytes.Buffer
	seg := fuzzSegment(f)
	if err := Concat(&out, []io.Reader{bytes.NewReader(seg)}); err != nil {
		f.Fatal(err)
	}
	f.Add(out.Bytes())
	f.Add(seg)
	f.Add([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'v'})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := faststart(bytes.Clone(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v, want ErrFormat", err)
			}
			return
		}
		if len(got) != len(b) {
			t.Fatalf("%d bytes out of %d", len(got), len(b))
		}
	})
}

// FuzzRecorderDamage: any sequence of damage and input payloads (length-prefixed in the fuzz
// input) is recorded without a failure or a panic, and every video segment decodes.
func FuzzRecorderDamage(f *testing.F) {
	var seed []byte
	add := func(kind byte, p []byte) {
		seed = append(seed, kind)
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(p)))
		seed = append(seed, p...)
	}
	img := desktop(64, 48, 0)
	add(0, frame.AppendSize(nil, 64, 48))
	add(0, frame.AppendPixels(nil, img, image.Rect(0, 0, 64, 48)))
	add(0, frame.AppendFrame(nil))
	add(1, frame.Input{Kind: frame.InputKey, Down: true, Keysym: 0xff0d}.Append(nil))
	add(0, frame.AppendCopy(nil, image.Rect(0, 0, 32, 16), image.Pt(0, 16)))
	add(0, frame.AppendFrame(nil))
	add(0, frame.AppendSize(nil, 33, 17))
	add(0, frame.AppendFrame(nil))
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &memSink{}
		r := NewRecorder(encode.SessionMeta{ID: "f", Cols: 64, Rows: 48}, sink, Options{SegmentDuration: 300 * time.Millisecond})
		r.clock0 = time.Now()
		r.pipe = startPipeline(context.Background(), sink, r.opts)
		at := time.Duration(0)
		for n := 0; len(data) >= 3 && n < 64; n++ {
			kind, l := data[0], int(binary.BigEndian.Uint16(data[1:]))
			data = data[3:]
			l = min(l, len(data))
			p := data[:l]
			data = data[l:]
			if len(p) > 0 && p[0] == frame.KindSize && len(p) == 5 {
				if d, err := frame.Parse(p); err == nil && (d.Rect.Dx() > 256 || d.Rect.Dy() > 256) {
					continue // a big desktop is legal, only slow to fuzz
				}
			}
			typ := capture.TypeDamage
			if kind&1 == 1 {
				typ = capture.TypeInput
			}
			at += time.Duration(kind>>1) * 10 * time.Millisecond
			if err := r.event(capture.Event{Time: at, Type: typ, Payload: p}); err != nil {
				t.Fatalf("event: %v", err)
			}
		}
		if err := r.finalCut(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.pipe.finish(); err != nil {
			t.Fatal(err)
		}
		for i, info := range sink.infos {
			if info.Media != encode.MediaMP4 {
				continue
			}
			if _, err := FrameAt(sink.segs[i], info.End); err != nil {
				t.Fatalf("segment %d: %v", i, err)
			}
		}
	})
}
