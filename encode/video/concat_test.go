package video

import (
	"bytes"
	"errors"
	"image"
	"io"
	"testing"
	"time"
)

// TestConcat: segments of one recording join into one plain MP4 from 0 whose duration is the sum,
// with every frame, and frames that decode to their sources; several sizes re-encode onto the
// largest.
func TestConcat(t *testing.T) {
	type seg struct {
		w, h       int
		start, end time.Duration
		ts         []time.Duration
	}
	for _, tc := range []struct {
		name  string
		segs  []seg
		w, h  int
		remux bool
	}{
		{"one size", []seg{
			{320, 240, time.Second, 3 * time.Second, []time.Duration{time.Second, 1500 * time.Millisecond}},
			{320, 240, 3 * time.Second, 5 * time.Second, []time.Duration{3 * time.Second}},
			{320, 240, 5 * time.Second, 6500 * time.Millisecond, []time.Duration{5 * time.Second, 5200 * time.Millisecond, 6 * time.Second}},
		}, 320, 240, true},
		{"resized", []seg{
			{320, 240, 0, 2 * time.Second, []time.Duration{0, time.Second}},
			{400, 300, 2 * time.Second, 3 * time.Second, []time.Duration{2 * time.Second, 2500 * time.Millisecond}},
		}, 400, 300, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One encoder per size, as the Recorder keeps one while the size holds.
			var rs []io.Reader
			var srcs []*image.RGBA
			var want []time.Duration
			n := 0
			for _, s := range tc.segs {
				var screens []*image.RGBA
				for range s.ts {
					screens = append(screens, desktop(s.w, s.h, n))
					n++
				}
				srcs = append(srcs, screens...)
				rs = append(rs, bytes.NewReader(encodeSegment(t, Options{}, s.start, s.end, s.ts, screens)))
				for _, at := range s.ts {
					want = append(want, at-tc.segs[0].start)
				}
			}
			var out bytes.Buffer
			if err := Concat(&out, rs); err != nil {
				t.Fatal(err)
			}
			p := probe(t, out.Bytes())
			total := tc.segs[len(tc.segs)-1].end - tc.segs[0].start
			checkProbe(t, p, 0, total, tc.w, tc.h, want)
			if boxes, err := topBoxes(out.Bytes()); err != nil || len(boxes) < 3 || string(boxes[1][4:8]) != "moov" {
				t.Errorf("the index is not after ftyp (faststart): %v", err)
			}
			if bytes.Contains(out.Bytes(), []byte("moof")) {
				t.Errorf("output is fragmented, want a plain MP4")
			}
			for i, at := range want {
				img, err := FrameAt(out.Bytes(), at)
				if err != nil {
					t.Fatalf("FrameAt(%v): %v", at, err)
				}
				b := srcs[i].Bounds()
				if p := psnr(img, srcs[i], b.Dx(), b.Dy()); p < minPSNR-2 {
					t.Errorf("frame %d at %v: %.1f dB, want >= %d", i, at, p, minPSNR-2)
				}
			}
		})
	}
	if err := Concat(io.Discard, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("Concat(no segments) = %v, want ErrFormat", err)
	}
	if err := Concat(io.Discard, []io.Reader{bytes.NewReader([]byte("junk"))}); !errors.Is(err, ErrFormat) {
		t.Errorf("Concat(junk) = %v, want ErrFormat", err)
	}
}
