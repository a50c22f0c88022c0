package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/storage/file"
)

const needle = "vigil-needle-42"

// writeSyntheticRecording stores a 30-second session of three sealed segments through the real
// Recordings sink: a prompt, the command `echo vigil-needle-42` typed at 12 s and its output.
func writeSyntheticRecording(t *testing.T, store *gateway.Recordings, start time.Time) encode.SessionMeta {
	t.Helper()
	meta := encode.SessionMeta{ID: "web-e2e-1", User: "alice", Target: "web01", Account: "root", Protocol: "ssh", Start: start, Cols: 80, Rows: 24}
	sink, err := store.Sink(meta)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var infos []encode.SegmentInfo
	for i := 0; i < 3; i++ {
		at := time.Duration(i) * 10 * time.Second
		var buf bytes.Buffer
		h := eventlog.Header{SessionID: meta.ID, Segment: i, User: meta.User, Target: meta.Target, Protocol: "ssh", Start: start, Offset: at, Cols: 80, Rows: 24}
		kf := fmt.Sprintf("\x1b[H\x1b[2Jsegment %d start\r\n$ ", i)
		if i == 2 {
			kf = "\x1b[H\x1b[2Jsegment 1 start\r\n$ echo " + needle + "\r\n" + needle + "\r\n$ "
		}
		w, err := eventlog.NewWriter(&buf, h, []byte(kf))
		if err != nil {
			t.Fatal(err)
		}
		recs := []eventlog.Record{{Time: at + time.Second, Type: eventlog.TypeOutput, Payload: []byte("")}}
		if i == 1 {
			tm := at + 2*time.Second
			for _, c := range "echo " + needle {
				tm += 50 * time.Millisecond
				recs = append(recs, eventlog.Record{Time: tm, Type: eventlog.TypeInput, Payload: []byte{byte(c)}},
					eventlog.Record{Time: tm + time.Millisecond, Type: eventlog.TypeOutput, Payload: []byte{byte(c)}})
			}
			tm += 100 * time.Millisecond
			recs = append(recs, eventlog.Record{Time: tm, Type: eventlog.TypeInput, Payload: []byte("\r")},
				eventlog.Record{Time: tm + time.Millisecond, Type: eventlog.TypeOutput, Payload: []byte("\r\n" + needle + "\r\n$ ")})
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		seg := encode.SegmentInfo{Index: i, Start: at, End: at + 10*time.Second, Bytes: buf.Len(), Records: len(recs) + 1}
		if err := sink.PutSegment(ctx, seg, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		infos = append(infos, seg)
	}
	if err := sink.Finish(ctx, encode.Summary{Meta: meta, Segments: infos, Duration: 30 * time.Second, OutputBytes: 200, Cause: "user exit"}); err != nil {
		t.Fatal(err)
	}
	return meta
}

// TestWebUIInChromium drives the real web UI in headless Chromium: log in, list sessions, search
// for a command of a sealed recording, open the player at the hit, seek by clicking the timeline,
// and read the terminal's screen. Screenshots of each page go to t.TempDir() (or to
// $VIGIL_WEB_ARTIFACTS when set).
func TestWebUIInChromium(t *testing.T) {
	chromium := needChromium(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	store := gateway.NewRecordings(backend, keys, nil)
	meta := writeSyntheticRecording(t, store, time.Now().Add(-time.Hour).UTC().Truncate(time.Second))

	ix, err := index.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	segs, closeSegs, err := store.OpenSegments(context.Background(), meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.IndexRecording(context.Background(), encode.NewRecords(segs)); err != nil {
		t.Fatal(err)
	}
	closeSegs()

	hash, err := access.HashPassword([]byte("alice-pw"))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{Users: []access.User{{Name: "alice", PasswordHash: hash, Role: access.RoleAuditor}}})
	if err != nil {
		t.Fatal(err)
	}
	auditLog, err := audit.Open(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer auditLog.Close()
	h, err := gateway.NewWebServer(cfg, store, acc, ix, auditLog, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()

	artifacts := artifactsDir(t)
	ctx := startBrowser(t, chromium, chromedp.WindowSize(1200, 800))
	bctx := ctx
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	type C = chromedp.CSS
	shot := func(name string) chromedp.Action[chromedp.Void] { return screenshot(artifacts, name) }
	text := func(sel string, into *string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Text(C(sel))(ctx, tg)
			*into = v
			return err
		})
	}
	screenText := func(into *string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Evaluate[string](`window.vigilPlayer.screenText()`)(ctx, tg)
			*into = v
			return err
		})
	}
	var sessionsText, resultsText string
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(C("#login")),
		shot("1-login"),
		chromedp.SendKeys(C("#user"), "alice"),
		chromedp.SendKeys(C("#password"), "alice-pw"),
		chromedp.Click(C(`#login button[type="submit"]`)),
		chromedp.WaitVisible(C(`tr.row[data-id="web-e2e-1"]`)),
		shot("2-sessions-before-seal"),
		chromedp.WaitVisible(C(`td.seal.ok`)),
		text("#sessions", &sessionsText),
		shot("2-sessions"),
		chromedp.Navigate(ts.URL+"/#/search?q="+needle),
		chromedp.WaitVisible(C(".hit")),
		text("#results", &resultsText),
		shot("3-search"),
	)
	if err != nil {
		fctx, fcancel := context.WithTimeout(bctx, 10*time.Second)
		_ = chromedp.Do(fctx, shot("failed"))
		fcancel()
		t.Fatalf("browser: %v (screenshots in %s)", err, artifacts)
	}
	if !strings.Contains(sessionsText, "web01") || !strings.Contains(sessionsText, "verifies") {
		t.Errorf("sessions page: %q", sessionsText)
	}
	if !strings.Contains(resultsText, needle) {
		t.Errorf("search page: %q", resultsText)
	}

	waitReady := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`window.vigilPlayer && window.vigilPlayer.state.ready`, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
		return err
	})
	var screen string
	err = chromedp.Do(ctx,
		chromedp.Click(C(".hit")),
		chromedp.WaitVisible(C("#timeline")),
		waitReady,
		screenText(&screen),
		shot("4-player-at-hit"),
	)
	if err != nil {
		fctx, fcancel := context.WithTimeout(bctx, 10*time.Second)
		_ = chromedp.Do(fctx, shot("failed-player"))
		fcancel()
		t.Fatalf("player: %v", err)
	}
	if !strings.Contains(screen, "segment 1 start") || !strings.Contains(screen, "echo "+needle) {
		t.Errorf("screen at the hit:\n%s", screen)
	}

	// Seek by clicking the timeline at 5%: 1.5 s, before the command, in segment 0.
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('timeline').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil || len(rect) != 4 {
		t.Fatalf("timeline rect %v: %v", rect, err)
	}
	err = chromedp.Do(ctx,
		chromedp.MouseClickXY(rect[0]+rect[2]*0.05, rect[1]+rect[3]/2),
		chromedp.Sleep(100*time.Millisecond),
		waitReady,
		screenText(&screen),
		shot("5-player-seek"),
	)
	if err != nil {
		t.Fatalf("seek: %v", err)
	}
	if !strings.Contains(screen, "segment 0 start") || strings.Contains(screen, needle) {
		t.Errorf("screen after seeking to 1.5 s:\n%s", screen)
	}
	t.Logf("screenshots in %s", artifacts)
}
