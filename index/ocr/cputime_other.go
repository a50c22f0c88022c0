//go:build !linux

package ocr

import "time"

var epoch = time.Now()

// threadCPU falls back to wall time where the thread's CPU clock is not available.
func threadCPU() time.Duration { return time.Since(epoch) }
