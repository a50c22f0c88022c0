package encode

import (
	"testing"

	"github.com/seed18fc72c3/vigil/encode/term"
)

// TestScreenWorkerSizeBounded: the recorder's screen model keeps its size (which a resync after a
// flood reuses) within 1..term.MaxSide whatever size the session's events carry.
func TestScreenWorkerSizeBounded(t *testing.T) {
	for _, tc := range []struct {
		name               string
		start, resize      [2]int
		wantCols, wantRows int
	}{
		{"sane", [2]int{80, 24}, [2]int{100, 30}, 100, 30},
		{"huge start", [2]int{65535, 2}, [2]int{0, 0}, term.MaxSide, 2},
		{"huge resize cols", [2]int{80, 24}, [2]int{65535, 2}, term.MaxSide, 2},
		{"huge resize rows", [2]int{80, 24}, [2]int{2, term.MaxSide + 1}, 2, term.MaxSide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startScreen(tc.start[0], tc.start[1])
			defer w.stop()
			if tc.resize != [2]int{} {
				w.resize(tc.resize[0], tc.resize[1])
			}
			w.output([]byte("hello"))
			if kf := <-w.keyframe(); len(kf) == 0 {
				t.Error("empty keyframe")
			}
			w.mu.Lock()
			cols, rows := w.cols, w.rows
			w.mu.Unlock()
			if cols != tc.wantCols || rows != tc.wantRows {
				t.Errorf("size %dx%d, want %dx%d", cols, rows, tc.wantCols, tc.wantRows)
			}
		})
	}
}
