package eventlog

import (
	"bytes"
	"testing"
	"time"
)

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkSizeHour records a synthetic one-hour shell session (input and output, as the event
// log always keeps both) as an event log and as asciicast v2 with input, in the same run, and
// reports both sizes and their ratio.
func BenchmarkSizeHour(b *testing.B) {
	recs := synthSession(42, time.Hour)
	var evlog, cast int64
	for b.Loop() {
		var seg bytes.Buffer
		w, err := NewWriter(&seg, testHeader, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		var cw countWriter
		if err := (Asciicast{Input: true}).Export(&cw, bytes.NewReader(seg.Bytes())); err != nil {
			b.Fatal(err)
		}
		evlog, cast = int64(seg.Len()), cw.n
	}
	hours := recs[len(recs)-1].Time.Hours()
	b.ReportMetric(float64(evlog)/hours, "eventlog-bytes/hour")
	b.ReportMetric(float64(cast)/hours, "asciicast-bytes/hour")
	b.ReportMetric(float64(cast)/float64(evlog), "ratio")
	b.ReportMetric(float64(len(recs)), "records")
}

// TestSizeTarget keeps the 4x target true without running the benchmark.
func TestSizeTarget(t *testing.T) {
	recs := synthSession(43, 10*time.Minute)
	seg := encode(t, testHeader, nil, recs)
	var cw countWriter
	if err := (Asciicast{Input: true}).Export(&cw, bytes.NewReader(seg)); err != nil {
		t.Fatal(err)
	}
	if ratio := float64(cw.n) / float64(len(seg)); ratio < 4 {
		t.Fatalf("event log %d bytes, asciicast %d: ratio %.2f, want at least 4", len(seg), cw.n, ratio)
	}
}
