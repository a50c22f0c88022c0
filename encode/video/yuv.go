package video

import "image"

// The conversions are written here rather than done by swscale so that only the changed
// rectangles are converted (a clock or a scrolled terminal is a small part of a 1080p screen), and
// so that encoding and decoding agree exactly on the matrix: BT.709, limited range, which the
// stream signals in its VUI (FORMAT.md). Fixed point with 16 fractional bits.
const (
	yR, yG, yB  = 11966, 40254, 4064   // 0.18259, 0.61423, 0.06201 (219/255 of BT.709's Kr, Kg, Kb)
	uR, uG, uB  = -6596, -22189, 28785 // -0.10064, -0.33857, 0.43922
	vR, vG, vB  = 28784, -26145, -2639 // 0.43922, -0.39894, -0.04028
	cY          = 76309                // 1.16438 (255/219)
	cRV         = 117489               // 1.79274
	cGU, cGV    = -13975, -34925       // -0.21325, -0.53291
	cBU         = 138438               // 2.11240
	fixHalf     = 1 << 15
	yOff, uvOff = 16, 128
)

// yuvPlanes is a 4:2:0 picture whose planes may be another owner's memory (an AVFrame's).
type yuvPlanes struct {
	y, u, v          []byte
	yStride, cStride int
	w, h             int // even
}

// convert writes the pixels of src (its Rect in screen coordinates) into p. src.Rect must start at
// even coordinates; where it ends at an odd one (only at the screen's right or bottom edge), the
// last column or row is repeated into the padding (FORMAT.md "Odd sizes").
func (p *yuvPlanes) convert(src *image.RGBA) {
	r := src.Rect.Intersect(image.Rect(0, 0, p.w, p.h))
	if r.Empty() {
		return
	}
	x1, y1 := (r.Max.X+1)&^1, (r.Max.Y+1)&^1
	x1, y1 = min(x1, p.w), min(y1, p.h)
	lastX, lastY := src.Rect.Max.X-1, src.Rect.Max.Y-1
	for y := r.Min.Y &^ 1; y < y1; y += 2 {
		row0 := src.Pix[src.PixOffset(src.Rect.Min.X, min(y, lastY)):]
		row1 := src.Pix[src.PixOffset(src.Rect.Min.X, min(y+1, lastY)):]
		yr0 := p.y[y*p.yStride:]
		yr1 := p.y[(y+1)*p.yStride:]
		ur := p.u[(y/2)*p.cStride:]
		vr := p.v[(y/2)*p.cStride:]
		for x := r.Min.X &^ 1; x < x1; x += 2 {
			i0 := (x - src.Rect.Min.X) * 4
			i1 := (min(x+1, lastX) - src.Rect.Min.X) * 4
			var sr, sg, sb int32
			for _, px := range [4][]byte{row0[i0 : i0+3], row0[i1 : i1+3], row1[i0 : i0+3], row1[i1 : i1+3]} {
				sr += int32(px[0])
				sg += int32(px[1])
				sb += int32(px[2])
			}
			yr0[x] = luma(row0[i0:])
			yr0[x+1] = luma(row0[i1:])
			yr1[x] = luma(row1[i0:])
			yr1[x+1] = luma(row1[i1:])
			// sr etc. are four pixels' sums: divide by 4 inside the fixed-point shift.
			ur[x/2] = uint8((uR*sr+uG*sg+uB*sb+4*fixHalf)>>18 + uvOff)
			vr[x/2] = uint8((vR*sr+vG*sg+vB*sb+4*fixHalf)>>18 + uvOff)
		}
	}
}

func luma(px []byte) uint8 {
	return uint8((yR*int32(px[0])+yG*int32(px[1])+yB*int32(px[2])+fixHalf)>>16 + yOff)
}

// toRGBA converts p to an opaque RGBA image of w x h (at most p's size).
func (p *yuvPlanes) toRGBA(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
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
	return img
}

func clamp8(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}
