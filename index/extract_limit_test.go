package index

import (
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/encode/term"
)

// TestExtractorSizeBounded: the sizes an extractor is made with or resized to (from a recording,
// which may be old or damaged) are clamped to 1..term.MaxSide, and text is still found after.
func TestExtractorSizeBounded(t *testing.T) {
	for _, tc := range []struct {
		name               string
		cols, rows         int    // the start
		resize             [2]int // a resize event's size; zero for none
		wantCols, wantRows int
	}{
		{"sane", 80, 24, [2]int{100, 30}, 100, 30},
		{"unknown", 0, 0, [2]int{}, 80, 24},
		{"wide start", 65535, 2, [2]int{}, term.MaxSide, 2},
		{"tall start", 2, term.MaxSide + 1, [2]int{}, 2, term.MaxSide},
		{"wide resize", 80, 24, [2]int{65535, 3}, term.MaxSide, 3},
		{"tall resize", 80, 24, [2]int{40, 65535}, 40, term.MaxSide},
		{"max", 80, 24, [2]int{term.MaxSide, 2}, term.MaxSide, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []Line
			x := NewExtractor(tc.cols, tc.rows, func(l Line) { lines = append(lines, l) })
			if tc.resize != [2]int{} {
				x.Event(time.Millisecond, capture.TypeResize, capture.ResizePayload(uint16(tc.resize[0]), uint16(tc.resize[1])))
			}
			if x.cols != tc.wantCols || x.rows != tc.wantRows {
				t.Errorf("size %dx%d, want %dx%d", x.cols, x.rows, tc.wantCols, tc.wantRows)
			}
			if c, r := x.vt.Size(); c != tc.wantCols || r != tc.wantRows {
				t.Errorf("emulator size %dx%d, want %dx%d", c, r, tc.wantCols, tc.wantRows)
			}
			x.Event(2*time.Millisecond, capture.TypeOutput, []byte("xyzzy"))
			x.Flush(time.Second)
			if got := texts(lines, KindScreen); len(got) == 0 {
				t.Errorf("no screen text after the resize: %+v", lines)
			}
		})
	}
}
