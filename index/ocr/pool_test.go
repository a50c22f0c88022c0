package ocr

import (
	"context"
	"errors"
	"image"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"no workers", func(c *Config) { c.Workers = 0 }, false},
		{"negative queue", func(c *Config) { c.Queue = -1 }, false},
		{"zero queue", func(c *Config) { c.Queue = 0 }, true},
		{"no language", func(c *Config) { c.Language = "" }, false},
		{"scale 0", func(c *Config) { c.Scale = 0 }, false},
		{"scale 5", func(c *Config) { c.Scale = 5 }, false},
		{"confidence 101", func(c *Config) { c.MinConfidence = 101 }, false},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	w := DefaultWatchConfig()
	if err := w.Validate(); err != nil {
		t.Errorf("default watch config: %v", err)
	}
	w.MaxDelay = w.Settle / 2
	if err := w.Validate(); err == nil {
		t.Error("MaxDelay below Settle accepted")
	}
}

func TestStartBadLanguage(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Language = "zzz"
	p, err := Start(context.Background(), cfg)
	if err == nil {
		p.Stop()
		t.Fatal("Start with a missing language succeeded")
	}
	if !errors.Is(err, ErrTesseract) {
		t.Errorf("error %v, want ErrTesseract", err)
	}
}

// TestTrySubmitDrops fills the worker and the queue, and checks the next job is refused at once
// and counted, and that Stop fails what is still queued.
func TestTrySubmitDrops(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Queue = 1
	p, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	screen := image.NewRGBA(image.Rect(0, 0, 64, 32))
	release := make(chan struct{})
	running := make(chan struct{})
	block := Job{Screen: screen, Done: func([]Text, []image.Rectangle, error) { close(running); <-release }}
	if !p.TrySubmit(block) {
		t.Fatal("first job refused")
	}
	<-running // the worker is busy in Done
	queued := make(chan error, 1)
	if !p.TrySubmit(Job{Screen: screen, Done: func(_ []Text, _ []image.Rectangle, err error) { queued <- err }}) {
		t.Fatal("second job refused with room in the queue")
	}
	start := time.Now()
	if p.TrySubmit(Job{Screen: screen}) {
		t.Fatal("third job accepted with the queue full")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("TrySubmit blocked for %v", d)
	}
	st := p.Stats()
	if st.Queued != 2 || st.Dropped != 1 || st.Waiting != 1 {
		t.Errorf("stats %+v, want 2 queued, 1 dropped, 1 waiting", st)
	}
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	p.Stop()
	select {
	case err := <-queued:
		if err != nil && !errors.Is(err, ErrStopped) {
			t.Errorf("queued job: %v, want nil (it ran) or ErrStopped", err)
		}
	default:
		t.Error("the queued job was neither run nor failed by Stop")
	}
	if p.TrySubmit(Job{Screen: screen}) {
		t.Error("TrySubmit after Stop accepted a job")
	}
	if _, err := p.Recognize(context.Background(), screen, nil); !errors.Is(err, ErrStopped) {
		t.Errorf("Recognize after Stop: %v, want ErrStopped", err)
	}
}

// TestRecognizeBlank reads nothing from an empty screen and from damage outside it.
func TestRecognizeBlank(t *testing.T) {
	p := startPool(t, DefaultConfig())
	screen := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for _, d := range [][]image.Rectangle{nil, {image.Rect(500, 500, 600, 600)}} {
		texts, err := p.Recognize(context.Background(), screen, d)
		if err != nil || len(texts) != 0 {
			t.Errorf("damage %v: %v, %v; want nothing", d, texts, err)
		}
	}
}
