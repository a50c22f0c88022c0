package gateway_test

// End-to-end tests of graphical sessions in headless Chromium with Vigil's own recordings and a
// real x11vnc desktop: the video player on segments the real recorder wrote (not ffmpeg's), the
// live desktop page's latency, and the recorded video against the X server's own screenshot.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// gfxWeb serves the real web UI over store with one web user (name, password "<name>-pw", role)
// and, when live is not nil, the gateway's live sessions and desktops. It returns the server's URL.
func gfxWeb(t *testing.T, store *gateway.Recordings, name string, role access.Role, live gateway.LiveSessions) string {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	hash, err := access.HashPassword([]byte(name + "-pw"))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{Users: []access.User{{Name: name, PasswordHash: hash, Role: role}}})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	auditLog, err := audit.Open(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditLog.Close() })
	var lives []gateway.LiveSessions
	if live != nil {
		lives = append(lives, live)
	}
	h, err := gateway.NewWebServer(cfg, store, acc, ix, auditLog, slog.New(slog.DiscardHandler), false, lives...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// gfxLogin starts Chromium (autoplay allowed: the player is muted, but a test has no gesture),
// logs in to the web UI at url as name and returns the browser's context, bounded by limit.
func gfxLogin(t *testing.T, url, name string, limit time.Duration) context.Context {
	t.Helper()
	chromium := needChromium(t)
	ctx := startBrowser(t, chromium, chromedp.WindowSize(1300, 950), chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	ctx, cancel := context.WithTimeout(ctx, limit)
	t.Cleanup(cancel)
	type C = chromedp.CSS
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(C("#login")),
		chromedp.SendKeys(C("#user"), name),
		chromedp.SendKeys(C("#password"), name+"-pw"),
		chromedp.Click(C(`#login button[type="submit"]`)),
		chromedp.WaitVisible(C("#sessions")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	return ctx
}

// gfxPoll waits until expr is true in the page, or fails t with a screenshot.
func gfxPoll(t *testing.T, ctx context.Context, expr string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		gfxShot(t, ctx, "failed")
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// gfxEval evaluates expr (awaiting a promise) and decodes its JSON value into out.
func gfxEval(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Promise.resolve(`+expr+`).then((v) => JSON.stringify(v))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("evaluate %s: %v: %s", expr, err, s)
	}
}

func gfxShot(t *testing.T, ctx context.Context, name string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = chromedp.Do(sctx, screenshot(artifactsDir(t), t.Name()+"-"+name))
}

// videoFrameJS draws the player's current video frame onto a canvas and returns its size and
// RGBA pixels in base64: what the auditor sees, as Chromium decoded it.
const videoFrameJS = `(() => {
  const v = window.vigilVideo.video;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000));
  return { w: c.width, h: c.height, px: btoa(s) };
})()`

func browserFrame(t *testing.T, ctx context.Context) *image.RGBA {
	t.Helper()
	var f struct {
		W, H int
		Px   string
	}
	gfxEval(t, ctx, videoFrameJS, &f)
	px, err := base64.StdEncoding.DecodeString(f.Px)
	if err != nil || f.W <= 0 || len(px) != f.W*f.H*4 {
		t.Fatalf("video frame from the browser: %dx%d, %d bytes, %v", f.W, f.H, len(px), err)
	}
	return &image.RGBA{Pix: px, Stride: 4 * f.W, Rect: image.Rect(0, 0, f.W, f.H)}
}

// meanAbsDiff is the mean absolute difference per colour channel (R, G, B) of a and b over
// their common area, in 0-255 units.
func meanAbsDiff(a, b *image.RGBA) float64 {
	r := a.Rect.Intersect(b.Rect)
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pa, pb := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				d := int(a.Pix[pa+c]) - int(b.Pix[pb+c])
				if d < 0 {
					d = -d
				}
				sum += float64(d)
			}
			n += 3
		}
	}
	if n == 0 {
		return 255
	}
	return sum / n
}

// near reports whether the pixel of img at (x, y) is within tol of want on every channel.
func near(img *image.RGBA, x, y int, want [3]int, tol int) bool {
	o := img.PixOffset(x, y)
	for c := 0; c < 3; c++ {
		if d := int(img.Pix[o+c]) - want[c]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// drawnRects counts the rectangles of recordGraphical drawn in img: rectangle i covers x 10i to
// 10i+10, y 100 to 140, in (250, 200, 10i); it is looked for at its centre.
func drawnRects(img *image.RGBA) int {
	n := 0
	for i := 0; i < 25; i++ {
		if near(img, 10*i+5, 120, [3]int{250, 200, 10 * i}, 24) {
			n++
		}
	}
	return n
}

// TestGraphicalReplayInChromium: a session recorded by Vigil's video recorder into a real store
// plays in the web UI's video player in Chromium: Media Source Extensions accept Vigil's own
// segments (playback crosses a segment boundary, no MediaError), a seek into a later segment
// lands, and the frame Chromium shows there is the recorded one (the rectangles drawn by then,
// and within a small mean error of Vigil's own decoder's frame at that time).
func TestGraphicalReplayInChromium(t *testing.T) {
	needChromium(t)
	store := newGfxStore(t)
	meta := recordGraphical(t, store)
	ctx := context.Background()
	web := &gateway.WebSessions{Recordings: store}
	vsegs, err := web.VideoSegments(ctx, meta.ID)
	if err != nil || len(vsegs) < 2 {
		t.Fatalf("video segments %v: %v; want at least 2", vsegs, err)
	}
	// Pick a moment in the second video segment halfway between two of its frames, so that the
	// frame shown there is the same whoever rounds time a little differently.
	seg := readVideoSegment(t, web, meta.ID, vsegs[1])
	var times []time.Duration
	if err := video.Frames(seg, func(at time.Duration, _ *image.RGBA) error { times = append(times, at); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(times) < 3 {
		t.Fatalf("segment 1 has %d frames, want several (a frame every 100 ms)", len(times))
	}
	t.Logf("video segments %d; segment 1: %v-%v, first frame at %v", len(vsegs), vsegs[1].Start, vsegs[1].End, times[0])
	at := (times[1] + times[2]) / 2
	want, err := video.FrameAt(seg, at)
	if err != nil {
		t.Fatal(err)
	}

	url := gfxWeb(t, store, "audrey", access.RoleAuditor, nil)
	bctx := gfxLogin(t, url, "audrey", 50*time.Second)
	if err := chromedp.Do(bctx, chromedp.Navigate(url+"/#/play/"+meta.ID)); err != nil {
		t.Fatal(err)
	}
	gfxPoll(t, bctx, `window.vigilVideo && window.vigilVideo.state.ready`, 20*time.Second)
	var segs []struct {
		Index   int `json:"index"`
		StartMS int `json:"start_ms"`
		EndMS   int `json:"end_ms"`
	}
	gfxEval(t, bctx, `window.vigilVideo.segments`, &segs)
	if len(segs) != len(vsegs) {
		t.Fatalf("the player lists %d video segments, the store %d", len(segs), len(vsegs))
	}

	// Play from the start across the first boundary.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#play"))); err != nil {
		t.Fatal(err)
	}
	boundary := float64(segs[1].StartMS)/1000 + 0.2
	gfxPoll(t, bctx, `(() => { const v = window.vigilVideo.video; if (v.error) throw new Error('MediaError ' + v.error.code + ' ' + v.error.message); return v.currentTime > `+jsNum(boundary)+`; })()`, 20*time.Second)
	gfxShot(t, bctx, "playing")

	// Seek into the later segment, paused, and read the frame shown.
	var landed float64
	gfxEval(t, bctx, `(async () => { const v = window.vigilVideo.video; v.pause(); await window.vigilVideo.seek(`+jsNum(float64(at.Milliseconds()))+`); return v.currentTime; })()`, &landed)
	if d := landed - at.Seconds(); d < -0.01 || d > 0.01 {
		t.Fatalf("seek to %v landed at %.3f s", at, landed)
	}
	gfxPoll(t, bctx, `(() => { const v = window.vigilVideo.video; return !v.seeking && v.readyState >= 2 && !v.error; })()`, 10*time.Second)
	gfxShot(t, bctx, "seeked")
	var note string
	gfxEval(t, bctx, `document.getElementById('video-note').textContent`, &note)
	if note != "" {
		t.Fatalf("player note %q", note)
	}
	got := browserFrame(t, bctx)
	if got.Rect != want.Rect {
		t.Fatalf("browser frame %v, recorded %v", got.Rect, want.Rect)
	}
	if !near(got, 300, 20, [3]int{20, 30, 40}, 12) {
		t.Errorf("background at (300,20) is %v, want about (20,30,40)", got.Pix[got.PixOffset(300, 20):][:3])
	}
	if !near(got, 5, 120, [3]int{250, 200, 0}, 12) {
		t.Errorf("first rectangle at (5,120) is %v, want about (250,200,0)", got.Pix[got.PixOffset(5, 120):][:3])
	}
	nGot, nWant := drawnRects(got), drawnRects(want)
	if nGot != nWant || nWant < 2 || nWant == 25 {
		t.Errorf("rectangles drawn at %v: %d in Chromium, %d in the recording (want the same, not all)", at, nGot, nWant)
	}
	// Chromium and FFmpeg decode the same H.264 bits; what differs is the YUV to RGB rounding
	// and chroma upsampling, a few units at colour edges.
	const maxMAE = 4.0
	if mae := meanAbsDiff(got, want); mae > maxMAE {
		t.Errorf("Chromium's frame at %v differs from the recorded one by %.2f per channel (mean), want at most %.1f", at, mae, maxMAE)
	} else {
		t.Logf("frame at %v: %d rectangles, mean abs difference from FrameAt %.2f per channel", at, nGot, mae)
	}
}

func jsNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func readVideoSegment(t *testing.T, web *gateway.WebSessions, id string, s player.Segment) []byte {
	t.Helper()
	rc, err := web.OpenVideo(context.Background(), id, s.Index)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newGfxStore is a real Recordings store on a file backend with fresh node keys.
func newGfxStore(t *testing.T) *gateway.Recordings {
	t.Helper()
	dir := t.TempDir()
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return gateway.NewRecordings(backend, keys, nil)
}
