package gateway_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// TestMain re-executes the test binary with OMP_THREAD_LIMIT=1 when it is unset: tesseract's
// OpenMP reads it when the library loads, before any Go code (the OCR tests would otherwise run
// several times slower and compete for every core). `vigil serve` does the same.
func TestMain(m *testing.M) {
	if os.Getenv("OMP_THREAD_LIMIT") == "" {
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, append(os.Environ(), "OMP_THREAD_LIMIT=1"))
		}
		fmt.Fprintf(os.Stderr, "gateway tests: re-exec with OMP_THREAD_LIMIT=1: %v; running without it\n", err)
	}
	os.Exit(m.Run())
}
