package player

import (
	"errors"
	"io"
	"log/slog"
	"testing"
)

// bareDesktop hides a fake's EndCause: a Desktop that cannot name its cause.
type bareDesktop struct{ Desktop }

// TestDesktopEndCause: the browser is told the Desktop's own short cause, or only that the session
// ended; never the text of Err, which may name the target's address.
func TestDesktopEndCause(t *testing.T) {
	const detail = "target closed the connection: read tcp 10.9.8.7:5900: connection reset by peer"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name  string
		err   error
		cause string // the Desktop's EndCause
		bare  bool   // the Desktop has no EndCause
		want  string
	}{
		{"not ended", nil, "", false, endedCause},
		{"named", errors.New(detail), "target closed the connection", false, "target closed the connection"},
		{"unnamed", errors.New(detail), "", false, endedCause},
		{"no causer", errors.New(detail), "", true, endedCause},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := &fakeDesktop{id: "d1", err: tc.err, endCause: tc.cause}
			var d Desktop = fd
			if tc.bare {
				d = bareDesktop{fd}
			}
			if got := endCause(d, log); got != tc.want {
				t.Errorf("cause %q, want %q", got, tc.want)
			}
		})
	}
}
