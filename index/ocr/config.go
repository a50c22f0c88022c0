package ocr

import (
	"errors"
	"fmt"
	"image"
	"os"
	"time"
)

// Errors returned by the pool. Callers compare with errors.Is.
var (
	// ErrStopped is returned by Recognize after Stop, or when the pool stops before the job ran.
	ErrStopped = errors.New("ocr: pool stopped")
	// ErrTesseract wraps a failure of the tesseract library (missing language data, bad image).
	ErrTesseract = errors.New("ocr: tesseract failed")
)

// Text is one line of text read from a screen.
type Text struct {
	Rect       image.Rectangle // the line's box in screen coordinates
	Text       string          // its words joined by single spaces
	Confidence float64         // tesseract's mean word confidence, 0-100
}

// Config sizes a Pool. Start from DefaultConfig.
type Config struct {
	// Workers is how many OCR jobs run at once, each on one tesseract client (about 40 MB) and one
	// core. The default, 1, leaves the rest of a 2-core gateway to the sessions.
	Workers int
	// Queue is how many jobs may wait for a worker; TrySubmit drops beyond it.
	Queue int
	// Language is tesseract's language list ("eng", "eng+deu"); its traineddata must be installed.
	Language string
	// Scale is the upscaling factor (2: screen fonts are smaller than tesseract's training print;
	// 3 read fewer words of the fixtures, small fonts included, and costs more than twice as much).
	Scale int
	// MinConfidence drops words tesseract is less sure of (0-100): window borders, icons and
	// scroll bars come out as short junk words of low confidence.
	MinConfidence float64
}

// DefaultConfig returns the settings measured on the fixtures (fixtures/ocr).
func DefaultConfig() Config {
	return Config{Workers: 1, Queue: 8, Language: "eng", Scale: 2, MinConfidence: 0}
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Workers < 1 || c.Workers > 64:
		return fmt.Errorf("ocr: config: Workers %d: must be in [1,64]", c.Workers)
	case c.Queue < 0:
		return fmt.Errorf("ocr: config: Queue %d: must not be negative", c.Queue)
	case c.Language == "":
		return errors.New("ocr: config: Language: must not be empty")
	case c.Scale < 1 || c.Scale > 4:
		return fmt.Errorf("ocr: config: Scale %d: must be in [1,4]", c.Scale)
	case c.MinConfidence < 0 || c.MinConfidence > 100:
		return fmt.Errorf("ocr: config: MinConfidence %v: must be in [0,100]", c.MinConfidence)
	}
	return nil
}

// WatchConfig says when Watch reads a session's screen.
type WatchConfig struct {
	// Settle is how long the screen must be still before it is read: text being typed or scrolled
	// is read once it stops, not at every keystroke.
	Settle time.Duration
	// Interval is the least time between two reads of one session.
	Interval time.Duration
	// MaxDelay reads a screen that never settles (a video, a clock) after this long anyway.
	MaxDelay time.Duration
}

// DefaultWatchConfig returns 700 ms of stillness, reads at most every 3 s, and at least every 15 s
// of continuous change.
func DefaultWatchConfig() WatchConfig {
	return WatchConfig{Settle: 700 * time.Millisecond, Interval: 3 * time.Second, MaxDelay: 15 * time.Second}
}

// Validate reports the first bad field.
func (c WatchConfig) Validate() error {
	switch {
	case c.Settle <= 0:
		return fmt.Errorf("ocr: watch config: Settle %v: must be positive", c.Settle)
	case c.Interval < 0:
		return fmt.Errorf("ocr: watch config: Interval %v: must not be negative", c.Interval)
	case c.MaxDelay < c.Settle:
		return fmt.Errorf("ocr: watch config: MaxDelay %v: must be at least Settle", c.MaxDelay)
	}
	return nil
}

// ThreadLimitSet reports whether OMP_THREAD_LIMIT=1 is in the environment. It must be set before
// the process starts (tesseract's OpenMP runtime reads it when the library loads, so os.Setenv
// is too late); without it tesseract spreads each image over every core and runs several times
// slower in total.
func ThreadLimitSet() bool { return os.Getenv("OMP_THREAD_LIMIT") == "1" }
