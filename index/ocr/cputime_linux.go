package ocr

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD: the calling thread's usage (Linux 2.6.26+).
const rusageThread = 1

// threadCPU returns the calling OS thread's user+system CPU time. Workers lock their thread, and
// with OMP_THREAD_LIMIT=1 tesseract does all its work on it, so the difference around a job is
// that job's CPU cost.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
