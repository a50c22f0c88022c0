package video

import (
	"fmt"
	"image"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sessionSim drives the encoder as the Recorder does, on synthetic time: each b.N iteration is one
// second of a 1920x1080 session, with cuts every 5 s by default (each an IDR of the whole screen), so the
// figures scale to an hour without sleeping.
type sessionSim struct {
	b      *testing.B
	enc    *encoder
	screen *image.RGBA
	now    time.Duration
	start  time.Duration
	bytes  int64
	frames int
	cutLen time.Duration
}

func newSim(b *testing.B, o Options) *sessionSim {
	s := &sessionSim{b: b, screen: desktop(1920, 1080, 0), cutLen: o.withDefaults().SegmentDuration}
	var err error
	if s.enc, err = newEncoder(1920, 1080, o.withDefaults()); err != nil {
		b.Fatal(err)
	}
	s.cut()
	return s
}

func (s *sessionSim) cut() {
	if s.frames > 0 {
		seg, err := s.enc.end(s.now)
		if err != nil {
			s.b.Fatal(err)
		}
		s.bytes += int64(len(seg))
	}
	if err := s.enc.begin(s.now); err != nil {
		s.b.Fatal(err)
	}
	s.start = s.now
	s.frame(s.screen.Bounds())
}

// frame converts the changed rectangle r (grown to even coordinates, as the Recorder copies it) and
// encodes a frame now.
func (s *sessionSim) frame(r image.Rectangle) {
	r = image.Rect(r.Min.X&^1, r.Min.Y&^1, (r.Max.X+1)&^1, (r.Max.Y+1)&^1).Intersect(s.screen.Bounds())
	if err := s.enc.update(s.screen.SubImage(r).(*image.RGBA)); err != nil {
		s.b.Fatal(err)
	}
	if err := s.enc.encode(s.now); err != nil {
		s.b.Fatal(err)
	}
	s.frames++
}

// advance moves the clock, cutting every SegmentDuration as the Recorder does.
func (s *sessionSim) advance(d time.Duration) {
	s.now += d
	if s.now-s.start >= s.cutLen {
		s.cut()
	}
}

func (s *sessionSim) report(b *testing.B, cpu time.Duration) {
	seg, err := s.enc.end(s.now)
	if err != nil {
		b.Fatal(err)
	}
	s.bytes += int64(len(seg))
	s.enc.close()
	hours := s.now.Hours()
	cpuPerHour := cpu.Seconds() / hours
	b.ReportMetric(float64(s.bytes)/1e6/hours, "MB/hour")
	b.ReportMetric(cpuPerHour, "cpu-s/hour")
	b.ReportMetric(3600/cpuPerHour, "sessions/core")
	b.ReportMetric(float64(s.frames)/s.now.Seconds(), "frames/s")
}

// BenchmarkSessionHour: bytes and encoder CPU per session-hour at 1080p (targets in issue 8:
// at most 60 MB/hour quiet; at least 20 sessions per core at an admin's rate of change).
//
//	quiet:  a clock in the title bar changes once a second; the rest of the desktop is still.
//	scroll: the terminal scrolls a line twice a second, the clock ticks too.
//
// The desktop has a gradient wallpaper, a title bar and a terminal window of 100x40 or 100x24
// cells of glyph-like text (synth_test.go); the default options, and ultrafast for comparison.
func BenchmarkSessionHour(b *testing.B) {
	defer func(r int) { termRows = r }(termRows)
	for _, preset := range []string{"ultrafast", "veryfast"} {
		for _, rows := range []int{40, 24} {
			o := Options{Preset: preset}
			name := fmt.Sprintf("%s/term%d", preset, rows)
			termRows = rows
			b.Run("quiet/"+name, func(b *testing.B) {
				s := newSim(b, o)
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.advance(time.Second)
					s.frame(drawClock(s.screen, int(s.now/time.Second)))
				}
				b.StopTimer()
				s.report(b, cpuTime()-cpu0)
			})
			b.Run("scroll/"+name, func(b *testing.B) {
				s := newSim(b, o)
				cpu0 := cpuTime()
				scroll := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for half := 0; half < 2; half++ {
						s.advance(500 * time.Millisecond)
						scroll++
						r := drawTerminal(s.screen, scroll)
						if half == 0 {
							r = r.Union(drawClock(s.screen, int(s.now/time.Second)))
						}
						s.frame(r)
					}
				}
				b.StopTimer()
				s.report(b, cpuTime()-cpu0)
			})
		}
	}
	// The levers on a quiet desktop's bytes, which are nearly all one keyframe per cut: a higher
	// CRF, or longer cuts (a policy choice: a crash loses up to one cut).
	termRows = 40
	for _, o := range []Options{{CRF: 28}, {SegmentDuration: 10 * time.Second}} {
		b.Run(fmt.Sprintf("quiet/veryfast/term40/crf%d-cut%v", o.withDefaults().CRF, o.withDefaults().SegmentDuration), func(b *testing.B) {
			s := newSim(b, o)
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.advance(time.Second)
				s.frame(drawClock(s.screen, int(s.now/time.Second)))
			}
			b.StopTimer()
			s.report(b, cpuTime()-cpu0)
		})
	}
}
