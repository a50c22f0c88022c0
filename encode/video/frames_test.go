package video

import (
	"bytes"
	"errors"
	"image"
	"testing"
	"time"
)

// TestFramesMatchProbe: a recording made by the real recorder is visited frame by frame; the
// frames and their times are exactly those ffprobe lists, and each frame is the one FrameAt
// decodes for its time.
func TestFramesMatchProbe(t *testing.T) {
	ring := newRing(t, 5*time.Second)
	sink := &memSink{}
	opts := Options{SegmentDuration: 500 * time.Millisecond, MaxFPS: 10}
	run := startRecorder(t, ring, sink, opts, nil)
	d := newDriver(t, ring, 320, 240)
	for i := 1; i <= 8; i++ {
		time.Sleep(60 * time.Millisecond)
		d.update(drawClock(d.screen, i))
	}
	ring.Close()
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	videos := checkRecording(t, sink, opts)
	frames := 0
	for i, seg := range videos {
		var ts []time.Duration
		var imgs []*image.RGBA
		err := Frames(seg, func(at time.Duration, img *image.RGBA) error {
			ts = append(ts, at)
			imgs = append(imgs, &image.RGBA{Pix: bytes.Clone(img.Pix), Stride: img.Stride, Rect: img.Rect})
			return nil
		})
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		p := probe(t, seg)
		if len(p.Frames) != len(ts) {
			t.Fatalf("segment %d: %d frames, ffprobe lists %d", i, len(ts), len(p.Frames))
		}
		for j, f := range p.Frames {
			if want := seconds(t, f.PtsTime); absDur(ts[j]-want) > time.Millisecond {
				t.Errorf("segment %d frame %d at %v, ffprobe says %v", i, j, ts[j], want)
			}
			at, err := FrameAt(seg, ts[j])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(at.Pix, imgs[j].Pix) {
				t.Errorf("segment %d frame %d differs from FrameAt(%v)", i, j, ts[j])
			}
		}
		frames += len(ts)
	}
	if frames < len(videos)+2 {
		t.Errorf("%d frames in %d segments: the changes are missing", frames, len(videos))
	}
}

// TestFramesStops: fn's error ends the walk and comes back as it is; garbage is ErrFormat.
func TestFramesStops(t *testing.T) {
	seg := encodeSegment(t, Options{}, time.Second, 3*time.Second,
		[]time.Duration{time.Second, 2 * time.Second}, []*image.RGBA{desktop(64, 48, 0), desktop(64, 48, 1)})
	stop := errors.New("enough")
	n := 0
	if err := Frames(seg, func(time.Duration, *image.RGBA) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Frames = %v after %d frames, want %v after 1", err, n, stop)
	}
	if err := Frames([]byte("not an mp4 at all"), func(time.Duration, *image.RGBA) error { return nil }); !errors.Is(err, ErrFormat) {
		t.Errorf("Frames(garbage) = %v, want ErrFormat", err)
	}
}

// FuzzFrames: whatever the bytes, Frames calls fn only with plausible images, or fails; it never
// panics.
func FuzzFrames(f *testing.F) {
	seg := fuzzSegment(f)
	f.Add(seg)
	f.Add(seg[:len(seg)/2])
	bad := bytes.Clone(seg)
	bad[len(bad)/3] ^= 0x55
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		Frames(b, func(_ time.Duration, img *image.RGBA) error {
			if s := img.Bounds().Size(); s.X < 1 || s.Y < 1 || len(img.Pix) < s.X*s.Y*4 {
				t.Fatalf("image of %v", s)
			}
			return nil
		})
	})
}
