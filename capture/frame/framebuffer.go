package frame

import (
	"fmt"
	"image"
)

// Framebuffer rebuilds a remote screen from damage events: the screen model of graphical sessions,
// used by the video encoder, viewers, shadows and OCR alike. Not safe for concurrent use.
type Framebuffer struct {
	img    *image.RGBA
	dirty  []image.Rectangle // changed since the last TakeDirty, in order of arrival
	frames uint64            // Frame events applied
	resize bool              // the size changed since the last TakeDirty
}

// NewFramebuffer returns a black w x h screen. w and h are clamped to [1, MaxSide].
func NewFramebuffer(w, h int) *Framebuffer {
	f := &Framebuffer{}
	f.reset(w, h)
	return f
}

func (f *Framebuffer) reset(w, h int) {
	w, h = min(max(w, 1), MaxSide), min(max(h, 1), MaxSide)
	f.img = image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(f.img.Pix); i += 4 {
		f.img.Pix[i] = 0xff
	}
	f.dirty = append(f.dirty[:0], f.img.Bounds())
	f.resize = true
}

// Image returns the screen. It is the Framebuffer's own memory: valid until the next Apply.
func (f *Framebuffer) Image() *image.RGBA { return f.img }

// Frames returns how many Frame events have been applied.
func (f *Framebuffer) Frames() uint64 { return f.frames }

// Snapshot returns a copy of the screen.
func (f *Framebuffer) Snapshot() *image.RGBA {
	c := *f.img
	c.Pix = append([]byte(nil), f.img.Pix...)
	return &c
}

// Load replaces the screen with a copy of img (a viewer resyncing from a session's snapshot).
func (f *Framebuffer) Load(img *image.RGBA) {
	b := img.Bounds()
	if f.img.Bounds() != image.Rect(0, 0, b.Dx(), b.Dy()) {
		f.reset(b.Dx(), b.Dy())
	}
	for y := 0; y < b.Dy(); y++ {
		copy(f.img.Pix[y*f.img.Stride:y*f.img.Stride+b.Dx()*4], img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):])
	}
	f.dirty = append(f.dirty[:0], f.img.Bounds())
}

// TakeDirty returns the rectangles changed since the last call (possibly overlapping, in order of
// arrival; a size change reports the whole screen) and whether the size changed, and forgets them.
func (f *Framebuffer) TakeDirty() (rects []image.Rectangle, resized bool) {
	rects, resized = f.dirty, f.resize
	f.dirty, f.resize = nil, false
	return rects, resized
}

// Apply applies one damage payload and returns it parsed. A rectangle outside the screen, or a
// copy from outside it, returns an error wrapping ErrMalformed and leaves the screen unchanged.
// Cursor payloads are parsed and returned but do not change the screen.
func (f *Framebuffer) Apply(p []byte) (Damage, error) {
	d, err := Parse(p)
	if err != nil {
		return d, err
	}
	bounds := f.img.Bounds()
	switch d.Kind {
	case KindPixels:
		if !d.Rect.In(bounds) {
			return d, fmt.Errorf("apply pixels %v outside %v: %w", d.Rect, bounds, ErrMalformed)
		}
		if d.Rect.Empty() {
			return d, nil
		}
		w := d.Rect.Dx() * 4
		for y := 0; y < d.Rect.Dy(); y++ {
			row := f.img.Pix[f.img.PixOffset(d.Rect.Min.X, d.Rect.Min.Y+y):][:w]
			copy(row, d.Pix[y*w:(y+1)*w])
			for i := 3; i < w; i += 4 {
				row[i] = 0xff
			}
		}
		f.dirty = append(f.dirty, d.Rect)
	case KindCopy:
		src := image.Rectangle{Min: d.Src, Max: d.Src.Add(d.Rect.Size())}
		if !d.Rect.In(bounds) || !src.In(bounds) {
			return d, fmt.Errorf("apply copy %v from %v outside %v: %w", d.Rect, d.Src, bounds, ErrMalformed)
		}
		if d.Rect.Empty() {
			return d, nil
		}
		copyRect(f.img, d.Rect, d.Src)
		f.dirty = append(f.dirty, d.Rect)
	case KindFrame:
		f.frames++
	case KindSize:
		if d.Rect.Empty() || d.Rect.Dx() > MaxSide || d.Rect.Dy() > MaxSide {
			return d, fmt.Errorf("apply size %dx%d: %w", d.Rect.Dx(), d.Rect.Dy(), ErrMalformed)
		}
		f.reset(d.Rect.Dx(), d.Rect.Dy())
	}
	return d, nil
}

// copyRect copies the pixels at src into r within one image, handling overlap (a scroll).
func copyRect(img *image.RGBA, r image.Rectangle, src image.Point) {
	w := r.Dx() * 4
	h := r.Dy()
	row := func(y int) { // y in [0,h)
		d := img.PixOffset(r.Min.X, r.Min.Y+y)
		s := img.PixOffset(src.X, src.Y+y)
		copy(img.Pix[d:d+w], img.Pix[s:s+w]) // copy handles overlap within a row
	}
	if src.Y < r.Min.Y { // moving down: copy bottom rows first
		for y := h - 1; y >= 0; y-- {
			row(y)
		}
		return
	}
	for y := 0; y < h; y++ {
		row(y)
	}
}
