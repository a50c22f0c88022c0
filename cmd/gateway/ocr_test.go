package gateway_test

import (
	"context"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
)

// TestDesktopOCRSearch: text shown on a real VNC desktop during a recorded session is read by OCR
// while the session runs and found by search, as kind screen-ocr, at a moment inside the session
// and with the screen region it was read from.
func TestDesktopOCRSearch(t *testing.T) {
	rig := startDesktopRig(t)
	const needle = "TABLE customers_2024"
	// The xterm shows a first screen, then, once the test creates trigger (during the session),
	// the statement: text that appears mid-session, as an auditor would search for it.
	trigger := filepath.Join(t.TempDir(), "go")
	xt := rig.vnc.Command(t, "xterm", "-geometry", "60x6+40+40", "-bg", "white", "-fg", "black",
		"-e", "sh", "-c", "echo 'psql (15.18) production'; echo; echo 'waiting for input'; "+
			"while [ ! -e "+trigger+" ]; do sleep 0.1; done; echo; echo 'DROP "+needle+"'; echo; sleep 600")
	if err := xt.Start(); err != nil {
		t.Fatalf("xterm: %v", err)
	}
	ix, err := index.Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, err := ocr.Start(ctx, ocr.DefaultConfig())
	if err != nil {
		t.Fatalf("ocr: %v", err)
	}
	defer pool.Stop()
	feed := &gateway.OCRFeed{Pool: pool, Index: ix, Watch: ocr.DefaultWatchConfig(), Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	rig.d.Recorder.(*gateway.DesktopRecorder).OCR = feed
	// Start the session only once the xterm shows its text: OCR reads a still screen once, and a
	// screen caught half drawn (a slow machine) would be read half drawn.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if xtermShowsText(rig.vnc.Screenshot(t)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the xterm never showed its text")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)

	s, err := rig.d.Open(ctx, "alice", "desk1", "127.0.0.1:1", "web")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	start := time.Now()
	time.Sleep(1500 * time.Millisecond) // the first screen is read once still
	if err := os.WriteFile(trigger, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	shown := time.Since(start)
	var hit index.Hit
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := ix.Search(ctx, index.Query{Text: needle, Kind: index.KindOCR})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) > 0 {
			hit = res.Hits[0]
			break
		}
		if time.Now().After(deadline) {
			st := pool.Stats()
			t.Fatalf("no OCR hit for %q after 90 s (pool: %+v)", needle, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.End(nil)
	<-s.Done()
	feed.Wait()
	if hit.Session != s.ID() || hit.Target != "desk1" || hit.Protocol != "vnc" {
		t.Errorf("hit names session %s target %s protocol %s; want %s desk1 vnc", hit.Session, hit.Target, hit.Protocol, s.ID())
	}
	if hit.Offset < shown-time.Second || hit.Offset > time.Since(start)+time.Second {
		t.Errorf("hit offset %v: the text appeared %v into the session (which lasted %v)", hit.Offset, shown, time.Since(start))
	}
	if hit.Region.Empty() || hit.Region.Min.X > 40+60*10 || hit.Region.Min.Y > 40+6*20 {
		t.Errorf("hit region %v: want a region inside the xterm at (40,40)", hit.Region)
	}
	if !strings.Contains(strings.ToLower(hit.Line), "drop table") {
		t.Errorf("hit line %q", hit.Line)
	}
}

// xtermShowsText reports whether the white xterm at (40,40) has dark text pixels on its first
// line and on its third (the last line echoed).
func xtermShowsText(img *image.RGBA) bool {
	dark := func(y0, y1 int) bool {
		for y := y0; y < y1; y++ {
			for x := 42; x < 300; x++ {
				if c := img.RGBAAt(x, y); c.R < 80 && c.G < 80 && c.B < 80 {
					return true
				}
			}
		}
		return false
	}
	return img.Bounds().Dx() > 300 && dark(44, 56) && dark(70, 82)
}
