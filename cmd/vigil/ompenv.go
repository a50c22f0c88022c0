package main

import (
	"os"
	"syscall"
)

// ensureOMPThreadLimit re-executes the process with OMP_THREAD_LIMIT=1 when a command that runs
// OCR (serve, reindex) starts without it. Tesseract's OpenMP runtime reads the variable once, when
// the library loads, which is before any Go code runs: setting it with os.Setenv is too late.
// Without it one 1080p frame took 18-24 s on two cores, with it 2.3 s (DESIGN.md), and OCR threads
// would compete with the sessions it is meant never to slow down. An operator who sets the
// variable (to 1 or anything else) is left alone.
func ensureOMPThreadLimit(args []string) {
	if os.Getenv("OMP_THREAD_LIMIT") != "" {
		return
	}
	// The command may follow global flags (vigil --data-dir D serve): look at every argument. A
	// false match (an argument that happens to say serve) costs only a harmless re-exec.
	ocr := false
	for _, a := range args[1:] {
		ocr = ocr || a == "serve" || a == "reindex"
	}
	if !ocr {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return // OCR still works, only slower; index/ocr logs a warning
	}
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	_ = syscall.Exec(exe, args, env) // returns only on failure: go on without
}
