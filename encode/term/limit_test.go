package term

import "testing"

// TestSizeBounded: sizes outside 1..MaxSide, which a hostile client or a damaged recording may
// carry, are clamped by NewScreen and Resize instead of becoming an emulator of that many cells.
// The out-of-range sizes here are kept small in cells so that, without the bound, the test fails
// rather than exhausting memory.
func TestSizeBounded(t *testing.T) {
	for _, tc := range []struct {
		name               string
		cols, rows         int
		wantCols, wantRows int
	}{
		{"classic", 80, 24, 80, 24},
		{"zero", 0, 0, 1, 1},
		{"negative", -5, -1, 1, 1},
		{"max-1", MaxSide - 1, 2, MaxSide - 1, 2},
		{"max", MaxSide, 2, MaxSide, 2},
		{"max+1 cols", MaxSide + 1, 2, MaxSide, 2},
		{"max+1 rows", 2, MaxSide + 1, 2, MaxSide},
		{"wide", 65535, 1, MaxSide, 1},
		{"tall", 1, 65535, 1, MaxSide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewScreen(tc.cols, tc.rows)
			if c, r := s.Size(); c != tc.wantCols || r != tc.wantRows {
				t.Errorf("NewScreen(%d, %d) size %dx%d, want %dx%d", tc.cols, tc.rows, c, r, tc.wantCols, tc.wantRows)
			}
			s = NewScreen(80, 24)
			s.Resize(tc.cols, tc.rows)
			if c, r := s.Size(); c != tc.wantCols || r != tc.wantRows {
				t.Errorf("Resize(%d, %d) size %dx%d, want %dx%d", tc.cols, tc.rows, c, r, tc.wantCols, tc.wantRows)
			}
			s.Write([]byte("still\r\nworks"))
			if got := s.Text(); len(got) != tc.wantRows {
				t.Errorf("%d lines of text, want %d", len(got), tc.wantRows)
			}
		})
	}
}
