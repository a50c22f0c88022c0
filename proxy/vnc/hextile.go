package vnc

import (
	"fmt"
	"image"
	"io"
)

// Hextile subencoding bits.
const (
	hextileRaw              = 1
	hextileBackground       = 2
	hextileForeground       = 4
	hextileAnySubrects      = 8
	hextileSubrectsColoured = 16
)

// hextile decodes r as 16x16 tiles, left to right, top to bottom. Background and foreground
// colours carry over from tile to tile within the rectangle, as the spec requires.
func (d *decoder) hextile(r image.Rectangle) error {
	var bg, fg [3]byte
	for ty := r.Min.Y; ty < r.Max.Y; ty += 16 {
		for tx := r.Min.X; tx < r.Max.X; tx += 16 {
			tile := image.Rect(tx, ty, min(tx+16, r.Max.X), min(ty+16, r.Max.Y))
			sub, err := d.r.ReadByte()
			if err != nil {
				return fmt.Errorf("vnc: read hextile: %w", err)
			}
			if sub&hextileRaw != 0 {
				if err := d.raw(tile); err != nil {
					return err
				}
				continue
			}
			if sub&hextileBackground != 0 {
				if bg, err = d.pixel4(); err != nil {
					return err
				}
			}
			d.fill(tile, bg)
			if sub&hextileForeground != 0 {
				if fg, err = d.pixel4(); err != nil {
					return err
				}
			}
			if sub&hextileAnySubrects == 0 {
				continue
			}
			n, err := d.r.ReadByte()
			if err != nil {
				return fmt.Errorf("vnc: read hextile: %w", err)
			}
			coloured := sub&hextileSubrectsColoured != 0
			for i := 0; i < int(n); i++ {
				c := fg
				if coloured {
					if c, err = d.pixel4(); err != nil {
						return err
					}
				}
				hdr := d.tmp[:2]
				if _, err := io.ReadFull(d.r, hdr); err != nil {
					return fmt.Errorf("vnc: read hextile subrect: %w", err)
				}
				sx, sy := int(hdr[0]>>4), int(hdr[0]&15)
				sw, sh := int(hdr[1]>>4)+1, int(hdr[1]&15)+1
				sr := image.Rect(tile.Min.X+sx, tile.Min.Y+sy, tile.Min.X+sx+sw, tile.Min.Y+sy+sh)
				if !sr.In(tile) {
					return fmt.Errorf("%w: hextile subrect %v outside tile %v", ErrProtocol, sr, tile)
				}
				d.fill(sr, c)
			}
		}
	}
	return nil
}

// pixel4 reads one 32-bit wire pixel and returns its R, G, B bytes.
func (d *decoder) pixel4() ([3]byte, error) {
	p := d.tmp[:4]
	if _, err := io.ReadFull(d.r, p); err != nil {
		return [3]byte{}, fmt.Errorf("vnc: read pixel: %w", err)
	}
	return [3]byte{p[0], p[1], p[2]}, nil
}
