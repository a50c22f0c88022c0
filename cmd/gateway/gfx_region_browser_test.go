package gateway_test

import (
	"math"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed18fc72c3/vigil/access"
)

// TestOCRHitRegionInChromium: a search hit read by OCR opens the video player at its moment with
// its screen region outlined, scaled from desktop pixels to the video as shown.
func TestOCRHitRegionInChromium(t *testing.T) {
	needChromium(t)
	store := newGfxStore(t)
	meta := recordGraphical(t, store) // a 320x240 desktop
	url := gfxWeb(t, store, "audrey", access.RoleAuditor, nil)
	bctx := gfxLogin(t, url, "audrey", 40*time.Second)
	if err := chromedp.Do(bctx, chromedp.Navigate(url+"/#/play/"+meta.ID+"?t=1500&r=32,100,64,40")); err != nil {
		t.Fatal(err)
	}
	gfxPoll(t, bctx, `!!(window.vigilVideo && window.vigilVideo.state.ready && window.vigilVideo.outline && !window.vigilVideo.outline.hidden && window.vigilVideo.video.videoWidth)`, 30*time.Second)
	var got struct{ VX, VY, VW, OX, OY, OW, OH float64 }
	gfxEval(t, bctx, `(() => {
		const v = window.vigilVideo.video.getBoundingClientRect(), o = window.vigilVideo.outline.getBoundingClientRect();
		return {VX: v.left, VY: v.top, VW: v.width, OX: o.left, OY: o.top, OW: o.width, OH: o.height};
	})()`, &got)
	k := got.VW / 320
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"left", got.OX - got.VX, 32 * k}, {"top", got.OY - got.VY, 100 * k},
		{"width", got.OW, 64 * k}, {"height", got.OH, 40 * k},
	} {
		if math.Abs(c.got-c.want) > 8 { // the outline's border is drawn inside its box
			t.Errorf("outline %s %.1f px, want %.1f (video %.0f px wide)", c.name, c.got, c.want, got.VW)
		}
	}
}
