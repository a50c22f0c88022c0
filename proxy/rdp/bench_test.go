package rdp

import (
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFirstFrame: from Dial to the first complete frame out of Run, on loopback (target
// under 1.5 s). Each iteration is a new worker and a new RDP connection.
func BenchmarkFirstFrame(b *testing.B) {
	for _, tc := range []struct {
		server string
		sec    Security
	}{{"shadow", SecurityNLA}, {"xrdp", SecurityTLS}} {
		b.Run(tc.server+"-"+string(tc.sec), func(b *testing.B) {
			f := server(b, tc.server)
			dial(b, f.options(tc.sec)).Close() // xrdp: the user's X session exists from here on
			var firsts, dials []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				s := dial(b, f.options(tc.sec))
				dials = append(dials, time.Since(start))
				scr, stop := run(b, s)
				waitFrames(b, scr, 1, 10*time.Second)
				firsts = append(firsts, scr.first.Sub(start))
				stop()
				s.Close()
			}
			b.StopTimer()
			slices.Sort(firsts)
			slices.Sort(dials)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(firsts[len(firsts)/2]), "ms/first-frame-p50")
			b.ReportMetric(ms(firsts[0]), "ms/first-frame-min")
			b.ReportMetric(ms(firsts[len(firsts)-1]), "ms/first-frame-max")
			b.ReportMetric(ms(dials[len(dials)/2]), "ms/dial-p50")
		})
	}
}

// BenchmarkDamage: CPU per megapixel of damage through the worker (FreeRDP decoding, GDI, the
// copy into frames) and the gateway (frame parsing, the screen copy, the emitter), and the
// worker's memory. The shadow server's root window alternates between two colours (xsetroot),
// each iteration waiting until the new colour has arrived.
func BenchmarkDamage(b *testing.B) {
	need(b, "xsetroot")
	f := server(b, "shadow")
	s := dial(b, f.options(SecurityNLA))
	scr, _ := run(b, s)
	waitFrames(b, scr, 1, 10*time.Second)
	colours := []struct {
		name string
		c    color.RGBA
	}{{"#204080", color.RGBA{0x20, 0x40, 0x80, 0}}, {"#806020", color.RGBA{0x80, 0x60, 0x20, 0}}}
	paint := func(i int) {
		c := colours[i%2]
		cmd := exec.Command("xsetroot", "-solid", c.name)
		cmd.Env = append(os.Environ(), "DISPLAY="+f.display)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("xsetroot: %v %s", err, out)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := scr.at(1000, 740) // below and right of the xterm
			if got.R == c.c.R && got.G == c.c.G && got.B == c.c.B {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("colour %s not seen; pixel is %v", c.name, got)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	paint(1)
	w0, g0, px0 := workerCPU(b, s.Pid()), selfCPU(), scr.pixels
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		paint(i)
	}
	b.StopTimer()
	scr.mu.Lock()
	mp := float64(scr.pixels-px0) / 1e6
	scr.mu.Unlock()
	wcpu, gcpu := workerCPU(b, s.Pid())-w0, selfCPU()-g0
	b.ReportMetric(mp/float64(b.N), "MP/op")
	b.ReportMetric(float64(wcpu.Milliseconds())/mp, "worker-cpu-ms/MP")
	// The gateway figure is this whole test process: an upper bound (it includes the polling).
	b.ReportMetric(float64(gcpu.Milliseconds())/mp, "gateway-cpu-ms/MP")
	rss, hwm := workerMem(b, s.Pid())
	b.ReportMetric(float64(rss)/1024, "worker-RSS-MB")
	b.ReportMetric(float64(hwm)/1024, "worker-peak-RSS-MB")
}

// workerCPU is the user+system CPU time of pid so far.
func workerCPU(b testing.TB, pid int) time.Duration {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are the 14th and 15th.
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// workerMem is the worker's resident and peak resident memory in KiB.
func workerMem(b testing.TB, pid int) (rss, hwm int64) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, hwm
}
