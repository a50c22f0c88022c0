package gateway_test

import (
	"context"
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
	xt := rig.vnc.Command(t, "xterm", "-geometry", "60x6+40+40", "-bg", "white", "-fg", "black",
		"-e", "sh", "-c", "echo 'DROP "+needle+"'; echo; echo 'second line of output'; sleep 600")
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
	feed := &gateway.OCRFeed{Pool: pool, Index: ix, Watch: ocr.DefaultWatchConfig(), Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	rig.d.Recorder.(*gateway.DesktopRecorder).OCR = feed
	time.Sleep(time.Second) // let the xterm map before the session starts

	s, err := rig.d.Open(ctx, "alice", "desk1", "127.0.0.1:1", "web")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	start := time.Now()
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
	if hit.Offset < 0 || hit.Offset > time.Since(start)+time.Second {
		t.Errorf("hit offset %v outside the session (%v long)", hit.Offset, time.Since(start))
	}
	if hit.Region.Empty() || hit.Region.Min.X > 40+60*10 || hit.Region.Min.Y > 40+6*20 {
		t.Errorf("hit region %v: want a region inside the xterm at (40,40)", hit.Region)
	}
	if !strings.Contains(strings.ToLower(hit.Line), "drop table") {
		t.Errorf("hit line %q", hit.Line)
	}
}
