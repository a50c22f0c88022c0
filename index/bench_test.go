package index

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
)

// Benchmarks of the "search over text sessions" issue; docs/benchmarks.md has the figures.
//
//	go test -run '^$' -bench . -benchtime 3x ./index/
//
// The query benchmarks use an index of benchLines lines built once and kept in
// os.TempDir()/vigil-bench-index-<benchIndexVersion> for later runs; delete it to rebuild.

const (
	benchLines        = 1_000_000
	benchSessions     = 100
	benchIndexVersion = "v2"
)

// lineGen makes realistic terminal lines: log lines, ls -l rows, ps rows and shell commands over
// a Zipf-distributed vocabulary, 40-120 bytes.
type lineGen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	words []string
}

func newLineGen(seed uint64) *lineGen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &lineGen{r: r, zipf: rand.NewZipf(r, 1.1, 2, 19999)}
	base := []string{"error", "warning", "info", "nginx", "systemd", "kernel", "sshd", "postgres", "root",
		"connection", "refused", "timeout", "started", "stopped", "service", "failed", "accepted",
		"session", "opened", "closed", "user", "port", "config", "restart", "reload", "disk", "memory"}
	for i := range 20000 {
		if i < len(base) {
			g.words = append(g.words, base[i])
			continue
		}
		n := 3 + r.IntN(8)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		g.words = append(g.words, string(b))
	}
	return g
}

func (g *lineGen) word() string { return g.words[g.zipf.Uint64()] }

func (g *lineGen) line() string {
	var b strings.Builder
	switch g.r.IntN(4) {
	case 0:
		fmt.Fprintf(&b, "Mar %2d %02d:%02d:%02d web%02d %s[%d]: ", 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60),
			g.r.IntN(60), g.r.IntN(50), g.word(), 100+g.r.IntN(30000))
	case 1:
		fmt.Fprintf(&b, "-rw-r--r-- 1 %s %s %8d Mar %2d %02d:%02d ", g.word(), g.word(), g.r.IntN(1<<24),
			1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60))
	case 2:
		fmt.Fprintf(&b, "%-8s %6d %4.1f %4.1f /usr/bin/", g.word(), 100+g.r.IntN(30000), g.r.Float64()*100, g.r.Float64()*10)
	default:
		fmt.Fprintf(&b, "%s@web%02d:~$ %s --%s=", g.word(), g.r.IntN(50), g.word(), g.word())
	}
	target := 40 + g.r.IntN(80)
	for b.Len() < target {
		b.WriteString(g.word())
		if g.r.IntN(5) == 0 {
			b.WriteByte('_')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// sessionLines returns n lines of one session, one every 200 ms, a command every tenth.
func sessionLines(g *lineGen, n int) ([]Line, int) {
	lines := make([]Line, n)
	bytes := 0
	for i := range lines {
		k := KindScreen
		if i%10 == 0 {
			k = KindCommand
		}
		lines[i] = Line{Offset: time.Duration(i) * 200 * time.Millisecond, Kind: k, Text: g.line()}
		bytes += len(lines[i].Text) + 1
	}
	return lines, bytes
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkIndexLines measures Bleve indexing of extracted lines (chunked documents): lines/s and
// the index size as a ratio of the text.
func BenchmarkIndexLines(b *testing.B) {
	const n = 100_000
	g := newLineGen(1)
	lines, textBytes := sessionLines(g, n)
	b.SetBytes(int64(textBytes))
	b.ReportAllocs()
	var size int64
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		dir := b.TempDir()
		ix, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := ix.AddLines(SessionInfo{ID: fmt.Sprintf("s%d", i), User: "u", Target: "t", Protocol: "ssh", Start: time.Now()}, lines); err != nil {
			b.Fatal(err)
		}
		if err := ix.Close(); err != nil { // waits for scorch to persist
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		size = dirSize(dir)
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(size)/float64(textBytes), "index/text")
}

// BenchmarkExtract measures the extractor (terminal emulator and line finding) on output that
// scrolls: the part of live indexing and reindexing that precedes Bleve.
func BenchmarkExtract(b *testing.B) {
	g := newLineGen(2)
	var out strings.Builder
	const n = 20_000
	for range n {
		out.WriteString(g.line())
		out.WriteString("\r\n")
	}
	data := []byte(out.String())
	b.SetBytes(int64(len(data)))
	lines := 0
	for b.Loop() {
		x := NewExtractor(120, 40, func(Line) { lines++ })
		for i := 0; i < len(data); i += 4096 {
			x.Event(time.Duration(i)*time.Microsecond, capture.TypeOutput, data[i:min(len(data), i+4096)])
		}
		x.Flush(time.Hour)
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// benchIndex opens the cached 1M-line index, building it when absent.
func benchIndex(b *testing.B) (*Index, time.Time) {
	dir := filepath.Join(os.TempDir(), "vigil-bench-index-"+benchIndexVersion)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		os.RemoveAll(dir)
		ix, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		g := newLineGen(3)
		t := time.Now()
		for s := range benchSessions {
			lines, _ := sessionLines(g, benchLines/benchSessions)
			info := SessionInfo{ID: fmt.Sprintf("bench%03d", s), User: fmt.Sprintf("user%d", s%7),
				Target: fmt.Sprintf("web%02d", s%13), Protocol: "ssh", Start: start.Add(time.Duration(s) * time.Hour)}
			if err := ix.AddLines(info, lines); err != nil {
				b.Fatal(err)
			}
		}
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d-line index in %v: %s", benchLines, time.Since(t), dir)
		os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600)
	}
	ix, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ix.Close() })
	return ix, start
}

// BenchmarkQuery measures query latency over 1M indexed lines, reporting p50 and p99.
func BenchmarkQuery(b *testing.B) {
	ix, start := benchIndex(b)
	queries := []struct {
		name string
		q    Query
	}{
		{"term", Query{Text: "refused"}},
		{"rare-term", Query{Text: "nginx"}},
		{"prefix", Query{Text: "connec*"}},
		{"phrase", Query{Text: `"connection refused"`}},
		{"phrase-in-time-range", Query{Text: `"connection refused"`,
			Since: start.Add(30 * time.Hour), Until: start.Add(32 * time.Hour)}},
		{"phrase-relevance", Query{Text: `"connection refused"`, Sort: ByRelevance}},
		// Rarer than its words: the loose plan's first page does not fill and the exact plan
		// reads on (the worst case of the loose plan).
		{"rare-phrase", Query{Text: `"refused connection timeout"`}},
	}
	for _, tt := range queries {
		b.Run(tt.name, func(b *testing.B) {
			var lat []time.Duration
			hits := 0
			for b.Loop() {
				t := time.Now()
				res, err := ix.Search(context.Background(), tt.q)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
				hits = len(res.Hits)
			}
			if hits == 0 {
				b.Fatalf("%s: no hits", tt.name)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
