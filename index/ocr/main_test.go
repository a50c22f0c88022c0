package ocr

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// TestMain re-executes the test binary with OMP_THREAD_LIMIT=1 when it is missing: tesseract's
// OpenMP runtime reads it once, when the library loads, so setting it from Go is too late.
func TestMain(m *testing.M) {
	if !ThreadLimitSet() {
		exe, err := os.Executable()
		if err == nil {
			env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
			err = syscall.Exec(exe, os.Args, env)
		}
		fmt.Fprintf(os.Stderr, "ocr: re-exec with OMP_THREAD_LIMIT=1: %v; running without it\n", err)
	}
	os.Exit(m.Run())
}
