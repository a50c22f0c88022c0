package redact

import "testing"

// FuzzTracker feeds arbitrary output and input cut at arbitrary points. Beyond not panicking, a
// split must not change the outcome when the output ends in a line shorter than the window.
func FuzzTracker(f *testing.F) {
	for _, tc := range promptCases {
		f.Add([]byte(tc.out), uint8(3), []byte("pw\r"))
	}
	f.Add([]byte("\x1b]0;\x1b[\x1b\x1b\\\xff\xfePassword:"), uint8(1), []byte("\x03\x7f"))
	f.Fuzz(func(t *testing.T, out []byte, cut uint8, in []byte) {
		whole := NewTracker(nil)
		whole.Output(out)
		split := NewTracker(nil)
		step := int(cut) + 1
		for i := 0; i < len(out); i += step {
			split.Output(out[i:min(i+step, len(out))])
		}
		if len(out) <= window && whole.Secret() != split.Secret() {
			t.Fatalf("chunks of %d changed Secret(): whole %v, split %v", step, whole.Secret(), split.Secret())
		}
		whole.Input(in)
		whole.Output(out)
		whole.Input(in)
		_ = whole.Secret()
		if whole.n > lineCap || whole.ntyped < 0 {
			t.Fatalf("bounds broken: n=%d", whole.n)
		}
	})
}
