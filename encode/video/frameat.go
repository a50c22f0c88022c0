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
	var best *image.RGBA
	_, err := decodeFrames(seg, func(p *yuvPlanes, at time.Duration) error {
		if at > t {
			return errStop
		}
		best = p.toRGBA(p.w, p.h)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if best == nil {
		return nil, ErrNoFrame
	}
	return best, nil
}

// errStop ends decodeFrames early without an error.
var errStop = errors.New("stop")

// decodeFrames decodes seg and calls fn with each frame (valid only during the call) and its
// time, in order, until fn returns an error. It returns the segment's end as FFmpeg reads it.
func decodeFrames(seg []byte, fn func(p *yuvPlanes, at time.Duration) error) (time.Duration, error) {
	in, err := openMem(seg)
	if err != nil {
		return 0, err
	}
	defer in.close()
	end := time.Duration(in.fc.Duration()) * time.Microsecond
	codec := astiav.FindDecoder(astiav.CodecIDH264)
	if codec == nil {
		return 0, fmt.Errorf("video: decode: no h264 decoder in this FFmpeg")
	}
	cc := astiav.AllocCodecContext(codec)
	defer cc.Free()
	if err := in.video.CodecParameters().ToCodecContext(cc); err != nil {
		return 0, fmt.Errorf("video: decode: %w: %w", ErrFormat, err)
	}
	cc.SetThreadCount(1)
	if err := cc.Open(codec, nil); err != nil {
		return 0, fmt.Errorf("video: decode: open decoder: %w", err)
	}
	tb := in.video.TimeBase()
	pkt, fr := astiav.AllocPacket(), astiav.AllocFrame()
	defer pkt.Free()
	defer fr.Free()
	take := func() error {
		for {
			if err := cc.ReceiveFrame(fr); err != nil {
				if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
					return nil
				}
				return fmt.Errorf("video: decode: %w", err)
			}
			if fr.PixelFormat() != astiav.PixelFormatYuv420P {
				fr.Unref()
				return fmt.Errorf("video: decode: pixel format %v: %w", fr.PixelFormat(), ErrFormat)
			}
			p, err := framePlanes(fr, false)
			if err == nil {
				at := time.Duration(astiav.RescaleQ(fr.Pts(), tb, astiav.NewRational(1, 1000000))) * time.Microsecond
				err = fn(&p, at)
			}
			fr.Unref()
			if err != nil {
				return err
			}
		}
	}
	for {
		err := in.fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("video: decode: read: %w: %w", ErrFormat, err)
		}
		err = cc.SendPacket(pkt)
		pkt.Unref()
		if err != nil {
			return 0, fmt.Errorf("video: decode: %w", err)
		}
		if err := take(); err != nil {
			return 0, err
		}
	}
	if err := cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return 0, fmt.Errorf("video: decode: flush: %w", err)
	}
	return end, take()
}
