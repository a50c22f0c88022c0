package video

import (
	"image"
	"testing"
	"time"
)

// BenchmarkFrames decodes a 1080p segment of 10 changing frames with Frames, and with FrameAt per
// frame (what a reindex would cost without the iterator); ns/op is per segment.
func BenchmarkFrames(b *testing.B) {
	const n = 10
	var ts []time.Duration
	var screens []*image.RGBA
	for i := range n {
		ts = append(ts, time.Duration(i)*200*time.Millisecond)
		screens = append(screens, desktop(1920, 1080, i))
	}
	seg := encodeSegment(b, Options{}, 0, n*200*time.Millisecond, ts, screens)
	b.Run("Frames", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(seg)))
		for b.Loop() {
			if err := Frames(seg, func(time.Duration, *image.RGBA) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FrameAt-each", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(seg)))
		for b.Loop() {
			for _, t := range ts {
				if _, err := FrameAt(seg, t); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
