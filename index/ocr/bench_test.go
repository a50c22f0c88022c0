package ocr

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// BenchmarkAccuracy prints the fixtures' score (make bench shows it): the fraction of
// ground-truth words read, and the CPU seconds one pass over all the screenshots took.
func BenchmarkAccuracy(b *testing.B) {
	p := startPool(b, DefaultConfig())
	var found, total int
	cpu0 := p.Stats().CPU
	for b.Loop() {
		found, total = scoreFixtures(b, p)
	}
	b.ReportMetric(float64(found)/float64(total), "words_found/total")
	b.ReportMetric((p.Stats().CPU-cpu0).Seconds()/float64(b.N), "cpu_s/pass")
}

// BenchmarkScreen measures the CPU seconds of OCR per changed 1080p screen (the desktop fixture:
// five windows), for the typical damage of an admin's action and for the whole frame.
func BenchmarkScreen(b *testing.B) {
	desk, _ := loadScene(b, "desktop")
	cases := []struct {
		name   string
		damage []image.Rectangle
	}{
		// A few characters typed at the prompt of the dark terminal (at 1000,20 on the desktop).
		{"typed-word", []image.Rectangle{image.Rect(1010, 248, 1060, 262)}},
		// A command and two lines of its output in the dark terminal.
		{"command-3-lines", []image.Rectangle{image.Rect(1003, 188, 1440, 236)}},
		// A dialog popping up (xmessage at 1250,440).
		{"dialog", []image.Rectangle{image.Rect(1250, 440, 1650, 525)}},
		// A new screenful in the light terminal (at 20,20): 15 lines of 96 columns.
		{"terminal-screenful", []image.Rectangle{image.Rect(20, 20, 890, 310)}},
		{"full-frame", nil},
	}
	p := startPool(b, DefaultConfig())
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cpu0, proc0 := p.Stats().CPU, processCPU()
			var n int
			for b.Loop() {
				texts, err := p.Recognize(context.Background(), desk, c.damage)
				if err != nil {
					b.Fatal(err)
				}
				n = len(texts)
			}
			b.ReportMetric((p.Stats().CPU-cpu0).Seconds()/float64(b.N), "cpu_s/screen")
			// The whole process's CPU, as a check that tesseract did not use other threads.
			b.ReportMetric((processCPU()-proc0).Seconds()/float64(b.N), "proc_cpu_s/screen")
			b.ReportMetric(float64(n), "lines")
		})
	}
}

// BenchmarkSessions runs 20 graphical sessions through Watch at once, each changing a few lines
// of its 1080p screen at an admin's pace (every 2-6 s, at random), with the default pool (one
// worker) and watch settings, for 30 s of wall time per iteration; run it with -benchtime=1x.
// It reports the deepest queue seen, the reads done and dropped, and the CPU the workers used
// per second.
func BenchmarkSessions(b *testing.B) {
	const sessions = 20
	const run = 30 * time.Second
	desk, _ := loadScene(b, "desktop")
	light, _ := loadScene(b, "light")
	dark, _ := loadScene(b, "dark")
	for b.Loop() {
		p := startPool(b, DefaultConfig())
		ctx, cancel := context.WithTimeout(context.Background(), run)
		var wg sync.WaitGroup
		var changes atomic.Int64
		var maxWait atomic.Int64
		var emitted atomic.Int64
		for s := range sessions {
			ring, err := capture.New(capture.Config{ArenaBytes: 64 << 20, Records: 64 << 10, MaxRead: 1 << 20, StallTimeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer ring.Close()
			rd := ring.NewReader(capture.Lossy)
			screen := image.NewRGBA(desk.Bounds())
			draw.Draw(screen, screen.Bounds(), desk, image.Point{}, draw.Src)
			wg.Add(2)
			go func() {
				defer wg.Done()
				defer rd.Close()
				if err := p.Watch(ctx, rd, screen, DefaultWatchConfig(), func(Result) { emitted.Add(1) }); err != nil {
					b.Error(err)
				}
			}()
			go func() { // the session: a few new lines every 2-6 s
				defer wg.Done()
				em := &frame.Emitter{W: ring.NewProducer(), MaxPayload: 1 << 20}
				rng := rand.New(rand.NewPCG(uint64(s), 7))
				for {
					select {
					case <-ctx.Done():
						return
					case <-time.After(2*time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))):
					}
					src := light
					if rng.IntN(2) == 0 {
						src = dark
					}
					// Three lines of a fixture window, pasted at a random place.
					sy := rng.IntN(src.Bounds().Dy() - 60)
					band := image.Rect(0, sy, 600, sy+50).Intersect(src.Bounds())
					at := image.Pt(rng.IntN(1920-band.Dx()), rng.IntN(1080-band.Dy()))
					dst := band.Sub(band.Min).Add(at)
					draw.Draw(screen, dst, src, band.Min, draw.Src)
					if err := em.Update(screen, []image.Rectangle{dst}); err != nil {
						return
					}
					changes.Add(1)
				}
			}()
		}
		go func() {
			for ctx.Err() == nil {
				if w := int64(p.Stats().Waiting); w > maxWait.Load() {
					maxWait.Store(w)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		wg.Wait()
		cancel()
		st := p.Stats()
		b.ReportMetric(float64(maxWait.Load()), "queue_max")
		b.ReportMetric(float64(st.Done), "reads_done")
		b.ReportMetric(float64(st.Dropped), "reads_dropped")
		b.ReportMetric(float64(changes.Load()), "changes")
		b.ReportMetric(float64(emitted.Load()), "results")
		b.ReportMetric(st.CPU.Seconds()/run.Seconds(), "cpu_s/s")
		b.Log(fmt.Sprintf("%d sessions, %v: %+v", sessions, run, st))
	}
}

// processCPU returns the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
