package video

import (
	"os"
	"testing"

	"github.com/asticode/go-astiav"
)

func TestMain(m *testing.M) {
	// libx264 prints its settings at every open; keep test output to failures.
	astiav.SetLogLevel(astiav.LogLevelError)
	os.Exit(m.Run())
}
