package video

import (
	"errors"
	"image"
	"time"
)

// FrameAt decodes the frame of video segment seg shown at session time t: the last frame whose
// pts is at or before t. It returns ErrNoFrame if t is before the segment's first frame, and
// ErrFormat for bytes that are not a video segment. The image has the encoded (even) size.
func FrameAt(seg []byte, t time.Duration) (*image.RGBA, error) {
	return nil, errors.ErrUnsupported
}
