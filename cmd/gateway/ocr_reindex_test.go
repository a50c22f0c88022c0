package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

// typeKeys types s into a session key by key (down, up), then Enter.
func typeKeys(t *testing.T, s *desktop.Session, text string) {
	t.Helper()
	for _, r := range text + "\r" {
		ks := uint32(r)
		if r == '\r' {
			ks = 0xff0d
		}
		for _, down := range []bool{true, false} {
			if err := s.Input(frame.Input{Kind: frame.InputKey, Down: down, Keysym: ks}); err != nil {
				t.Fatalf("input: %v", err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func searchAll(t *testing.T, ix *index.Index, q index.Query) []index.Hit {
	t.Helper()
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return res.Hits
}

// TestReindexOCR records two sessions on a real x11vnc desktop without live OCR. In the first
// (keys policy "all") an xterm shows a line two seconds in and a SQL line is typed; in the second
// (the default policy) a password is typed. Typed lines are indexed live; `reindex --ocr` then
// reads the stored video and finds the xterm's line at the moment it appeared, with its region,
// and reindexing twice leaves no duplicates. The password is in the index under no kind.
func TestReindexOCR(t *testing.T) {
	rig := startDesktopRig(t)
	const needle = "TABLE invoices_2031"
	xt := rig.vnc.Command(t, "xterm", "-geometry", "60x6+40+40", "-bg", "white", "-fg", "black",
		"-e", "sh", "-c", "stty -echo; sleep 2; echo '   DROP "+needle+"'; sleep 600")
	ix, err := index.Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	feed := &gateway.OCRFeed{Index: ix, Log: log} // typed lines only: the screen is left to reindex
	rig.d.Recorder.(*gateway.DesktopRecorder).OCR = feed

	rig.d.Keys = desktop.KeysAll
	s, err := rig.d.Open(ctx, "alice", "desk1", "127.0.0.1:1", "web")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := xt.Start(); err != nil {
		t.Fatalf("xterm: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	typeKeys(t, s, "select * from orders_typed")
	time.Sleep(4 * time.Second) // the line appears at about 2.5 s and stays
	s.End(nil)
	<-s.Done()

	rig.d.Keys = desktop.KeysPrintableRedacted
	s2, err := rig.d.Open(ctx, "alice", "desk1", "127.0.0.1:1", "web")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	typeKeys(t, s2, "hunter2-Secret")
	typeKeys(t, s2, "")
	time.Sleep(time.Second)
	s2.End(nil)
	<-s2.Done()
	feed.Wait()

	if hits := searchAll(t, ix, index.Query{Text: "orders_typed", Kind: index.KindCommand}); len(hits) != 1 || hits[0].Session != s.ID() {
		t.Fatalf("typed line live: %+v, want one hit in %s", hits, s.ID())
	}
	if hits := searchAll(t, ix, index.Query{Text: needle}); len(hits) != 0 {
		t.Fatalf("the screen was indexed without OCR: %+v", hits)
	}

	pool, err := ocr.Start(ctx, ocr.DefaultConfig())
	if err != nil {
		t.Fatalf("ocr: %v", err)
	}
	defer pool.Stop()
	if _, err := gateway.ReindexOCR(ctx, ix, rig.store, pool, ocr.DefaultWatchConfig(), s2.ID()); err != nil {
		t.Fatalf("reindex ocr of the second session: %v", err)
	}
	var first []index.Hit
	for i := range 2 {
		n, err := gateway.ReindexOCR(ctx, ix, rig.store, pool, ocr.DefaultWatchConfig(), s.ID())
		if err != nil {
			t.Fatalf("reindex ocr: %v", err)
		}
		hits := searchAll(t, ix, index.Query{Text: needle, Kind: index.KindOCR, Session: s.ID()})
		t.Logf("reindex %d: %d lines, hits %+v", i, n, hits)
		if len(hits) != 1 {
			t.Fatalf("reindex %d: %d hits for %q, want 1", i, len(hits), needle)
		}
		h := hits[0]
		if h.Session != s.ID() || h.Protocol != "vnc" || !strings.Contains(strings.ToLower(h.Line), "drop table") {
			t.Errorf("hit %+v", h)
		}
		// The line is printed 2 s after the xterm starts (0.5 s before the typing); the session
		// lasted about 5 s.
		if h.Offset < 1500*time.Millisecond || h.Offset > 5500*time.Millisecond {
			t.Errorf("hit offset %v: want the moment the line appeared, about 2.5 s in", h.Offset)
		}
		if h.Region.Empty() || h.Region.Min.X < 30 || h.Region.Min.Y < 30 || h.Region.Min.X > 40+60*10 || h.Region.Min.Y > 40+6*20 {
			t.Errorf("hit region %v: want a region inside the xterm at (40,40)", h.Region)
		}
		if i == 1 && (h.Offset != first[0].Offset || h.Region != first[0].Region) {
			t.Errorf("second reindex moved the hit: %+v, was %+v", h, first[0])
		}
		first = hits
		if hits := searchAll(t, ix, index.Query{Text: "orders_typed", Kind: index.KindCommand}); len(hits) != 1 {
			t.Errorf("typed line after reindex %d: %d hits, want 1", i, len(hits))
		}
	}
	// A plain reindex of a graphical session replaces its typed lines and keeps its OCR lines.
	if _, err := gateway.ReindexSession(ctx, ix, rig.store, s.ID()); err != nil {
		t.Fatal(err)
	}
	if len(searchAll(t, ix, index.Query{Text: needle, Kind: index.KindOCR, Session: s.ID()})) != 1 ||
		len(searchAll(t, ix, index.Query{Text: "orders_typed", Kind: index.KindCommand})) != 1 {
		t.Error("a text reindex of the graphical session lost or doubled its lines")
	}
	if _, err := gateway.ReindexSession(ctx, ix, rig.store, s2.ID()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"hunter2-Secret", "hunter2", "Secret"} {
		if hits := searchAll(t, ix, index.Query{Text: q}); len(hits) != 0 {
			t.Errorf("withheld password found in the index as %q: %+v", q, hits)
		}
	}
	if _, err := gateway.ReindexOCR(ctx, ix, rig.store, pool, ocr.DefaultWatchConfig(), "no-such-session"); !errors.Is(err, gateway.ErrNoRecording) {
		t.Errorf("reindex of a missing session: %v, want ErrNoRecording", err)
	}
}
