package video

import (
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/asticode/go-astiav"
)

// FrameAt decodes the frame of video segment seg shown at session time t: the last frame whose
// pts is at or before t. It returns ErrNoFrame if t is before the segment's first frame, and
// ErrFormat for bytes that are not a video segment. The image has the encoded (even) size.
//
// It decodes from the segment's first frame (its only keyframe), so it costs up to a segment of
// decoding: meant for tests and reindexing, not for playback.
func FrameAt(seg []byte, t time.Duration) (*image.RGBA, error) {
	in, err := openMem(seg)
	if err != nil {
		return nil, err
	}
	defer in.close()
	codec := astiav.FindDecoder(astiav.CodecIDH264)
	if codec == nil {
		return nil, fmt.Errorf("video: frame at: no h264 decoder in this FFmpeg")
	}
	cc := astiav.AllocCodecContext(codec)
	defer cc.Free()
	if err := in.video.CodecParameters().ToCodecContext(cc); err != nil {
		return nil, fmt.Errorf("video: frame at: %w: %w", ErrFormat, err)
	}
	cc.SetThreadCount(1)
	if err := cc.Open(codec, nil); err != nil {
		return nil, fmt.Errorf("video: frame at: open decoder: %w", err)
	}
	tb := in.video.TimeBase()
	limit := astiav.RescaleQ(t.Microseconds(), astiav.NewRational(1, 1000000), tb)
	pkt, fr := astiav.AllocPacket(), astiav.AllocFrame()
	defer pkt.Free()
	defer fr.Free()
	var best *image.RGBA
	take := func() (done bool, err error) {
		for {
			if err := cc.ReceiveFrame(fr); err != nil {
				if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
					return false, nil
				}
				return false, fmt.Errorf("video: frame at: decode: %w", err)
			}
			if fr.Pts() > limit {
				fr.Unref()
				return true, nil
			}
			if fr.PixelFormat() != astiav.PixelFormatYuv420P {
				fr.Unref()
				return false, fmt.Errorf("video: frame at: pixel format %v: %w", fr.PixelFormat(), ErrFormat)
			}
			p, err := framePlanes(fr, false)
			if err != nil {
				fr.Unref()
				return false, err
			}
			best = p.toRGBA(p.w, p.h)
			fr.Unref()
		}
	}
	for {
		err := in.fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("video: frame at: read: %w: %w", ErrFormat, err)
		}
		err = cc.SendPacket(pkt)
		pkt.Unref()
		if err != nil {
			return nil, fmt.Errorf("video: frame at: decode: %w", err)
		}
		if done, err := take(); err != nil || done {
			return finish(best, err)
		}
	}
	if err := cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return nil, fmt.Errorf("video: frame at: flush: %w", err)
	}
	_, err = take()
	return finish(best, err)
}

func finish(best *image.RGBA, err error) (*image.RGBA, error) {
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, ErrNoFrame
	}
	return best, nil
}
