package player

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed18fc72c3/vigil/capture/frame"
)

// browserFixture is the real UI (embedded assets) over fakes, in headless Chromium.
type browserFixture struct {
	desks *fakeDesktops
	conn  *fakeDesktop
	url   string
	ctx   context.Context
}

func newBrowserFixture(t *testing.T, video *memVideo) *browserFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	store := newMemSessions()
	store.add(synth{id: "v-alice", user: "alice", target: "desk01", start: t0, length: 6 * time.Second, segLen: 10 * time.Second, step: time.Second})
	conn := newFakeDesktop(t, "d-conn", testScreen(600, 300, 1), graphicalConfig)
	desks := &fakeDesktops{conn: conn, live: map[string]*fakeDesktop{}}
	auth := &fakeAuth{users: map[string]fakeUser{"alice": {pw: "alice-pw", hash: fakeHash, role: RoleUser}}}
	srv, err := NewServer(Config{Auth: auth, Sessions: store, Search: &fakeSearch{}, Live: newFakeLive(),
		Desktops: desks, Video: video})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	type C = chromedp.CSS
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(C("#login")),
		chromedp.SendKeys(C("#user"), "alice"),
		chromedp.SendKeys(C("#password"), "alice-pw"),
		chromedp.Click(C(`#login button[type="submit"]`)),
		chromedp.WaitVisible(C("#sessions")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	return &browserFixture{desks: desks, conn: conn, url: ts.URL, ctx: ctx}
}

func (b *browserFixture) screenshot(t *testing.T, name string) {
	dir := os.Getenv("VIGIL_WEB_ARTIFACTS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

func (b *browserFixture) poll(t *testing.T, expr string) {
	t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		b.screenshot(t, "failed-"+t.Name())
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// canvasIs waits until the canvas holds exactly want's pixels.
func (b *browserFixture) canvasIs(t *testing.T, want []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.vigilDesktop.pixels()`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot(t, "failed-"+t.Name())
			diff := 0
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					diff++
				}
			}
			t.Fatalf("canvas: %d bytes, %d differ from the %d expected", len(got), diff, len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDesktopInChromium(t *testing.T) {
	b := newBrowserFixture(t, &memVideo{})
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.url+"/#/targets")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(`a.connect-desktop[data-target="desk01"]`)),
		chromedp.Click(chromedp.CSS(`a.connect-desktop[data-target="desk01"]`))); err != nil {
		b.screenshot(t, "failed-targets")
		t.Fatalf("connect list: %v", err)
	}
	b.poll(t, `window.vigilDesktop && window.vigilDesktop.state.frames > 0`)
	b.canvasIs(t, testScreen(600, 300, 1).Pix)

	next := testScreen(600, 300, 7)
	b.conn.update(next, next.Bounds())
	b.canvasIs(t, next.Pix)
	b.screenshot(t, "desktop")

	// A key typed on the focused canvas reaches the Desktop with its keysym and scancode.
	if err := chromedp.Do(b.ctx, chromedp.Focus(chromedp.CSS("#desk")), chromedp.KeyEvent("q")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var down, up bool
		for _, in := range b.conn.gotInputs() {
			if in.Kind == frame.InputKey && in.Keysym == 'q' && in.Scancode == 0x10 {
				down, up = down || in.Down, up || !in.Down
			}
		}
		if down && up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key q did not arrive: %v", b.conn.gotInputs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := b.desks.connects; len(got) != 1 || got[0][:13] != "alice desk01 " {
		t.Errorf("connects %v", got)
	}
}

func TestVideoInChromium(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	mp4 := filepath.Join(t.TempDir(), "seg.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=5", "-t", "3",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "frag_keyframe+empty_moov+default_base_moof", mp4).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	data, err := os.ReadFile(mp4)
	if err != nil {
		t.Fatal(err)
	}
	// Two standalone segments, each with its own init segment and its own clock from zero,
	// at 0-3 s and 3-6 s of the session (indexes 0 and 2: event logs sit between).
	video := &memVideo{
		segs: map[string][]Segment{"v-alice": {
			{Index: 0, Start: 0, End: 3 * time.Second, PlainBytes: int64(len(data))},
			{Index: 2, Start: 3 * time.Second, End: 6 * time.Second, PlainBytes: int64(len(data))},
		}},
		data: map[string]map[int][]byte{"v-alice": {0: data, 2: data}},
	}
	b := newBrowserFixture(t, video)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.url+"/#/play/v-alice")); err != nil {
		t.Fatal(err)
	}
	b.poll(t, `window.vigilVideo && window.vigilVideo.state.ready`)
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#play"))); err != nil {
		t.Fatal(err)
	}
	b.poll(t, `window.vigilVideo.video.currentTime > 1`)
	// Seek into the second segment: it loads, the head lands there and plays on.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.vigilVideo.seek(4000).then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	b.poll(t, `(() => { const v = window.vigilVideo.video; return v.currentTime >= 4 && v.currentTime < 5.5; })()`)
	b.poll(t, `window.vigilVideo.video.currentTime > 4.6`)
	b.screenshot(t, "video")
	if s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('video-note').textContent`)); err != nil || s != "" {
		t.Errorf("player note %q, %v", s, err)
	}
}
