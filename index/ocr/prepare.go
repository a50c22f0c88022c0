package ocr

import (
	"image"
	"strconv"
)

// prepare turns block r of img into the image tesseract reads best: black ink on white paper,
// scale times larger, as a binary PGM (which leptonica decodes from memory without the cost of
// compressing a PNG). buf is reused when large enough.
//
// Tesseract's models are trained on dark print on white paper, so each pixel becomes its colour
// distance from the block's background (the commonest colour of its border, which block cutting
// leaves as padding), stretched so the strongest ink is black. This inverts dark panes (light
// text on a dark terminal becomes dark on white) and also rescues coloured text that plain grey
// loses: yellow or cyan syntax colours on white are nearly as bright as the background. Screen
// fonts are 8-16 px tall, under the x-height tesseract prefers, hence the upscale; interpolating
// (rather than repeating pixels) keeps the strokes' edges smooth.
func prepare(buf []byte, img *image.RGBA, r image.Rectangle, scale int) []byte {
	r = r.Intersect(img.Bounds())
	w, h := r.Dx(), r.Dy()
	if w == 0 || h == 0 {
		return buf[:0]
	}
	bg := background(img, r)
	const margin = 4
	// ink[i] is pixel i's distance from the background: the largest channel difference.
	ink := make([]byte, w*h)
	var most byte
	for y := 0; y < h; y++ {
		src := img.Pix[img.PixOffset(r.Min.X, r.Min.Y+y):][: w*4 : w*4]
		dst := ink[y*w : (y+1)*w]
		for x := range dst {
			p := src[x*4 : x*4+3 : x*4+3]
			d := max(absDiff(p[0], bg[0]), absDiff(p[1], bg[1]), absDiff(p[2], bg[2]))
			dst[x] = d
			most = max(most, d)
		}
	}
	// Stretch so the strongest ink is black, but never amplify faint noise more than 4x.
	most = max(most, 64)
	var lut [256]byte
	for i := range lut {
		lut[i] = byte(255 - min(255, i*255/int(most)))
	}

	// A white margin: blocks are trimmed to their ink, and tesseract misreads glyphs that touch
	// the image's edge.
	m := margin * scale
	ow, oh := w*scale+2*m, h*scale+2*m
	hdr := "P5\n" + strconv.Itoa(ow) + " " + strconv.Itoa(oh) + "\n255\n"
	need := len(hdr) + ow*oh
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	copy(buf, hdr)
	out := buf[len(hdr):]
	for i := range out {
		out[i] = 255
	}
	for oy := 0; oy < h*scale; oy++ {
		sy, fy := oy/scale, oy%scale
		r0 := ink[sy*w : (sy+1)*w]
		r1 := ink[min(sy+1, h-1)*w:][:w]
		dst := out[(oy+m)*ow+m:][:w*scale]
		for ox := range dst {
			sx, fx := ox/scale, ox%scale
			sx1 := min(sx+1, w-1)
			// Bilinear weights in units of 1/scale^2.
			a := int(r0[sx])*(scale-fx) + int(r0[sx1])*fx
			b := int(r1[sx])*(scale-fx) + int(r1[sx1])*fx
			dst[ox] = lut[(a*(scale-fy)+b*fy)/(scale*scale)]
		}
	}
	return buf
}

func absDiff(a, b byte) byte {
	if a > b {
		return a - b
	}
	return b - a
}

// background returns the commonest colour of r, from a sample of every third pixel of every third
// row: in a block of text the background outnumbers the ink.
func background(img *image.RGBA, r image.Rectangle) [3]byte {
	count := make(map[[3]byte]int, 16)
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			p := img.Pix[img.PixOffset(x, y):]
			count[[3]byte{p[0], p[1], p[2]}]++
		}
	}
	var best [3]byte
	n := -1
	for c, k := range count {
		if k > n || k == n && less(c, best) {
			best, n = c, k
		}
	}
	return best
}

func less(a, b [3]byte) bool {
	return a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && a[2] < b[2])
}
