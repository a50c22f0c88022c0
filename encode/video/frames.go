package video

import (
	"errors"
	"image"
	"time"
)

// Frames decodes video segment seg once and calls fn with each frame in presentation order and
// its session time (the pts, FORMAT.md). img is reused for the next frame: fn must copy what it
// keeps. Frames returns fn's first error as it is (so a caller can stop early with a sentinel of
// its own), ErrFormat for bytes that are not a video segment, or a decoding error.
//
// It is for work that visits a whole recording (OCR reindexing): one decode per segment, where
// FrameAt would decode from the keyframe again for every frame.
func Frames(seg []byte, fn func(t time.Duration, img *image.RGBA) error) error {
	var img *image.RGBA
	var ferr error
	_, err := decodeFrames(seg, func(p *yuvPlanes, at time.Duration) error {
		if img == nil || img.Rect.Dx() != p.w || img.Rect.Dy() != p.h {
			img = image.NewRGBA(image.Rect(0, 0, p.w, p.h))
		}
		p.fillRGBA(img)
		if ferr = fn(at, img); ferr != nil {
			return errStop // keep decodeFrames from wrapping fn's error
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// fillRGBA converts p into img (the planes' size) as toRGBA does, without allocating.
func (p *yuvPlanes) fillRGBA(img *image.RGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		yr := p.y[y*p.yStride:]
		ur := p.u[(y/2)*p.cStride:]
		vr := p.v[(y/2)*p.cStride:]
		out := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			l := cY * (int32(yr[x]) - yOff)
			u, v := int32(ur[x/2])-uvOff, int32(vr[x/2])-uvOff
			out[4*x] = clamp8((l + cRV*v + fixHalf) >> 16)
			out[4*x+1] = clamp8((l + cGU*u + cGV*v + fixHalf) >> 16)
			out[4*x+2] = clamp8((l + cBU*u + fixHalf) >> 16)
			out[4*x+3] = 0xff
		}
	}
}
