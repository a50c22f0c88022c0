package ocr

import (
	"bytes"
	"fmt"
)

// fmtSscan parses a PGM header's width and height and checks the pixel bytes match them.
func fmtSscan(pgm []byte, w, h *int) (int, error) {
	var maxv int
	n, err := fmt.Sscanf(string(pgm), "P5\n%d %d\n%d\n", w, h, &maxv)
	if err != nil {
		return n, err
	}
	hdr := fmt.Sprintf("P5\n%d %d\n%d\n", *w, *h, maxv)
	if !bytes.HasPrefix(pgm, []byte(hdr)) || len(pgm)-len(hdr) != *w**h {
		return n, fmt.Errorf("pgm of %d bytes does not match header %q", len(pgm), hdr)
	}
	return n, nil
}
