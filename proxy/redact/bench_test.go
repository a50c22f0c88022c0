package redact

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkOutput measures the cost the tracker adds to every byte of target output, for chunk
// sizes from a keystroke echo to a full SSH channel window.
func BenchmarkOutput(b *testing.B) {
	text := []byte(strings.Repeat("\x1b[01;34mdrwxr-xr-x\x1b[0m  2 alice alice 4096 Jan  1 00:00 src\r\n", 1000))
	for _, size := range []int{64, 512, 4096, 32768} {
		b.Run(fmt.Sprintf("chunk=%d", size), func(b *testing.B) {
			tr := NewTracker(nil)
			chunk := text[:size]
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				tr.Output(chunk)
			}
		})
	}
}

// BenchmarkKeystroke measures the per-keystroke path: the prompt check and the input scan.
func BenchmarkKeystroke(b *testing.B) {
	tr := NewTracker(nil)
	out := []byte("\x1b[1m[sudo] password for alice:\x1b[0m ")
	in := []byte("x")
	b.ReportAllocs()
	for b.Loop() {
		tr.Output(out)
		tr.Secret()
		tr.Input(in)
	}
}
